import { sql } from 'kysely';
import type { Database } from './database.js';

export const APP_ROLE = 'tenantry_app';

export interface IsolationReport {
  /** Tenant tables (an organization_id column, or organizations itself) without enabled and forced RLS. */
  unprotectedTables: string[];
  /** Tables the application role owns (an owner could turn RLS off). */
  ownedByAppRole: string[];
  /** Dangerous attributes of the application role. */
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
    select c.relname from pg_class c where c.relowner = (select oid from pg_roles where rolname = ${APP_ROLE})
    order by 1`.execute(db.kysely);
  const role = await sql<{ rolsuper: boolean; rolbypassrls: boolean }>`
    select rolsuper, rolbypassrls from pg_roles where rolname = ${APP_ROLE}`.execute(db.kysely);
  const r = role.rows[0];
  const roleProblems = !r ? [`role ${APP_ROLE} does not exist`] : [
    ...(r.rolsuper ? [`${APP_ROLE} is a superuser`] : []),
    ...(r.rolbypassrls ? [`${APP_ROLE} has BYPASSRLS`] : []),
  ];
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
