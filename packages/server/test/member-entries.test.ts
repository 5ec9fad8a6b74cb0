import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMigrations, migrate } from '../src/db/migrate.js';
import { assertIsolation } from '../src/db/rls-check.js';
import { withTenant } from '../src/db/tenant-context.js';
import { Member as MemberSchema } from '../src/modules/members/members.schemas.js';
import { startApp, type TestApp } from './helpers/app.js';
import { createTestDatabase, ENGINES } from './helpers/db.js';
import { insertMembership, insertOrganization, insertUser } from './helpers/fixtures.js';
import { orgWithRoles } from './helpers/orgs.js';
import { authed } from './helpers/users.js';

interface Member {
  user_id: string;
  email: string;
  name: string;
  role: string;
  joined_at: string;
}

// Each membership keeps its member-list entry, rendered by the database when the
// membership is written or the user's email or name changes (sql/member-entry.sql).
describe.each(ENGINES)('member-list entries (%s)', (engine) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp(engine);
  });
  afterAll(() => t.close());

  const members = async (orgId: string, token: string): Promise<Member[]> => {
    const res = await authed(t.app, 'GET', `/v1/organizations/${orgId}/members`, token);
    expect(res.statusCode).toBe(200);
    return res.json().data;
  };
  const entryOf = async (orgId: string, userId: string) =>
    (
      await t.db.kysely
        .selectFrom('memberships')
        .select(sql<string>`entry`.as('entry'))
        .where('organization_id', '=', orgId)
        .where('user_id', '=', userId)
        .executeTakeFirstOrThrow()
    ).entry;

  it('follow a name change into every organization of the user, and a role change into its own', async () => {
    const a = await orgWithRoles(t.app, t.db, 'Alpha');
    const b = await orgWithRoles(t.app, t.db, 'Beta');
    const user = a.member;
    await insertMembership(t.db, b.id, user.id, 'viewer');

    const renamed = await authed(t.app, 'PATCH', '/v1/me', user.access, { name: 'Renamed In Both' });
    expect(renamed.statusCode).toBe(200);
    const inA = (await members(a.id, a.owner.access)).find((m) => m.user_id === user.id);
    const inB = (await members(b.id, b.owner.access)).find((m) => m.user_id === user.id);
    expect(inA).toMatchObject({ name: 'Renamed In Both', role: 'member' });
    expect(inB).toMatchObject({ name: 'Renamed In Both', role: 'viewer' });

    const promoted = await authed(t.app, 'PATCH', `/v1/organizations/${b.id}/members/${user.id}`, b.owner.access, { role: 'admin' });
    expect(promoted.statusCode).toBe(200);
    expect((await members(b.id, b.owner.access)).find((m) => m.user_id === user.id)).toStrictEqual(promoted.json());
    expect((await members(a.id, a.owner.access)).find((m) => m.user_id === user.id)).toStrictEqual(inA);
  });

  it('cannot be written: any write re-renders the entry, and user mode cannot write entries at all', async () => {
    const a = await orgWithRoles(t.app, t.db);
    const rendered = await entryOf(a.id, a.member.id);

    // As the member, without an organization (the role /v1/me runs as).
    await expect(
      withTenant(t.db, { orgId: null, userId: a.member.id }, (tx) =>
        sql`update memberships set entry = '{"role":"owner"}' where user_id = ${a.member.id}`.execute(tx),
      ),
    ).rejects.toThrow(/permission denied/);
    await expect(
      withTenant(t.db, { orgId: null, userId: a.member.id }, (tx) =>
        sql`update memberships set role = 'owner' where user_id = ${a.member.id}`.execute(tx),
      ),
    ).rejects.toThrow(/permission denied/);

    // As the organization's owner, in the organization.
    await withTenant(t.db, { orgId: a.id, userId: a.owner.id }, (tx) =>
      sql`update memberships set entry = '[]' where organization_id = ${a.id} and user_id = ${a.member.id}`.execute(tx),
    );
    expect(await entryOf(a.id, a.member.id)).toBe(rendered);
    expect(JSON.parse(rendered)).toStrictEqual((await members(a.id, a.member.access)).find((m) => m.user_id === a.member.id));
  });

  it('stored entries, read from the database, are Members as the response schema defines them', async () => {
    const a = await orgWithRoles(t.app, t.db);
    expect((await authed(t.app, 'PATCH', '/v1/me', a.member.access, { name: 'Zoë "Q" \\ </script> 🚀' })).statusCode).toBe(200);
    const ajv = addFormats.default(new Ajv.default({ allErrors: true, strict: true }));
    const isMember = ajv.compile(MemberSchema);
    const stored = await t.db.kysely
      .selectFrom('memberships')
      .select(sql<string>`entry`.as('entry'))
      .where('organization_id', '=', a.id)
      .execute();
    expect(stored).toHaveLength(4);
    for (const { entry } of stored) {
      const parsed: unknown = JSON.parse(entry);
      expect(isMember(parsed), JSON.stringify(isMember.errors)).toBe(true);
    }
    // The schema is closed: an entry with a key the Member does not have fails it.
    expect(isMember({ ...JSON.parse(stored[0]!.entry), extra: 1 })).toBe(false);
  });

  it.runIf(engine === 'postgres')('a membership added while its user is being renamed carries the new name', async () => {
    const a = await orgWithRoles(t.app, t.db);
    const other = await insertOrganization(t.db);
    const renamer = new pg.Client({ connectionString: t.url });
    const adder = new pg.Client({ connectionString: t.url });
    await Promise.all([renamer.connect(), adder.connect()]);
    try {
      await renamer.query('begin');
      await renamer.query('select * from tenantry_enter(null, $1, null)', [a.member.id]);
      await renamer.query(`update users set name = 'Renamed Meanwhile' where id = $1`, [a.member.id]);

      const adderPid = (await adder.query('select pg_backend_pid() as pid')).rows[0].pid;
      await adder.query('begin');
      await adder.query('select * from tenantry_enter($1, $2, null)', [other.id, a.owner.id]);
      let inserted = false;
      const adding = adder
        .query(`insert into memberships (organization_id, user_id, role) values ($1, $2, 'member')`, [other.id, a.member.id])
        .then(() => (inserted = true));
      // The insert either waits for the rename's lock on the user or, without that
      // lock, has already finished with the old name: either way the rename commits next.
      for (let blocked = false; !blocked && !inserted; ) {
        const waiting = await sql<{
          n: number;
        }>`select count(*)::int as n from pg_stat_activity where pid = ${adderPid} and wait_event_type = 'Lock'`.execute(t.db.kysely);
        blocked = waiting.rows[0]!.n === 1;
      }
      await renamer.query('commit');
      await adding;
      await adder.query('commit');
      expect(JSON.parse(await entryOf(other.id, a.member.id))).toMatchObject({
        user_id: a.member.id,
        name: 'Renamed Meanwhile',
        role: 'member',
      });
      expect(JSON.parse(await entryOf(a.id, a.member.id))).toMatchObject({ name: 'Renamed Meanwhile' });
    } finally {
      await Promise.all([renamer.end(), adder.end()]);
    }
  });

  // Who may rename whom is the application's rule (only PATCH /v1/me, only the caller);
  // a rename that the database runs, by whatever role, reaches every organization.
  it('a rename by an administrator role in SQL reaches the user’s entry in every organization', async () => {
    const a = await orgWithRoles(t.app, t.db);
    const b = await orgWithRoles(t.app, t.db);
    await insertMembership(t.db, b.id, a.member.id, 'viewer');
    const rename = (name: string) => (db: typeof t.db.kysely) => sql`update users set name = ${name} where id = ${a.member.id}`.execute(db);
    const nameIn = async (orgId: string, token: string) => (await members(orgId, token)).find((m) => m.user_id === a.member.id)?.name;

    // As the database owner (a request inside one organization may not rename users at all).
    await rename('Renamed From Alpha')(t.db.kysely);
    expect(await nameIn(a.id, a.owner.access)).toBe('Renamed From Alpha');
    expect(await nameIn(b.id, b.owner.access)).toBe('Renamed From Alpha');

    // As the user in user mode, whose policies show only their own memberships.
    await withTenant(t.db, { orgId: null, userId: a.member.id }, rename('Renamed By Themself'));
    expect(await nameIn(a.id, a.owner.access)).toBe('Renamed By Themself');
    expect(await nameIn(b.id, b.owner.access)).toBe('Renamed By Themself');
    expect(JSON.parse(await entryOf(b.id, a.member.id))).toMatchObject({ name: 'Renamed By Themself', role: 'viewer' });

    // Another user in user mode does not see the row at all (sql/policies/users.sql).
    await withTenant(t.db, { orgId: null, userId: b.owner.id }, rename('Renamed By Another'));
    expect(await nameIn(a.id, a.owner.access)).toBe('Renamed By Themself');
  });

  it('renaming another user through PATCH /v1/me is refused: the API renames the caller only', async () => {
    const a = await orgWithRoles(t.app, t.db);
    const before = await members(a.id, a.owner.access);
    for (const body of [
      { id: a.member.id, name: 'Hijacked' },
      { user_id: a.member.id, name: 'Hijacked' },
    ]) {
      const res = await authed(t.app, 'PATCH', '/v1/me', a.admin.access, body);
      expect(res.statusCode).toBe(400);
    }
    expect(await members(a.id, a.owner.access)).toStrictEqual(before);
    const renamed = await authed(t.app, 'PATCH', '/v1/me', a.admin.access, { name: 'Admin Renamed' });
    expect(renamed.statusCode).toBe(200);
    const after = await members(a.id, a.owner.access);
    expect(after.filter((m, i) => m.name !== before[i]!.name)).toEqual([
      { ...before.find((m) => m.user_id === a.admin.id)!, name: 'Admin Renamed' },
    ]);
  });

  it('the re-rendering after a rename cannot be called directly by a request role', async () => {
    const a = await orgWithRoles(t.app, t.db);
    await expect(
      withTenant(t.db, { orgId: a.id, userId: a.owner.id }, (tx) => sql`select tenantry_rerender_user_entries()`.execute(tx)),
    ).rejects.toThrow(/permission denied|trigger functions can only be called as triggers/);
  });
});

