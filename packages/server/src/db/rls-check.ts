import { type CatalogQuery, readRoleSecurity, readTableSecurity, roleProblems } from '@tenantry/sdk';
import { CompiledQuery, sql } from 'kysely';
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
  users:
    'global: RLS enabled, not forced (the owner is the CLI): a user context sees its own row, a tenant its members (sql/policies/users.sql); no password_hash grant (011_least_privilege)',
  sessions:
    'global: RLS enabled, not forced: a user context sees its own sessions, a tenant also those scoped to it (sql/policies/sessions.sql)',
  refresh_tokens: 'global: only hashes, which no request role reads (080_user_rows); a token is added only to an own session (RLS)',
  email_outbox: 'global: written in the transaction of a change; request roles queue but read no body, the sender runs as tenantry_worker',
  webhook_endpoints:
    "the platform's, not a tenant's: tenantry_platform (platform admins) holds grants without the secrets (081_webhook_secrets), tenantry_worker signs with them",
  signing_keys: 'global: no request role has any privilege on it',
  audit_signing_keys: 'global: the checkpoint keys; no request or maintenance role has any privilege on it (030_audit_chain)',
  webhook_dispatch_cursor: 'one row, how far the fan-out has read the events; only tenantry_worker holds a grant',
  webhook_signing_keys: 'global: no request role has any privilege on it',
  api_key_secrets: 'global: the server secret of API key hashes; no request or maintenance role has any privilege on it (070_api_keys)',
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

/** The catalogue read as Kysely runs it, for the checks shared with @tenantry/sdk. */
const catalogQuery =
  (db: Database): CatalogQuery =>
  async (text, values) =>
    (await db.kysely.executeQuery<Record<string, unknown>>(CompiledQuery.raw(text, values))).rows;

export async function checkIsolation(db: Database): Promise<IsolationReport> {
  // Deny by default: every table of the schema, not only those that look like tenant tables.
  const tables = await readTableSecurity(catalogQuery(db));
  const owned = await sql<{ relname: string }>`
    select c.relname from pg_class c join pg_roles r on r.oid = c.relowner
    where r.rolname = any(${RLS_BOUND_ROLES}::text[]) order by 1`.execute(db.kysely);
  const roles = await readRoleSecurity(catalogQuery(db), RLS_BOUND_ROLES);
  return {
    unprotectedTables: tables.filter((t) => !(t.enabled && t.forced) && !Object.hasOwn(TABLES_WITHOUT_RLS, t.table)).map((t) => t.table),
    ownedByAppRole: owned.rows.map((o) => o.relname),
    roleProblems: roles.flatMap(roleProblems),
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
