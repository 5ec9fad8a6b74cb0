import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../src/db/database.js';
import { createTestDatabase, ENGINES, type TestDatabase } from './helpers/db.js';

// Test databases are copies of a template migrated once per run. A copy must be exactly
// what migrating an empty database gives, including what CREATE DATABASE … TEMPLATE does
// not copy (settings and grants on the database itself).

const USER_OBJECTS = `not in ('pg_catalog', 'information_schema', 'pg_toast')`;

const CATALOG: Record<string, string> = {
  database: `select d.datacl::text as acl, (select s.setconfig::text from pg_db_role_setting s where s.setdatabase = d.oid and s.setrole = 0) as settings
    from pg_database d where d.datname = current_database()`,
  schemas: `select nspname, nspowner::regrole::text as owner, nspacl::text as acl from pg_namespace
    where nspname ${USER_OBJECTS} and nspname not like 'pg\\_temp\\_%' and nspname not like 'pg\\_toast\\_temp\\_%' order by 1`,
  relations: `select n.nspname, c.relname, c.relkind, c.relpersistence, c.relrowsecurity, c.relforcerowsecurity,
      c.relacl::text as acl, c.reloptions::text as options, c.relowner::regrole::text as owner
    from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname ${USER_OBJECTS} order by 1, 2`,
  columns: `select c.oid::regclass::text as rel, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod) as type, a.attnotnull,
      a.attidentity, a.attgenerated, pg_get_expr(d.adbin, d.adrelid) as default_value, a.attacl::text as acl
    from pg_attribute a join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace
    left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
    where n.nspname ${USER_OBJECTS} and a.attnum > 0 and not a.attisdropped order by 1, 2`,
  constraints: `select conrelid::regclass::text as rel, conname, pg_get_constraintdef(oid) as def from pg_constraint
    where connamespace::regnamespace::text ${USER_OBJECTS} order by 1, 2`,
  indexes:
    "select schemaname, tablename, indexname, indexdef from pg_indexes where schemaname not in ('pg_catalog', 'information_schema') order by 1, 2, 3",
  policies: `select schemaname, tablename, policyname, permissive, roles::text, cmd, qual, with_check from pg_policies order by 1, 2, 3`,
  functions: `select p.oid::regprocedure::text as signature, p.prokind, p.prosecdef, p.proconfig::text as config, p.proacl::text as acl,
      p.proowner::regrole::text as owner, case when p.prokind in ('f', 'p') then pg_get_functiondef(p.oid) end as def
    from pg_proc p join pg_namespace n on n.oid = p.pronamespace where n.nspname ${USER_OBJECTS} order by 1`,
  triggers: `select tgrelid::regclass::text as rel, tgname, tgenabled, pg_get_triggerdef(oid) as def from pg_trigger
    where not tgisinternal order by 1, 2`,
  types: `select t.typname, t.typtype, t.typacl::text as acl from pg_type t join pg_namespace n on n.oid = t.typnamespace
    where n.nspname ${USER_OBJECTS} and t.typtype in ('e', 'd', 'r', 'm') order by 1`,
  extensions: 'select extname, extversion from pg_extension order by 1',
  defaultPrivileges:
    'select defaclrole::regrole::text as role, defaclnamespace, defaclobjtype, defaclacl::text as acl from pg_default_acl order by 1, 2, 3',
  sequences: `select schemaname, sequencename, last_value from pg_sequences where schemaname ${USER_OBJECTS} order by 1, 2`,
  migrations: 'select version, name, checksum from schema_migrations order by version',
};

/** Everything a migration can create in a database, and how many rows each table holds. */
async function describeDatabase(db: Database) {
  const described: Record<string, unknown[]> = {};
  for (const [part, query] of Object.entries(CATALOG)) described[part] = (await sql.raw(query).execute(db.kysely)).rows;
  const tables = await sql<{ name: string }>`select format('%I.%I', schemaname, tablename) as name from pg_tables
    where schemaname not in ('pg_catalog', 'information_schema') order by 1`.execute(db.kysely);
  described.rowCounts = [];
  for (const { name } of tables.rows) {
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from ${sql.raw(name)}`.execute(db.kysely);
    described.rowCounts.push({ table: name, rows: rows[0]!.n });
  }
  return described;
}

describe.each(ENGINES)('test databases made from the run’s template (%s)', (engine) => {
  let copy: TestDatabase;
  let fresh: TestDatabase;
  beforeAll(async () => {
    copy = await createTestDatabase(engine);
    fresh = await createTestDatabase(engine, { fresh: true });
  });
  afterAll(async () => {
    await copy?.drop();
    await fresh?.drop();
  });

  it('are exactly what migrating an empty database gives', async () => {
    const [fromTemplate, migrated] = [await describeDatabase(copy.db), await describeDatabase(fresh.db)];
    // The description covers what isolation rests on, so an empty one cannot pass for a match.
    expect(migrated.policies!.length).toBeGreaterThan(0);
    expect(migrated.functions!.some((f) => JSON.stringify(f).includes('tenantry_enter'))).toBe(true);
    expect(migrated.relations!.filter((r) => (r as { relforcerowsecurity: boolean }).relforcerowsecurity).length).toBeGreaterThan(0);
    expect(migrated.migrations!.length).toBeGreaterThan(0);
    expect(fromTemplate).toStrictEqual(migrated);
  });

  it('each is a database of its own: a change in one is not seen in another', async () => {
    await sql`create table only_in_this_copy (id int)`.execute(copy.db.kysely);
    const other = await createTestDatabase(engine);
    try {
      const { rows } = await sql<{ t: string | null }>`select to_regclass('only_in_this_copy')::text as t`.execute(other.db.kysely);
      expect(rows).toEqual([{ t: null }]);
    } finally {
      await other.drop();
      await sql`drop table only_in_this_copy`.execute(copy.db.kysely);
    }
  });
});
