import { sql } from 'kysely';
import type { Database } from './database.js';

export const APP_ROLE = 'tenantry_app';
/** Every role requests run as: none may own a table or bypass RLS. */
export const REQUEST_ROLES = [APP_ROLE, 'tenantry_user', 'tenantry_platform'];
/** Roles bound by RLS like the request roles, for work that is not a request (re-rendering entries). */
export const MAINTENANCE_ROLES = ['tenantry_maintenance', 'tenantry_worker'];
const RLS_BOUND_ROLES = [...REQUEST_ROLES, ...MAINTENANCE_ROLES];

export interface IsolationReport {
  /** Tenant tables (an organization_id column, or organizations itself) without enabled and forced RLS. */
  unprotectedTables: string[];
  /** Tables a request or maintenance role owns (an owner could turn RLS off). */
  ownedByAppRole: string[];
  /** Dangerous attributes of the request and maintenance roles. */
  roleProblems: string[];
}

export async function checkIsolation(db: Database): Promise<IsolationReport> {
  const tables = await sql<{ table_name: string; owner: string; protected: boolean }>`
    select c.relname as table_name, pg_get_userbyid(c.relowner) as owner,
           (c.relrowsecurity and c.relforcerowsecurity) as protected
    from pg_class c
    join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = current_schema() and c.relkind in ('r', 'p')
      and (c.relname = 'organizations' or exists (
        select 1 from pg_attribute a
        where a.attrelid = c.oid and a.attname = 'organization_id' and not a.attisdropped))
    order by 1`.execute(db.kysely);
  const owned = await sql<{ relname: string }>`
    select c.relname from pg_class c join pg_roles r on r.oid = c.relowner
    where r.rolname = any(${RLS_BOUND_ROLES}::text[]) order by 1`.execute(db.kysely);
  const roles = await sql<{ rolname: string; rolsuper: boolean; rolbypassrls: boolean }>`
    select rolname, rolsuper, rolbypassrls from pg_roles where rolname = any(${RLS_BOUND_ROLES}::text[])`.execute(db.kysely);
  const roleProblems = RLS_BOUND_ROLES.flatMap((name) => {
    const r = roles.rows.find((x) => x.rolname === name);
    if (!r) return [`role ${name} does not exist`];
    return [...(r.rolsuper ? [`${name} is a superuser`] : []), ...(r.rolbypassrls ? [`${name} has BYPASSRLS`] : [])];
  });
  return {
    unprotectedTables: tables.rows.filter((t) => !t.protected).map((t) => t.table_name),
    ownedByAppRole: owned.rows.map((o) => o.relname),
    roleProblems,
  };
}

/** Refuses to go on when tenant isolation is not enforced by the database. */
export async function assertIsolation(db: Database): Promise<void> {
  const r = await checkIsolation(db);
  const problems = [
    ...r.unprotectedTables.map((t) => `table ${t} lacks enabled and forced row-level security`),
    ...r.ownedByAppRole.map((t) => `table ${t} is owned by ${APP_ROLE}`),
    ...r.roleProblems,
  ];
  if (problems.length > 0) throw new Error(`Tenant isolation is not enforced: ${problems.join('; ')}`);
}
