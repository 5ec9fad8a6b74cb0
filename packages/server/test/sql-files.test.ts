import { randomBytes } from 'node:crypto';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { type App, buildApp } from '../src/app.js';
import { testConfig } from '../src/config.js';
import { type Database, openDatabase } from '../src/db/database.js';
import { CODE_ORDER, type CodeFile, loadCode, loadMigrations, migrate } from '../src/db/migrate.js';
import { assertIsolation } from '../src/db/rls-check.js';
import type { Role } from '../src/db/schema.js';
import { withTenant } from '../src/db/tenant-context.js';
import { adminQuery, createTestDatabase, ENGINES } from './helpers/db.js';
import { insertMembership, insertOrganization, insertUser } from './helpers/fixtures.js';
import { orgWithRoles } from './helpers/orgs.js';
import { authed, signupUser } from './helpers/users.js';

// Functions, triggers and policies live in sql/, one concern per file; the migrator
// applies a file again, after the numbered migrations and inside the same lock,
// whenever its checksum differs from the one recorded in schema_code.

const ALL_CODE = CODE_ORDER.map((c) => `sql/${c.name}`);
/** The migrations a database of the previous release (001–008) has still to apply. */
const afterPrevious = async () =>
  (await loadMigrations()).filter((m) => m.version > 8).map((m) => `${String(m.version).padStart(3, '0')}_${m.name}`);

/** The sql/ files with one of them changed by `edit`. */
async function codeWith(name: string, edit: (text: string) => string): Promise<CodeFile[]> {
  const code = await loadCode();
  if (!code.some((f) => f.name === name)) throw new Error(`no sql/${name}`);
  return code.map((f) => (f.name === name ? { ...f, sql: edit(f.sql) } : f));
}

// A rendering of another shape: the member's name in upper case, and one more key.
const reshaped = (text: string) => {
  const out = text.replace('p_name as name,', "upper(p_name) as name, 'v2' as shape,");
  if (out === text) throw new Error('member-entry.sql no longer has the rendering this test changes');
  return out;
};

const entries = async (db: Database) =>
  (
    await sql<{ organization_id: string; user_id: string; entry: string }>`
      select organization_id, user_id, entry from memberships order by organization_id, user_id`.execute(db.kysely)
  ).rows;

/**
 * An organization with an owner, an admin, a member and a viewer, written directly: this
 * code's changes also write tables of later migrations (events), which a database of the
 * previous release does not have yet.
 */
async function previousReleaseOrg(app: App, db: Database, name: string) {
  const org = await insertOrganization(db, name);
  const add = async (role: Role) => {
    const u = await signupUser(app);
    await insertMembership(db, org.id, u.id, role);
    return u;
  };
  return { id: org.id, owner: await add('owner'), admin: await add('admin'), member: await add('member'), viewer: await add('viewer') };
}

