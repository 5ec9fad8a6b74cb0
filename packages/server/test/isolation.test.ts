import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkIsolation } from '../src/db/rls-check.js';
import { InvalidTenantContext, withTenant } from '../src/db/tenant-context.js';
import { createTestDatabase, ENGINES, type TestDatabase } from './helpers/db.js';
import { insertMembership, insertOrganization, insertUser } from './helpers/fixtures.js';

describe.each(ENGINES)('tenant isolation by the database (%s)', (engine) => {
  let t: TestDatabase;
  const queries: string[] = [];

  beforeAll(async () => {
    t = await createTestDatabase(engine, { pool: { poolMax: 1 }, onQuery: (q) => queries.push(q) });
  });
  afterAll(() => t.drop());

  /** Organizations A and B with an owner each (alice, bob), of the calling test's own. */
  async function twoTenants() {
    const a = await insertOrganization(t.db, 'A');
    const b = await insertOrganization(t.db, 'B');
    const alice = await insertUser(t.db);
    const bob = await insertUser(t.db);
    await insertMembership(t.db, a.id, alice.id, 'owner');
    await insertMembership(t.db, b.id, bob.id, 'owner');
    return { a, b, alice, bob };
  }

  const count = (tx: Parameters<Parameters<typeof withTenant>[2]>[0], table: 'organizations' | 'memberships') =>
    tx
      .selectFrom(table)
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow()
      .then((r) => Number(r.n));

  it('every table with organization_id has RLS enabled and forced; the app role owns nothing and cannot bypass RLS', async () => {
    const report = await checkIsolation(t.db);
    expect(report).toEqual({ unprotectedTables: [], ownedByAppRole: [], roleProblems: [] });
    const { rows } = await sql<{ relname: string; relrowsecurity: boolean; relforcerowsecurity: boolean }>`
      select c.relname, c.relrowsecurity, c.relforcerowsecurity from pg_class c
      join pg_attribute a on a.attrelid = c.oid and a.attname = 'organization_id'
      where c.relkind = 'r' and c.relnamespace = 'public'::regnamespace`.execute(t.db.kysely);
    expect(rows.length).toBeGreaterThan(0);
    for (const r of rows) expect([r.relname, r.relrowsecurity, r.relforcerowsecurity]).toEqual([r.relname, true, true]);
    const role = await sql<{ rolsuper: boolean; rolbypassrls: boolean }>`
      select rolsuper, rolbypassrls from pg_roles where rolname = 'tenantry_app'`.execute(t.db.kysely);
    expect(role.rows).toEqual([{ rolsuper: false, rolbypassrls: false }]);
  });

  it('runs as the application role, not the connecting user', async () => {
    const { a, alice } = await twoTenants();
    const who = await withTenant(t.db, { orgId: a.id, userId: alice.id }, async (tx) =>
      sql<{ u: string }>`select current_user as u`.execute(tx).then((r) => r.rows[0]!.u),
    );
    expect(who).toBe('tenantry_app');
  });

  it('a transaction with no tenant set sees zero tenant rows and cannot insert any', async () => {
    const { a, b, bob } = await twoTenants();
    await withTenant(t.db, { orgId: null, userId: null }, async (tx) => {
      expect(await count(tx, 'organizations')).toBe(0);
      expect(await count(tx, 'memberships')).toBe(0);
    });
    await expect(
      withTenant(t.db, { orgId: null, userId: null }, (tx) =>
        tx.insertInto('memberships').values({ organization_id: a.id, user_id: bob.id, role: 'member' }).execute(),
      ),
    ).rejects.toMatchObject({ code: '42501' });
    await expect(
      withTenant(t.db, { orgId: null, userId: null }, (tx) =>
        tx
          .insertInto('organizations')
          .values({ id: b.id.replace(/.$/, '0'), name: 'x', slug: 'sneaky-org', industry: 'other' })
          .execute(),
      ),
    ).rejects.toMatchObject({ code: '42501' });
  });

  it("in tenant A's context, tenant B's rows cannot be read, updated, deleted or written into", async () => {
    const { a, b, alice, bob } = await twoTenants();
    await withTenant(t.db, { orgId: a.id, userId: alice.id }, async (tx) => {
      expect(await tx.selectFrom('organizations').select('id').execute()).toEqual([{ id: a.id }]);
      expect(await tx.selectFrom('memberships').select('user_id').where('organization_id', '=', b.id).execute()).toEqual([]);
      const upd = await tx.updateTable('memberships').set({ role: 'viewer' }).where('organization_id', '=', b.id).executeTakeFirst();
      expect(upd.numUpdatedRows).toBe(0n);
      const updOrg = await tx.updateTable('organizations').set({ name: 'pwned' }).where('id', '=', b.id).executeTakeFirst();
      expect(updOrg.numUpdatedRows).toBe(0n);
      const del = await tx.deleteFrom('memberships').where('organization_id', '=', b.id).executeTakeFirst();
      expect(del.numDeletedRows).toBe(0n);
    });
    await expect(
      withTenant(t.db, { orgId: a.id, userId: alice.id }, (tx) =>
        tx.insertInto('memberships').values({ organization_id: b.id, user_id: alice.id, role: 'owner' }).execute(),
      ),
    ).rejects.toMatchObject({ code: '42501' });
    // An update that would move a row of A into B is refused by WITH CHECK.
    await expect(
      withTenant(t.db, { orgId: a.id, userId: alice.id }, (tx) =>
        tx.updateTable('memberships').set({ organization_id: b.id }).where('user_id', '=', alice.id).execute(),
      ),
    ).rejects.toMatchObject({ code: '42501' });
    // B is unchanged.
    const bRows = await t.db.kysely.selectFrom('memberships').select(['user_id', 'role']).where('organization_id', '=', b.id).execute();
    expect(bRows).toEqual([{ user_id: bob.id, role: 'owner' }]);
    const bOrg = await t.db.kysely.selectFrom('organizations').select('name').where('id', '=', b.id).executeTakeFirstOrThrow();
    expect(bOrg.name).toBe('B');
  });

  it('user mode (no organization) runs as tenantry_user and sees only the user’s own memberships and organizations', async () => {
    const { a, alice } = await twoTenants();
    await withTenant(t.db, { orgId: null, userId: alice.id }, async (tx) => {
      expect((await sql<{ u: string }>`select current_user as u`.execute(tx)).rows[0]!.u).toBe('tenantry_user');
      expect(await tx.selectFrom('organizations').select('id').execute()).toEqual([{ id: a.id }]);
      expect(await tx.selectFrom('memberships').select('organization_id').execute()).toEqual([{ organization_id: a.id }]);
      // Read-only there: no membership can be written without a tenant.
      await expect(sql`update memberships set role = 'owner'`.execute(tx)).rejects.toMatchObject({ code: '42501' });
    });
  });

  it('returns the caller’s current membership with the tenant', async () => {
    const { a, b, alice } = await twoTenants();
    const entered = await withTenant(t.db, { orgId: a.id, userId: alice.id }, async (_tx, e) => e);
    expect(entered).toMatchObject({ memberRole: 'owner', orgStatus: 'active', sessionLive: true });
    const outsider = await withTenant(t.db, { orgId: b.id, userId: alice.id }, async (_tx, e) => e);
    expect(outsider).toMatchObject({ memberRole: null, orgStatus: 'active' });
  });

  it.each(["'); SET row_security = off; --", `${'0'.repeat(8)}-0000-0000-0000-00000000000`, 'not-a-uuid', ''])(
    'a tenant id that is not a UUID (%j) is rejected before any SQL runs',
    async (bad) => {
      const { a, alice } = await twoTenants();
      queries.length = 0;
      await expect(withTenant(t.db, { orgId: bad, userId: alice.id }, async () => 'ran')).rejects.toBeInstanceOf(InvalidTenantContext);
      await expect(withTenant(t.db, { orgId: a.id, userId: bad }, async () => 'ran')).rejects.toBeInstanceOf(InvalidTenantContext);
      expect(queries).toEqual([]);
    },
  );

  it('with a pool of one and alternating tenants, no transaction sees the previous one’s tenant, even after a failure mid-transaction', async () => {
    const { a, b, alice, bob } = await twoTenants();
    const tenants = [
      { org: a.id, user: alice.id },
      { org: b.id, user: bob.id },
    ];
    for (let i = 0; i < 120; i++) {
      const { org, user } = tenants[i % 2]!;
      const fail = i % 3 === 0;
      const run = withTenant(t.db, { orgId: org, userId: user }, async (tx) => {
        const s = await sql<{ org: string; usr: string }>`
          select current_setting('app.org_id', true) as org, current_setting('app.user_id', true) as usr`.execute(tx);
        expect(s.rows[0]).toEqual({ org, usr: user });
        expect(await tx.selectFrom('organizations').select('id').execute()).toEqual([{ id: org }]);
        if (fail) await sql`select 1/0`.execute(tx); // a statement error leaves the transaction aborted
        return 'ok';
      });
      if (fail) await expect(run).rejects.toMatchObject({ code: '22012' });
      else await expect(run).resolves.toBe('ok');
      // The same (only) connection, outside any transaction: no tenant, no role left behind.
      const after = await sql<{ org: string | null; who: string }>`
        select current_setting('app.org_id', true) as org, current_user as who`.execute(t.db.kysely);
      expect(after.rows[0]!.org ?? '').toBe('');
      expect(after.rows[0]!.who).not.toBe('tenantry_app');
    }
  });
});
