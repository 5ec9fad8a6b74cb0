import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from './helpers/app.js';
import { ENGINES } from './helpers/db.js';
import { type OrgWithRoles, orgWithRoles } from './helpers/orgs.js';
import { bearer } from './helpers/users.js';

describe.each(ENGINES)('one pooled connection, many tenants, over HTTP (%s)', (engine) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp(engine, {}, { pool: { poolMax: 1, connectionTimeoutMs: 10_000 } });
  });
  afterAll(() => t.close());

  /** Two organizations of the calling test's own. */
  const twoTenants = async () => ({ a: await orgWithRoles(t.app, t.db, 'Tenant A'), b: await orgWithRoles(t.app, t.db, 'Tenant B') });

  const get = (org: OrgWithRoles, path = '') =>
    t.app.inject({ method: 'GET', url: `/v1/organizations/${org.id}${path}`, headers: bearer(org.owner.access) });

  it('no request sees the previous request’s tenant, including after one that failed mid-transaction', async () => {
    const { a, b } = await twoTenants();
    for (let i = 0; i < 60; i++) {
      const [mine, theirs] = i % 2 === 0 ? [a, b] : [b, a];
      if (i % 3 === 0) {
        // Fails inside the transaction: the UPDATE hits the other tenant's slug (unique violation) and rolls back.
        const failed = await t.app.inject({
          method: 'PATCH',
          url: `/v1/organizations/${mine.id}`,
          headers: bearer(mine.owner.access),
          payload: { slug: theirs.slug },
        });
        expect(failed.statusCode).toBe(409);
      }
      const org = await get(mine);
      expect(org.statusCode).toBe(200);
      expect(org.json().id).toBe(mine.id);
      const members = (await get(mine, '/members')).json().data.map((m: { user_id: string }) => m.user_id);
      expect(members.sort()).toEqual([mine.owner.id, mine.admin.id, mine.member.id, mine.viewer.id].sort());
      const list = await t.app.inject({ method: 'GET', url: '/v1/organizations', headers: bearer(mine.member.access) });
      expect(list.json().data.map((o: { id: string }) => o.id)).toEqual([mine.id]);
      expect(
        (await t.app.inject({ method: 'GET', url: `/v1/organizations/${theirs.id}`, headers: bearer(mine.owner.access) })).statusCode,
      ).toBe(404);
    }
  });

  it('keeps tenants apart when requests for both queue for the one connection at once', async () => {
    const { a, b } = await twoTenants();
    const calls = Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? a : b));
    const results = await Promise.all(calls.map((org) => get(org, '/members')));
    results.forEach((res, i) => {
      const org = calls[i]!;
      expect(res.statusCode).toBe(200);
      expect(
        res
          .json()
          .data.map((m: { user_id: string }) => m.user_id)
          .sort(),
      ).toEqual([org.owner.id, org.admin.id, org.member.id, org.viewer.id].sort());
    });
    expect(t.db.stats().total).toBeLessThanOrEqual(1);
  });
});