describe.each(ENGINES)('sql/ files (%s)', (engine) => {
  it('a database migrated by the previous release (migrations 001–008, no sql/ files) upgrades cleanly and answers exactly as before', async () => {
    const t = await createTestDatabase(engine, { upTo: 8 });
    const app = await buildApp(testConfig(), t.db);
    try {
      const a = await previousReleaseOrg(app, t.db, 'Alpha');
      const b = await previousReleaseOrg(app, t.db, 'Beta');
      await insertMembership(t.db, b.id, a.member.id, 'viewer');
      // A rename as PATCH /v1/me makes it (that route's answer needs the current schema).
      await withTenant(t.db, { orgId: null, userId: a.member.id }, (tx) =>
        tx.updateTable('users').set({ name: 'Zoë "Q" \\ </script>' }).where('id', '=', a.member.id).execute(),
      );

      // Every answer a client could get from these organizations: member pages walked
      // by cursor, the organization, the caller's organizations, a role change, and
      // the refusals of another tenant's caller.
      const answers = async () => {
        const out: unknown[] = [];
        for (const org of [a, b]) {
          let url = `/v1/organizations/${org.id}/members?limit=2`;
          for (;;) {
            const res = await authed(app, 'GET', url, org.viewer.access);
            out.push([res.statusCode, res.body]);
            const next = res.json().next_cursor;
            if (!next) break;
            url = `/v1/organizations/${org.id}/members?limit=2&cursor=${next}`;
          }
          const one = await authed(app, 'GET', `/v1/organizations/${org.id}`, org.member.access);
          out.push([one.statusCode, one.body]);
        }
        const mine = await authed(app, 'GET', '/v1/organizations', a.member.access);
        out.push([mine.statusCode, mine.body]);
        const same = await authed(app, 'PATCH', `/v1/organizations/${a.id}/members/${a.member.id}`, a.owner.access, { role: 'member' });
        out.push([same.statusCode, same.body]);
        for (const path of [`/v1/organizations/${b.id}/members`, `/v1/organizations/${b.id}`]) {
          const other = await authed(app, 'GET', path, a.owner.access);
          out.push([other.statusCode, other.json().code]);
        }
        return out;
      };
      const before = await answers();
      expect(before.length).toBeGreaterThan(8);

      expect(await migrate(t.db)).toEqual([...(await afterPrevious()), ...ALL_CODE]);
      expect(await answers()).toStrictEqual(before);
      await expect(assertIsolation(t.db)).resolves.toBeUndefined();
      // The tenant's rows, as the application role: its own only, none with no tenant.
      await withTenant(t.db, { orgId: a.id, userId: a.owner.id }, async (tx) => {
        const seen = await tx.selectFrom('memberships').select('organization_id').distinct().execute();
        expect(seen).toEqual([{ organization_id: a.id }]);
      });
      await withTenant(t.db, { orgId: null, userId: null }, async (tx) => {
        expect(await tx.selectFrom('memberships').select('user_id').execute()).toEqual([]);
        expect(await tx.selectFrom('organizations').select('id').execute()).toEqual([]);
      });
      expect(await migrate(t.db)).toEqual([]);
    } finally {
      await app.close();
      await t.drop();
    }
  });

  it('two migrators starting at once on a database of the previous release take turns: one applies, the other finds nothing', async () => {
    const t = await createTestDatabase(engine, { upTo: 8 });
    try {
      const both = await Promise.all([migrate(t.db), migrate(t.db)]);
      expect(both.filter((r) => r.length > 0)).toEqual([[...(await afterPrevious()), ...ALL_CODE]]);
      expect(both.filter((r) => r.length === 0)).toHaveLength(1);
      const rows = await sql<{ name: string }>`select name from schema_code order by name`.execute(t.db.kysely);
      expect(rows.rows.map((r) => r.name)).toEqual(CODE_ORDER.map((c) => c.name).sort());
    } finally {
      await t.drop();
    }
  });

  it('an unchanged tree applies nothing; a changed file is applied again, alone; line endings do not count', async () => {
    const t = await createTestDatabase(engine);
    try {
      expect(await migrate(t.db)).toEqual([]);
      const comment = "\ncomment on function tenantry_organization(uuid, uuid, uuid) is 'changed';\n";
      const changed = await codeWith('reads.sql', (s) => s + comment);
      expect(await migrate(t.db, undefined, { code: changed })).toEqual(['sql/reads.sql']);
      const described = await sql<{ c: string | null }>`
        select obj_description('tenantry_organization(uuid, uuid, uuid)'::regprocedure) as c`.execute(t.db.kysely);
      expect(described.rows).toEqual([{ c: 'changed' }]);
      expect(await migrate(t.db, undefined, { code: changed })).toEqual([]);
      const crlf = changed.map((f) => ({ ...f, sql: f.sql.replace(/\n/g, '\r\n') }));
      expect(await migrate(t.db, undefined, { code: crlf })).toEqual([]);
      expect(await migrate(t.db)).toEqual(['sql/reads.sql']);
    } finally {
      await t.drop();
    }
  });

  it('a start with nothing to apply reads the records in one statement; a file changed on disk is applied again at the next start', async () => {
    const t = await createTestDatabase(engine);
    const dir = await mkdtemp(join(tmpdir(), 'tenantry-sql-'));
    const statements: string[] = [];
    // The migrator's statements, as it sends them over its connection.
    const watched: Database = {
      ...t.db,
      withConnection: (fn) =>
        t.db.withConnection((conn) =>
          fn({
            query: (text, values) => {
              statements.push(text);
              return conn.query(text, values);
            },
            exec: (script) => {
              statements.push(script);
              return conn.exec(script);
            },
          }),
        ),
    };
    try {
      await cp(fileURLToPath(new URL('../sql/', import.meta.url)), dir, { recursive: true });
      expect(await migrate(watched, undefined, { code: await loadCode(`${dir}/`) })).toEqual([]);
      expect(statements).toHaveLength(1);

      await writeFile(join(dir, 'reads.sql'), "\ncomment on function tenantry_organization(uuid, uuid, uuid) is 'on disk';\n", {
        flag: 'a',
      });
      statements.length = 0;
      expect(await migrate(watched, undefined, { code: await loadCode(`${dir}/`) })).toEqual(['sql/reads.sql']);
      expect(statements.some((s) => s.includes('pg_advisory_lock'))).toBe(true);
      const described = await sql<{ c: string | null }>`
        select obj_description('tenantry_organization(uuid, uuid, uuid)'::regprocedure) as c`.execute(t.db.kysely);
      expect(described.rows).toEqual([{ c: 'on disk' }]);
      statements.length = 0;
      expect(await migrate(watched, undefined, { code: await loadCode(`${dir}/`) })).toEqual([]);
      expect(statements).toHaveLength(1);

      // A record removed by hand is a file never recorded: it is applied again.
      await t.db.withConnection((c) => c.query(`delete from schema_code where name = 'tools.sql'`, []));
      expect(await migrate(watched, undefined, { code: await loadCode(`${dir}/`) })).toEqual(['sql/tools.sql']);
      expect(await migrate(t.db)).toEqual(['sql/reads.sql']);
    } finally {
      await rm(dir, { recursive: true, force: true });
      await t.drop();
    }
  });

  it('every function, trigger and policy in the database is defined in exactly one sql/ file', async () => {
    const t = await createTestDatabase(engine);
    try {
      const code = await loadCode();
      const definedIn = (pattern: (name: string) => RegExp, name: string) =>
        code.filter((f) => pattern(name).test(f.sql)).map((f) => f.name);
      const functions = await sql<{ name: string }>`
        select distinct p.proname as name from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where n.nspname = current_schema() order by 1`.execute(t.db.kysely);
      const triggers = await sql<{ name: string }>`
        select tgname as name from pg_trigger where not tgisinternal order by 1`.execute(t.db.kysely);
      const policies = await sql<{ name: string; table: string }>`
        select policyname as name, tablename as table from pg_policies where schemaname = current_schema() order by 1`.execute(t.db.kysely);
      expect(functions.rows.length).toBeGreaterThan(10);
      for (const { name } of functions.rows)
        expect([name, definedIn((n) => new RegExp(`create or replace function ${n}\\(`), name)]).toEqual([name, [expect.any(String)]]);
      for (const { name } of triggers.rows)
        expect([name, definedIn((n) => new RegExp(`create or replace trigger ${n} `), name)]).toEqual([name, [expect.any(String)]]);
      for (const { name, table } of policies.rows)
        expect([name, definedIn((n) => new RegExp(`create policy ${n} on ${table} `), name)]).toEqual([name, [`policies/${table}.sql`]]);
    } finally {
      await t.drop();
    }
  });

  it('a file of sql/ that the applying order does not list stops the start', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tenantry-sql-'));
    try {
      await cp(fileURLToPath(new URL('../sql/', import.meta.url)), dir, { recursive: true });
      await writeFile(join(dir, 'policies', 'forgotten.sql'), 'select 1;\n');
      await expect(loadCode(`${dir}/`)).rejects.toThrow(/sql\/policies\/forgotten.sql is not in CODE_ORDER/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a changed member rendering re-renders every entry in batches, with row-level security forced throughout', async () => {
    const t = await createTestDatabase(engine);
    const app = await buildApp(testConfig(), t.db);
    const watcher = t.url ? new pg.Client({ connectionString: t.url }) : undefined;
    await watcher?.connect();
    try {
      const a = await orgWithRoles(app, t.db, 'Alpha');
      const b = await orgWithRoles(app, t.db, 'Beta');
      await insertMembership(t.db, b.id, a.member.id, 'viewer');
      const original = await entries(t.db);
      expect(original).toHaveLength(9);
      const page = async () => (await authed(app, 'GET', `/v1/organizations/${a.id}/members`, a.owner.access)).body;
      const pageBefore = await page();

      const batches: number[] = [];
      const forced: boolean[] = [];
      const onRerenderBatch = async (rows: number) => {
        batches.push(rows);
        // Between batches, from another connection (PGlite has only the migrator's).
        const r = await watcher?.query(`select relforcerowsecurity as f from pg_class where oid = 'memberships'::regclass`);
        if (r) forced.push(r.rows[0].f);
      };
      const code = await codeWith('member-entry.sql', reshaped);
      expect(await migrate(t.db, undefined, { code, rerenderBatch: 4, onRerenderBatch })).toEqual(['sql/member-entry.sql']);
      expect(batches).toEqual([4, 4, 1]);
      if (watcher) expect(forced).toEqual([true, true, true]);

      const after = await entries(t.db);
      expect(after.map((e) => e.user_id)).toEqual(original.map((e) => e.user_id));
      for (const [i, e] of after.entries()) {
        const was = JSON.parse(original[i]!.entry);
        expect(JSON.parse(e.entry)).toStrictEqual({ ...was, name: was.name.toUpperCase(), shape: 'v2' });
      }
      const force = await sql<{ f: boolean }>`select relforcerowsecurity as f from pg_class where oid = 'memberships'::regclass`.execute(
        t.db.kysely,
      );
      expect(force.rows).toEqual([{ f: true }]);

      // Back to the file as it is: every entry as it was, and the list answers as before.
      batches.length = 0;
      expect(await migrate(t.db, undefined, { rerenderBatch: 1000, onRerenderBatch })).toEqual(['sql/member-entry.sql']);
      expect(batches).toEqual([9]);
      expect(await entries(t.db)).toStrictEqual(original);
      expect(await page()).toBe(pageBefore);
    } finally {
      await watcher?.end();
      await app.close();
      await t.drop();
    }
  });

  it('a re-render that fails part way is done again at the next start, from whichever file is there then', async () => {
    const t = await createTestDatabase(engine);
    try {
      const org = await insertOrganization(t.db);
      for (const name of ['Ann', 'Explode', 'Zed']) {
        const u = await insertUser(t.db);
        await sql`update users set name = ${name} where id = ${u.id}`.execute(t.db.kysely);
        await insertMembership(t.db, org.id, u.id, 'member');
      }
      const original = await entries(t.db);
      // A rendering that fails on one member: its re-render stops part way.
      const failing = await codeWith('member-entry.sql', (s) =>
        reshaped(s).replace("'v2' as shape,", "'v2' as shape, (case when p_name = 'Explode' then 1 / 0 end) as boom,"),
      );
      await expect(migrate(t.db, undefined, { code: failing, rerenderBatch: 1 })).rejects.toThrow(/re-rendering member entries failed/);
      // Back to the file as it was: applied again and re-rendered, as if never changed.
      expect(await migrate(t.db)).toEqual(['sql/member-entry.sql']);
      expect(await entries(t.db)).toStrictEqual(original);
      expect(await migrate(t.db)).toEqual([]);
    } finally {
      await t.drop();
    }
  });
});

// A database whose owner is an ordinary role, as in most hosted PostgreSQL: forced
// row-level security then binds the owner too, and nothing may lift it.
describe.runIf(process.env.TEST_DATABASE_URL)('sql/ files under a database owner that is not a superuser (postgres)', () => {
  it('migrate from nothing, then re-render every entry in batches as tenantry_maintenance', async () => {
    const adminUrl = process.env.TEST_DATABASE_URL!;
    const suffix = randomBytes(6).toString('hex');
    const role = `tenantry_owner_${suffix}`;
    const name = `tenantry_test_owner_${suffix}`;
    await adminQuery(adminUrl, `create role ${role} login createrole`);
    await adminQuery(adminUrl, `create database ${name} owner ${role}`);
    const asOwner = new URL(adminUrl);
    asOwner.username = role;
    asOwner.pathname = `/${name}`;
    const asSuperuser = new URL(adminUrl);
    asSuperuser.pathname = `/${name}`;
    const db = await openDatabase({ url: asOwner.toString(), pool: testConfig().db });
    try {
      const all = await loadMigrations();
      expect(await migrate(db)).toEqual([...all.map((m) => `${String(m.version).padStart(3, '0')}_${m.name}`), ...ALL_CODE]);
      await expect(assertIsolation(db)).resolves.toBeUndefined();

      // Seeded past row-level security, as the superuser.
      const seed = new pg.Client({ connectionString: asSuperuser.toString() });
      await seed.connect();
      try {
        await seed.query(`insert into users (id, email, name)
          select gen_random_uuid(), 'u' || i || '@example.com', 'User ' || i from generate_series(1, 5) i`);
        await seed.query(`insert into organizations (id, name, slug, industry)
          select gen_random_uuid(), 'Org ' || i, 'org-${suffix}-' || i, 'technology' from generate_series(1, 2) i`);
        await seed.query(`insert into memberships (organization_id, user_id, role)
          select o.id, u.id, 'member' from organizations o cross join users u`);
      } finally {
        await seed.end();
      }
      // The owner itself sees no membership and no organization: row-level security is
      // forced on it, and the policies of the roles it is a member of do not reach it.
      const count = (table: string) => db.withConnection(async (c) => (await c.query(`select count(*)::int as n from ${table}`, [])).rows);
      expect(await count('memberships')).toEqual([{ n: 0 }]);
      expect(await count('organizations')).toEqual([{ n: 0 }]);

      const batches: number[] = [];
      const code = await codeWith('member-entry.sql', reshaped);
      const applied = await migrate(db, undefined, { code, rerenderBatch: 3, onRerenderBatch: (n) => void batches.push(n) });
      expect(applied).toEqual(['sql/member-entry.sql']);
      expect(batches).toEqual([3, 3, 3, 1]);
      const check = new pg.Client({ connectionString: asSuperuser.toString() });
      await check.connect();
      try {
        const { rows } = await check.query(`select entry from memberships`);
        expect(rows).toHaveLength(10);
        for (const r of rows) expect(JSON.parse(r.entry)).toMatchObject({ name: expect.stringMatching(/^USER \d$/), shape: 'v2' });
        const force = await check.query(`select relforcerowsecurity as f from pg_class where oid = 'memberships'::regclass`);
        expect(force.rows).toEqual([{ f: true }]);
      } finally {
        await check.end();
      }
    } finally {
      await db.close();
      await adminQuery(adminUrl, `drop database if exists ${name} with (force)`);
      await adminQuery(adminUrl, `drop role if exists ${role}`);
    }
  });
});
