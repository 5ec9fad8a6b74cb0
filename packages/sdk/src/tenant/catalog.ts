// What PostgreSQL's catalogue says about row-level security: read by Tenantry's start-up
// check (every table of its schema) and by a tool's (its tenant tables).

/** Runs one statement with bound parameters and returns its rows. */
export type CatalogQuery = (text: string, values: unknown[]) => Promise<Record<string, unknown>[]>;

export interface TableSecurity {
  table: string;
  owner: string;
  /** RLS enabled (`relrowsecurity`). */
  enabled: boolean;
  /** RLS forced on the owner too (`relforcerowsecurity`). */
  forced: boolean;
  /** Policies on the table. */
  policies: number;
}

export interface RoleSecurity {
  role: string;
  exists: boolean;
  superuser: boolean;
  bypassRls: boolean;
}

/** The tables (and partitioned tables) of the current schema, or only those named. */
export async function readTableSecurity(query: CatalogQuery, tables?: readonly string[]): Promise<TableSecurity[]> {
  const rows = await query(
    `select c.relname as table, pg_get_userbyid(c.relowner) as owner, c.relrowsecurity as enabled,
            c.relforcerowsecurity as forced, (select count(*)::int from pg_policy p where p.polrelid = c.oid) as policies
     from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where n.nspname = current_schema() and c.relkind in ('r', 'p') and ($1::text[] is null or c.relname = any($1::text[]))
     order by 1`,
    [tables ? [...tables] : null],
  );
  return rows.map((r) => ({
    table: String(r.table),
    owner: String(r.owner),
    enabled: r.enabled === true,
    forced: r.forced === true,
    policies: Number(r.policies),
  }));
}

export async function readRoleSecurity(query: CatalogQuery, roles: readonly string[]): Promise<RoleSecurity[]> {
  const rows = await query('select rolname, rolsuper, rolbypassrls from pg_roles where rolname = any($1::text[])', [[...roles]]);
  return roles.map((role) => {
    const r = rows.find((x) => x.rolname === role);
    return { role, exists: r !== undefined, superuser: r?.rolsuper === true, bypassRls: r?.rolbypassrls === true };
  });
}

/** What is wrong with a role that must be bound by RLS. */
export const roleProblems = (r: RoleSecurity): string[] =>
  !r.exists
    ? [`role ${r.role} does not exist`]
    : [...(r.superuser ? [`${r.role} is a superuser`] : []), ...(r.bypassRls ? [`${r.role} has BYPASSRLS`] : [])];
