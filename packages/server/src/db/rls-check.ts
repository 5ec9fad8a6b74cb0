import { sql } from 'kysely';
import type { Database } from './database.js';

export const APP_ROLE = 'tenantry_app';
/** Every role requests run as: none may own a table or bypass RLS. */
export const REQUEST_ROLES = [APP_ROLE, 'tenantry_user', 'tenantry_platform'];
/** Roles bound by RLS like the request roles, for work that is not a request (re-rendering entries). */
export const MAINTENANCE_ROLES = ['tenantry_maintenance', 'tenantry_worker'];
const RLS_BOUND_ROLES = [...REQUEST_ROLES, ...MAINTENANCE_ROLES];

/**
 * Tables without row-level security, each with the reason it is safe: every other table
 * must have RLS enabled and forced. A new table is refused at start until it has both,
 * or is added here with its reason.
 */
export const TABLES_WITHOUT_RLS: Readonly<Record<string, string>> = {
  users: 'global: request roles hold column grants without password_hash (011_least_privilege), read through sql/credentials.sql',
  sessions: 'global: per user, no secret; request roles hold column grants only',
  refresh_tokens: 'global: only hashes; tenantry_app may add a token but reads none',
  email_outbox: 'global: written in the transaction of a change; tenantry_app may queue but reads no body',
  signing_keys: 'global: no request role has any privilege on it',
  audit_signing_keys: 'global: the checkpoint keys; no request or maintenance role has any privilege on it (030_audit_chain)',
  webhook_dispatch_cursor: 'one row, how far the fan-out has read the events; only tenantry_worker holds a grant',
  webhook_signing_keys: 'global: no request role has any privilege on it',
  schema_migrations: "the migrator's own record; no request role has any privilege on it",
  schema_code: "the migrator's own record of sql/; no request role has any privilege on it",
  tools: 'global: the platform tool registry, no secret; request roles read it, only tenantry_platform writes it (060_platform_tools)',
  tool_credentials:
    'global: no request role reads secret_hash (read through sql/tools.sql); tenantry_platform holds column grants without it',
  tool_assertion_jtis: 'global: used private_key_jwt assertion ids, no secret; only tenantry_user (the token endpoint) holds grants',
  platform_audit_events: "the platform's log of registry acts, not a tenant's: only tenantry_platform holds grants",
};

export interface IsolationReport {
  /** Tables without enabled and forced RLS that are not in TABLES_WITHOUT_RLS. */
  unprotectedTables: string[];
  /** Tables a request or maintenance role owns (an owner could turn RLS off). */
  ownedByAppRole: string[];
  /** Dangerous attributes of the request and maintenance roles. */
  roleProblems: string[];
}

export async function checkIsolation(db: Database): Promise<IsolationReport> {
  // Deny by default: every table of the schema, not only those that look like tenant tables.
  const tables = await sql<{ table_name: string; owner: string; protected: boolean }>`
    select c.relname as table_name, pg_get_userbyid(c.relowner) as owner,
           (c.relrowsecurity and c.relforcerowsecurity) as protected
    from pg_class c
    join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = current_schema() and c.relkind in ('r', 'p')
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
    unprotectedTables: tables.rows.filter((t) => !t.protected && !Object.hasOwn(TABLES_WITHOUT_RLS, t.table_name)).map((t) => t.table_name),
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
