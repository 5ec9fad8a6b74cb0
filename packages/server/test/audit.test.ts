import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withTenant } from '../src/db/tenant-context.js';
import { startApp, type TestApp } from './helpers/app.js';
import { ENGINES } from './helpers/db.js';
import { auditCount, orgWithRoles } from './helpers/orgs.js';
import { authed, PASSWORD } from './helpers/users.js';

describe.each(ENGINES)('audit log (%s)', (engine) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp(engine);
  });
  afterAll(() => t.close());

  const req = (method: string, url: string, token: string, payload?: unknown) => authed(t.app, method, url, token, payload);

  it('writes no event for a change that fails validation, permission or a rule, and exactly one for each success', async () => {
    const o = await orgWithRoles(t.app, t.db);
    const n0 = await auditCount(t.db, o.id);
    const failures: Array<[string, string, string, unknown]> = [
      ['PATCH', `/v1/organizations/${o.id}`, o.owner.access, { industry: 'Nope' }],
      ['PATCH', `/v1/organizations/${o.id}`, o.member.access, { name: 'x' }],
      ['PATCH', `/v1/organizations/${o.id}/members/${o.owner.id}`, o.owner.access, { role: 'admin' }],
      ['PATCH', `/v1/organizations/${o.id}/members/${o.admin.id}`, o.admin.access, { role: 'owner' }],
      ['DELETE', `/v1/organizations/${o.id}/members/${o.owner.id}`, o.owner.access, undefined],
      ['PATCH', `/v1/organizations/${o.id}`, o.owner.access, { slug: 'admin' }],
    ];
    for (const [m, u, tk, p] of failures) expect((await req(m, u, tk, p)).statusCode).toBeGreaterThanOrEqual(400);
    expect(await auditCount(t.db, o.id)).toBe(n0);

    const successes: Array<[string, string, string, unknown, string]> = [
      ['PATCH', `/v1/organizations/${o.id}`, o.admin.access, { name: 'Renamed', metadata: { tier: 'gold' } }, 'organization.updated'],
      ['PATCH', `/v1/organizations/${o.id}/members/${o.viewer.id}`, o.admin.access, { role: 'member' }, 'member.role_changed'],
      ['DELETE', `/v1/organizations/${o.id}/members/${o.viewer.id}`, o.viewer.access, undefined, 'member.removed'],
      ['DELETE', `/v1/organizations/${o.id}`, o.owner.access, undefined, 'organization.archived'],
    ];
    let n = n0;
    for (const [m, u, tk, p, action] of successes) {
      const res = await req(m, u, tk, p);
      expect(res.statusCode).toBeLessThan(300);
      expect(await auditCount(t.db, o.id)).toBe(++n);
      const last = await t.db.kysely
        .selectFrom('audit_events')
        .select(['action', 'request_id'])
        .where('organization_id', '=', o.id)
        .orderBy('id', 'desc')
        .executeTakeFirstOrThrow();
      expect(last).toEqual({ action, request_id: res.headers['x-request-id'] });
    }
  });

  it('filters by action, actor and time, paginates newest first, and holds no secrets', async () => {
    const o = await orgWithRoles(t.app, t.db);
    await req('PATCH', `/v1/organizations/${o.id}`, o.owner.access, { name: 'One' });
    await req('PATCH', `/v1/organizations/${o.id}`, o.admin.access, { name: 'Two' });
    await req('PATCH', `/v1/organizations/${o.id}/members/${o.viewer.id}`, o.owner.access, { role: 'member' });
    const base = `/v1/organizations/${o.id}/audit-events`;

    const updates = (await req('GET', `${base}?action=organization.updated`, o.admin.access)).json().data;
    expect(updates.map((e: { actor: { id: string } }) => e.actor.id)).toEqual([o.admin.id, o.owner.id]);
    const byAdmin = (await req('GET', `${base}?actor_id=${o.admin.id}`, o.admin.access)).json().data;
    expect(byAdmin).toHaveLength(1);
    const future = (await req('GET', `${base}?since=2999-01-01T00:00:00Z`, o.admin.access)).json().data;
    expect(future).toEqual([]);
    const past = (await req('GET', `${base}?until=2000-01-01T00:00:00Z`, o.admin.access)).json().data;
    expect(past).toEqual([]);
    expect((await req('GET', `${base}?since=yesterday`, o.admin.access)).statusCode).toBe(400);

    const all: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { data: Array<{ id: string }>; next_cursor: string | null } = (
        await req('GET', `${base}?limit=2${cursor ? `&cursor=${cursor}` : ''}`, o.owner.access)
      ).json();
      all.push(...page.data.map((e: { id: string }) => e.id));
      cursor = page.next_cursor;
    } while (cursor);
    expect(all).toHaveLength(4);
    expect([...all].sort().reverse()).toEqual(all);

    const dump = JSON.stringify(await t.db.kysely.selectFrom('audit_events').selectAll().execute());
    expect(dump).not.toContain(PASSWORD);
    expect(dump).not.toMatch(/rt_[A-Za-z0-9_-]{20}|eyJ[A-Za-z0-9_-]{10,}\.|\$argon2/);
  });

  it('the application role can only insert and read audit events, never change or delete them', async () => {
    const o = await orgWithRoles(t.app, t.db);
    const ctx = { orgId: o.id, userId: o.owner.id };
    await expect(withTenant(t.db, ctx, (tx) => sql`update audit_events set action = 'forged'`.execute(tx))).rejects.toMatchObject({
      code: '42501',
    });
    await expect(withTenant(t.db, ctx, (tx) => sql`delete from audit_events`.execute(tx))).rejects.toMatchObject({ code: '42501' });
    await expect(withTenant(t.db, ctx, (tx) => sql`truncate audit_events`.execute(tx))).rejects.toMatchObject({ code: '42501' });
    expect(await auditCount(t.db, o.id)).toBe(1);
  });

  it('records refresh-token reuse in the organization the session was scoped to', async () => {
    const o = await orgWithRoles(t.app, t.db);
    const scoped = (
      await t.app.inject({
        method: 'POST',
        url: '/oauth/token',
        payload: { grant_type: 'refresh_token', refresh_token: o.member.refresh, organization_id: o.id },
      })
    ).json();
    await t.app.inject({
      method: 'POST',
      url: '/oauth/token',
      payload: { grant_type: 'refresh_token', refresh_token: scoped.refresh_token },
    });
    const reuse = await t.app.inject({
      method: 'POST',
      url: '/oauth/token',
      payload: { grant_type: 'refresh_token', refresh_token: scoped.refresh_token },
    });
    expect(reuse.json()).toMatchObject({ error: 'invalid_grant' });
    const events = (await req('GET', `/v1/organizations/${o.id}/audit-events?action=session.refresh_reuse_detected`, o.owner.access)).json()
      .data;
    expect(events).toEqual([expect.objectContaining({ actor: { type: 'system', id: null }, data: { user_id: o.member.id } })]);
  });
});