describe.each(ENGINES)('migration 008 on existing memberships (%s)', (engine) => {
  it('renders their entries, and the member page answers exactly as before it', async () => {
    const t = await createTestDatabase(engine, { upTo: 7 });
    try {
      const org = await insertOrganization(t.db);
      for (let i = 0; i < 3; i++) {
        const u = await insertUser(t.db);
        await insertMembership(t.db, org.id, u.id, i === 0 ? 'owner' : 'member');
      }
      await sql`update users set name = ${'Zoë "Q" \\ </script>'} where email like '%@example.com'`.execute(t.db.kysely);
      const caller = await t.db.kysely
        .selectFrom('memberships')
        .select('user_id')
        .where('organization_id', '=', org.id)
        .executeTakeFirstOrThrow();
      const page = async (limit: number) =>
        (
          await sql<{
            data: string;
            next_after: string | null;
          }>`select data, next_after from tenantry_members_page(${org.id}::uuid, ${caller.user_id}::uuid, null, null, ${limit})`.execute(
            t.db.kysely,
          )
        ).rows[0]!;
      const before = [await page(50), await page(2)];

      const upTo8 = (await loadMigrations()).filter((m) => m.version <= 8);
      expect(await migrate(t.db, upTo8, { code: [] })).toEqual(['008_member_entries']);
      const after = [await page(50), await page(2)];
      for (const [i, b] of before.entries()) {
        expect(JSON.parse(after[i]!.data)).toStrictEqual(JSON.parse(b.data));
        expect(after[i]!.next_after).toBe(b.next_after);
      }
      expect(JSON.parse(after[0]!.data)).toHaveLength(3);
      // And on to the current schema, whose isolation check knows the later roles.
      await migrate(t.db);
      await expect(assertIsolation(t.db)).resolves.toBeUndefined();
    } finally {
      await t.drop();
    }
  });
});
