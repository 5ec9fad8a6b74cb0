import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensurePlatformAdmin } from '../src/modules/identity/identity.service.js';
import { startApp, type TestApp } from './helpers/app.js';
import { ENGINES } from './helpers/db.js';
import { auditCount, orgWithRoles } from './helpers/orgs.js';
import { authed, PASSWORD } from './helpers/users.js';

describe.each(ENGINES)('platform administration (%s)', (engine) => {
  let t: TestApp;
  let admin: { id: string; access: string };

  beforeAll(async () => {
    t = await startApp(engine);
    const email = 'operator@platform.example';
    const id = await ensurePlatformAdmin(t.db, email, PASSWORD);
    const login = await t.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email, password: PASSWORD } });
    admin = { id, access: login.json().access_token };
  });
  afterAll(() => t.close());

  const req = (method: string, url: string, token: string, payload?: unknown) => authed(t.app, method, url, token, payload);

  it('lists every organization with q, industry and status filters; members see only theirs', async () => {
    const a = await orgWithRoles(t.app, t.db, 'Zephyr Logistics');
    const b = await orgWithRoles(t.app, t.db, 'Zephyr Bank');
    await req('PATCH', `/v1/organizations/${b.id}`, b.owner.access, { industry: 'finance' });

    const all = await req('GET', '/v1/organizations?q=zephyr', admin.access);
    expect(all.statusCode).toBe(200);
    expect(
      all
        .json()
        .data.map((o: { id: string }) => o.id)
        .sort(),
    ).toEqual([a.id, b.id].sort());
    const finance = await req('GET', '/v1/organizations?q=Zephyr&industry=finance', admin.access);
    expect(finance.json().data.map((o: { id: string }) => o.id)).toEqual([b.id]);
    const wildcard = await req('GET', '/v1/organizations?q=%25', admin.access);
    expect(wildcard.json().data).toEqual([]);
    expect((await req('GET', '/v1/organizations?industry=Finance', admin.access)).statusCode).toBe(400);

    // Paginate through everything.
    const ids: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { data: Array<{ id: string }>; next_cursor: string | null } = (
        await req('GET', `/v1/organizations?limit=1${cursor ? `&cursor=${cursor}` : ''}`, admin.access)
      ).json();
      ids.push(...page.data.map((o: { id: string }) => o.id));
      cursor = page.next_cursor;
    } while (cursor);
    expect(ids).toEqual(expect.arrayContaining([a.id, b.id]));
    expect(new Set(ids).size).toBe(ids.length);

    const mine = await req('GET', '/v1/organizations', a.member.access);
    expect(mine.json().data.map((o: { id: string }) => o.id)).toEqual([a.id]);
  });

  it('reads any organization and its members, but cannot change what members manage', async () => {
    const o = await orgWithRoles(t.app, t.db);
    expect((await req('GET', `/v1/organizations/${o.id}`, admin.access)).statusCode).toBe(200);
    expect((await req('GET', `/v1/organizations/${o.id}/members`, admin.access)).json().data).toHaveLength(4);
    expect((await req('GET', `/v1/organizations/${o.id}/audit-events`, admin.access)).statusCode).toBe(200);
    expect((await req('PATCH', `/v1/organizations/${o.id}`, admin.access, { name: 'x' })).statusCode).toBe(403);
    expect((await req('PATCH', `/v1/organizations/${o.id}/members/${o.member.id}`, admin.access, { role: 'admin' })).statusCode).toBe(403);
  });

  it('suspends: members get 403 ORGANIZATION_SUSPENDED except reading it, tokens cannot be scoped to it, scoped sessions end', async () => {
    const o = await orgWithRoles(t.app, t.db);
    const scoped = (
      await t.app.inject({
        method: 'POST',
        url: '/oauth/token',
        payload: { grant_type: 'refresh_token', refresh_token: o.member.refresh, organization_id: o.id },
      })
    ).json();
    const before = await auditCount(t.db, o.id);

    const s = await req('POST', `/v1/organizations/${o.id}/suspend`, admin.access);
    expect(s.statusCode).toBe(200);
    expect(s.json().status).toBe('suspended');
    expect(await auditCount(t.db, o.id)).toBe(before + 1);
    expect((await req('POST', `/v1/organizations/${o.id}/suspend`, admin.access)).statusCode).toBe(200); // no-op
    expect(await auditCount(t.db, o.id)).toBe(before + 1);

    expect((await req('GET', `/v1/organizations/${o.id}`, o.owner.access)).json().status).toBe('suspended');
    for (const [method, url, payload] of [
      ['PATCH', `/v1/organizations/${o.id}`, { name: 'x' }],
      ['GET', `/v1/organizations/${o.id}/members`, undefined],
      ['GET', `/v1/organizations/${o.id}/audit-events`, undefined],
      ['PATCH', `/v1/organizations/${o.id}/members/${o.viewer.id}`, { role: 'member' }],
      ['DELETE', `/v1/organizations/${o.id}/members/${o.viewer.id}`, undefined],
    ] as const) {
      const res = await req(method, url, o.owner.access, payload);
      expect(res.statusCode, `${method} ${url}`).toBe(403);
      expect(res.json().code).toBe('ORGANIZATION_SUSPENDED');
    }
    const login = await t.app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { email: o.owner.email, password: PASSWORD, organization_id: o.id },
    });
    expect(login.statusCode).toBe(403);
    expect(login.json().code).toBe('ORGANIZATION_SUSPENDED');
    const switchIn = await t.app.inject({
      method: 'POST',
      url: '/oauth/token',
      payload: { grant_type: 'refresh_token', refresh_token: o.owner.refresh, organization_id: o.id },
    });
    expect(switchIn.json()).toMatchObject({ error: 'invalid_grant' });
    const scopedRefresh = await t.app.inject({
      method: 'POST',
      url: '/oauth/token',
      payload: { grant_type: 'refresh_token', refresh_token: scoped.refresh_token },
    });
    expect(scopedRefresh.json()).toMatchObject({ error: 'invalid_grant' });

    const r = await req('POST', `/v1/organizations/${o.id}/reactivate`, admin.access);
    expect(r.json().status).toBe('active');
    expect((await req('PATCH', `/v1/organizations/${o.id}`, o.owner.access, { name: 'Back' })).statusCode).toBe(200);
    const actions = (await req('GET', `/v1/organizations/${o.id}/audit-events?limit=3`, o.owner.access))
      .json()
      .data.map((e: { action: string; actor: { type: string } }) => [e.action, e.actor.type]);
    expect(actions).toEqual([
      ['organization.updated', 'user'],
      ['organization.reactivated', 'platform_admin'],
      ['organization.suspended', 'platform_admin'],
    ]);
  });

  it('archives; archived organizations are 404 to members but visible to platform admins and can be restored', async () => {
    const o = await orgWithRoles(t.app, t.db);
    expect((await req('DELETE', `/v1/organizations/${o.id}`, admin.access)).statusCode).toBe(204);
    expect((await req('GET', `/v1/organizations/${o.id}`, o.owner.access)).statusCode).toBe(404);
    expect((await req('GET', `/v1/organizations/${o.id}`, admin.access)).json().status).toBe('archived');
    expect((await req('POST', `/v1/organizations/${o.id}/suspend`, admin.access)).statusCode).toBe(409);
    const archived = await req('GET', '/v1/organizations?status=archived', admin.access);
    expect(archived.json().data.map((x: { id: string }) => x.id)).toContain(o.id);
    expect((await req('POST', `/v1/organizations/${o.id}/reactivate`, admin.access)).json().status).toBe('active');
    expect((await req('GET', `/v1/organizations/${o.id}`, o.owner.access)).statusCode).toBe(200);
  });

  it('members cannot suspend or reactivate (403), outsiders get 404', async () => {
    const o = await orgWithRoles(t.app, t.db);
    const x = await orgWithRoles(t.app, t.db);
    expect((await req('POST', `/v1/organizations/${o.id}/suspend`, o.owner.access)).statusCode).toBe(403);
    expect((await req('POST', `/v1/organizations/${o.id}/reactivate`, o.owner.access)).statusCode).toBe(403);
    expect((await req('POST', `/v1/organizations/${o.id}/suspend`, x.owner.access)).statusCode).toBe(404);
  });
});
