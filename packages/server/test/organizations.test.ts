import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from './helpers/app.js';
import { ENGINES } from './helpers/db.js';
import { auditCount, createOrg, orgWithRoles } from './helpers/orgs.js';
import { authed, bearer, signupUser } from './helpers/users.js';

describe.each(ENGINES)('organizations (%s)', (engine) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp(engine);
  });
  afterAll(() => t.close());

  const req = (method: string, url: string, token: string, payload?: unknown) => authed(t.app, method, url, token, payload);

  it('creates an organization with the caller as owner, derives a unique slug, and audits it once', async () => {
    const owner = await signupUser(t.app);
    const res = await req('POST', '/v1/organizations', owner.access, {
      name: '  Ünïcode Händel & Co ',
      industry: 'professional_services',
      size: '11-50',
      domains: ['Example.COM', 'bücher.de', 'example.com'],
      metadata: { plan: 'gold', seats: 12, trial: false, note: null },
    });
    expect(res.statusCode).toBe(201);
    const org = res.json();
    expect(org).toMatchObject({
      name: 'Ünïcode Händel & Co',
      slug: 'unicode-handel-co',
      industry: 'professional_services',
      size: '11-50',
      domains: ['example.com', 'xn--bcher-kva.de'],
      status: 'active',
      metadata: { plan: 'gold', seats: 12, trial: false, note: null },
    });
    expect(new Date(org.created_at).toISOString()).toBe(org.created_at);
    const again = await req('POST', '/v1/organizations', owner.access, { name: 'Ünïcode Händel & Co', industry: 'legal' });
    expect(again.statusCode).toBe(201);
    expect(again.json().slug).toMatch(/^unicode-handel-co-[a-z0-9]{6}$/);

    const me = await req('GET', '/v1/me', owner.access);
    expect(me.json().memberships).toEqual(expect.arrayContaining([expect.objectContaining({ organization_id: org.id, role: 'owner' })]));
    const events = await req('GET', `/v1/organizations/${org.id}/audit-events`, owner.access);
    expect(events.json().data).toEqual([
      expect.objectContaining({
        action: 'organization.created',
        actor: { type: 'user', id: owner.id },
        target: { type: 'organization', id: org.id },
        ip: '127.0.0.1',
        request_id: res.headers['x-request-id'],
      }),
    ]);
  });

  it.each([['Technology'], [' technology'], ['technology '], [5], [null], ['tech']])(
    'rejects industry %j with a 400 that lists the allowed values',
    async (industry) => {
      const owner = await signupUser(t.app);
      const res = await req('POST', '/v1/organizations', owner.access, { name: 'X Corp', industry });
      expect(res.statusCode).toBe(400);
      const body = res.json();
      expect(body.code).toBe('VALIDATION_FAILED');
      const err = body.errors.find(
        (e: { path: string; message: string }) => e.path === '/body/industry' && /must be one of/.test(e.message),
      );
      expect(err.message).toContain('agriculture, construction');
      expect(err.message).toContain('transportation, other');
    },
  );

  it.each([
    ['admin', 400],
    ['ab', 400],
    ['-acme', 400],
    ['acme--corp', 400],
    ['acme_corp', 400],
    ['a'.repeat(49), 400],
  ])('rejects slug %j', async (slug, status) => {
    const owner = await signupUser(t.app);
    const res = await req('POST', '/v1/organizations', owner.access, { name: 'X', slug, industry: 'other' });
    expect(res.statusCode).toBe(status);
  });

  it('normalises a slug with NFKC and refuses a taken one with 409 SLUG_TAKEN', async () => {
    const owner = await signupUser(t.app);
    const org = await createOrg(t.app, owner, { slug: 'ＡＣＭＥ-Widgets' });
    expect(org.slug).toBe('acme-widgets');
    const dup = await req('POST', '/v1/organizations', owner.access, { name: 'Other', slug: 'acme-widgets', industry: 'other' });
    expect(dup.statusCode).toBe(409);
    expect(dup.json().code).toBe('SLUG_TAKEN');
    const other = await createOrg(t.app, owner, { name: 'Other' });
    const clash = await req('PATCH', `/v1/organizations/${other.id}`, owner.access, { slug: 'acme-widgets' });
    expect(clash.statusCode).toBe(409);
    expect(clash.json().code).toBe('SLUG_TAKEN');
  });

  it.each([
    [{ organization_id: '00000000-0000-7000-8000-000000000000' }],
    [{ status: 'active' }],
    [{ role: 'owner' }],
    [{ created_at: '2020-01-01T00:00:00Z' }],
    [{ id: '00000000-0000-7000-8000-000000000000' }],
    [{ surprise: true }],
  ])('mass assignment of %j is a 400 on create and update', async (extra) => {
    const o = await orgWithRoles(t.app, t.db);
    const create = await req('POST', '/v1/organizations', o.owner.access, { name: 'M', industry: 'other', ...extra });
    expect(create.statusCode).toBe(400);
    const update = await req('PATCH', `/v1/organizations/${o.id}`, o.owner.access, { name: 'M', ...extra });
    expect(update.statusCode).toBe(400);
    expect((await req('GET', `/v1/organizations/${o.id}`, o.owner.access)).json().name).toBe('Acme Corp');
    if (!('role' in extra)) {
      const member = await req('PATCH', `/v1/organizations/${o.id}/members/${o.member.id}`, o.owner.access, { role: 'admin', ...extra });
      expect(member.statusCode).toBe(400);
    }
  });

  it('validates domains and metadata limits', async () => {
    const owner = await signupUser(t.app);
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ domains: ['not a domain'] }, '/body/domains/0'],
      [{ domains: Array.from({ length: 21 }, (_, i) => `d${i}.example.com`) }, '/body/domains'],
      [{ metadata: { nested: { a: 1 } } }, '/body/metadata/nested'],
      [{ metadata: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, i])) }, '/body/metadata'],
      [{ metadata: Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`k${i}`, 'x'.repeat(1000)])) }, '/body/metadata'],
      [{ metadata: { list: [1, 2] } }, '/body/metadata/list'],
    ];
    for (const [extra, path] of cases) {
      const res = await req('POST', '/v1/organizations', owner.access, { name: 'D', industry: 'other', ...extra });
      expect(res.statusCode, JSON.stringify(extra)).toBe(400);
      expect(res.json().errors.map((e: { path: string }) => e.path)).toContain(path);
    }
  });

  describe('roles', () => {
    it('lets every member list members and read the organization', async () => {
      const o = await orgWithRoles(t.app, t.db);
      for (const u of [o.owner, o.admin, o.member, o.viewer]) {
        expect((await req('GET', `/v1/organizations/${o.id}`, u.access)).statusCode).toBe(200);
        const list = await req('GET', `/v1/organizations/${o.id}/members`, u.access);
        expect(list.statusCode).toBe(200);
        expect(list.json().data).toHaveLength(4);
      }
    });

    it('refuses role escalation and updates below admin with 403, changing nothing', async () => {
      const o = await orgWithRoles(t.app, t.db);
      const before = await auditCount(t.db, o.id);
      const attempts: Array<[string, string, string, unknown]> = [
        ['PATCH', `/v1/organizations/${o.id}/members/${o.admin.id}`, o.admin.access, { role: 'owner' }],
        ['PATCH', `/v1/organizations/${o.id}/members/${o.member.id}`, o.admin.access, { role: 'owner' }],
        ['PATCH', `/v1/organizations/${o.id}/members/${o.owner.id}`, o.admin.access, { role: 'member' }],
        ['DELETE', `/v1/organizations/${o.id}/members/${o.owner.id}`, o.admin.access, undefined],
        ['PATCH', `/v1/organizations/${o.id}/members/${o.viewer.id}`, o.member.access, { role: 'member' }],
        ['PATCH', `/v1/organizations/${o.id}/members/${o.member.id}`, o.member.access, { role: 'admin' }],
        ['PATCH', `/v1/organizations/${o.id}/members/${o.viewer.id}`, o.viewer.access, { role: 'viewer' }],
        ['DELETE', `/v1/organizations/${o.id}/members/${o.viewer.id}`, o.member.access, undefined],
        ['PATCH', `/v1/organizations/${o.id}`, o.member.access, { name: 'pwned' }],
        ['PATCH', `/v1/organizations/${o.id}`, o.viewer.access, { name: 'pwned' }],
        ['DELETE', `/v1/organizations/${o.id}`, o.admin.access, undefined],
        ['POST', `/v1/organizations/${o.id}/suspend`, o.owner.access, undefined],
        ['GET', `/v1/organizations/${o.id}/audit-events`, o.member.access, undefined],
        ['GET', `/v1/organizations/${o.id}/audit-events`, o.viewer.access, undefined],
      ];
      for (const [method, url, token, payload] of attempts) {
        const res = await req(method, url, token, payload);
        expect(res.statusCode, `${method} ${url}`).toBe(403);
        expect(res.json().code).toBe('FORBIDDEN');
      }
      const roles = await t.db.kysely.selectFrom('memberships').select(['user_id', 'role']).where('organization_id', '=', o.id).execute();
      expect(Object.fromEntries(roles.map((r) => [r.user_id, r.role]))).toEqual({
        [o.owner.id]: 'owner',
        [o.admin.id]: 'admin',
        [o.member.id]: 'member',
        [o.viewer.id]: 'viewer',
      });
      expect((await req('GET', `/v1/organizations/${o.id}`, o.owner.access)).json()).toMatchObject({ name: 'Acme Corp', status: 'active' });
      expect(await auditCount(t.db, o.id)).toBe(before);
    });

    it('lets an admin manage members up to admin, each change audited once', async () => {
      const x = await orgWithRoles(t.app, t.db);
      const before = await auditCount(t.db, x.id);
      const up = await req('PATCH', `/v1/organizations/${x.id}/members/${x.viewer.id}`, x.admin.access, { role: 'admin' });
      expect(up.statusCode).toBe(200);
      expect(up.json()).toMatchObject({ user_id: x.viewer.id, role: 'admin', email: x.viewer.email });
      expect(await auditCount(t.db, x.id)).toBe(before + 1);
      const removed = await req('DELETE', `/v1/organizations/${x.id}/members/${x.member.id}`, x.admin.access);
      expect(removed.statusCode).toBe(204);
      expect(await auditCount(t.db, x.id)).toBe(before + 2);
      const events = (await req('GET', `/v1/organizations/${x.id}/audit-events?limit=2`, x.owner.access)).json().data;
      expect(events.map((e: { action: string }) => e.action)).toEqual(['member.removed', 'member.role_changed']);
      expect(events[1].data).toEqual({ from: 'viewer', to: 'admin' });
      // Owners manage owners.
      const promote = await req('PATCH', `/v1/organizations/${x.id}/members/${x.admin.id}`, x.owner.access, { role: 'owner' });
      expect(promote.statusCode).toBe(200);
    });

    it('ends the removed member’s sessions scoped to the organization', async () => {
      const x = await orgWithRoles(t.app, t.db);
      const scoped = await t.app.inject({
        method: 'POST',
        url: '/oauth/token',
        payload: { grant_type: 'refresh_token', refresh_token: x.member.refresh, organization_id: x.id },
      });
      expect(scoped.statusCode).toBe(200);
      expect((await req('DELETE', `/v1/organizations/${x.id}/members/${x.member.id}`, x.owner.access)).statusCode).toBe(204);
      const refreshed = await t.app.inject({
        method: 'POST',
        url: '/oauth/token',
        payload: { grant_type: 'refresh_token', refresh_token: scoped.json().refresh_token },
      });
      expect(refreshed.json()).toMatchObject({ error: 'invalid_grant' });
      expect((await req('GET', `/v1/organizations/${x.id}`, scoped.json().access_token)).statusCode).toBe(401);
    });

    it('keeps the last owner: demoting, removing or leaving as the only owner is 409 LAST_OWNER', async () => {
      const x = await orgWithRoles(t.app, t.db);
      const before = await auditCount(t.db, x.id);
      const demote = await req('PATCH', `/v1/organizations/${x.id}/members/${x.owner.id}`, x.owner.access, { role: 'admin' });
      expect(demote.statusCode).toBe(409);
      expect(demote.json().code).toBe('LAST_OWNER');
      const leave = await req('DELETE', `/v1/organizations/${x.id}/members/${x.owner.id}`, x.owner.access);
      expect(leave.json().code).toBe('LAST_OWNER');
      expect(await auditCount(t.db, x.id)).toBe(before);
      // Anyone else may leave.
      expect((await req('DELETE', `/v1/organizations/${x.id}/members/${x.viewer.id}`, x.viewer.access)).statusCode).toBe(204);
    });

    it('keeps an owner when two owners demote each other at the same moment', async () => {
      for (let i = 0; i < 8; i++) {
        const x = await orgWithRoles(t.app, t.db);
        await req('PATCH', `/v1/organizations/${x.id}/members/${x.admin.id}`, x.owner.access, { role: 'owner' });
        const [a, b] = await Promise.all([
          req('PATCH', `/v1/organizations/${x.id}/members/${x.admin.id}`, x.owner.access, { role: 'admin' }),
          req('PATCH', `/v1/organizations/${x.id}/members/${x.owner.id}`, x.admin.access, { role: 'admin' }),
        ]);
        expect([a.statusCode, b.statusCode].filter((s) => s === 200)).toHaveLength(1);
        expect([a.statusCode, b.statusCode].some((s) => s === 409 || s === 403)).toBe(true);
        const owners = await t.db.kysely
          .selectFrom('memberships')
          .select('user_id')
          .where('organization_id', '=', x.id)
          .where('role', '=', 'owner')
          .execute();
        expect(owners).toHaveLength(1);
      }
    });
  });

  it("answers 404 for another organization's ids on every route, and leaves it unchanged", async () => {
    const a = await orgWithRoles(t.app, t.db, 'Org A');
    const b = await orgWithRoles(t.app, t.db, 'Org B');
    const bEvents = await auditCount(t.db, b.id);
    const token = a.owner.access;
    const calls: Array<[string, string, unknown]> = [
      ['GET', `/v1/organizations/${b.id}`, undefined],
      ['PATCH', `/v1/organizations/${b.id}`, { name: 'pwned' }],
      ['DELETE', `/v1/organizations/${b.id}`, undefined],
      ['POST', `/v1/organizations/${b.id}/suspend`, undefined],
      ['POST', `/v1/organizations/${b.id}/reactivate`, undefined],
      ['GET', `/v1/organizations/${b.id}/members`, undefined],
      ['PATCH', `/v1/organizations/${b.id}/members/${b.member.id}`, { role: 'viewer' }],
      ['DELETE', `/v1/organizations/${b.id}/members/${b.member.id}`, undefined],
      ['GET', `/v1/organizations/${b.id}/audit-events`, undefined],
      // A's organization with a member of B: not a member here.
      ['PATCH', `/v1/organizations/${a.id}/members/${b.member.id}`, { role: 'viewer' }],
      ['DELETE', `/v1/organizations/${a.id}/members/${b.member.id}`, undefined],
    ];
    const missing = await t.app.inject({
      method: 'GET',
      url: '/v1/organizations/00000000-0000-7000-8000-000000000000',
      headers: bearer(token),
    });
    for (const [method, url, payload] of calls) {
      const res = await req(method, url, token, payload);
      expect(res.statusCode, `${method} ${url}`).toBe(404);
      expect(res.json().code).toBe('NOT_FOUND');
    }
    // Indistinguishable from a missing organization.
    const other = await req('GET', `/v1/organizations/${b.id}`, token);
    expect({ ...other.json(), request_id: 0 }).toEqual({ ...missing.json(), request_id: 0 });
    expect((await req('GET', `/v1/organizations/${b.id}`, b.owner.access)).json()).toMatchObject({ name: 'Org B', status: 'active' });
    const members = await t.db.kysely.selectFrom('memberships').select('role').where('organization_id', '=', b.id).execute();
    expect(members).toHaveLength(4);
    expect(await auditCount(t.db, b.id)).toBe(bEvents);
    const list = await req('GET', '/v1/organizations', token);
    expect(list.json().data.map((o: { id: string }) => o.id)).toEqual([a.id]);
  });

  it('paginates members with keyset cursors', async () => {
    const o = await orgWithRoles(t.app, t.db);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await req('GET', `/v1/organizations/${o.id}/members?limit=3${cursor ? `&cursor=${cursor}` : ''}`, o.viewer.access);
      expect(res.statusCode).toBe(200);
      const body = res.json();
      seen.push(...body.data.map((m: { user_id: string }) => m.user_id));
      cursor = body.next_cursor;
    } while (cursor);
    expect(seen).toHaveLength(4);
    expect([...seen].sort()).toEqual(seen);
    expect((await req('GET', `/v1/organizations/${o.id}/members?cursor=%%%`, o.viewer.access)).statusCode).toBe(400);
    expect((await req('GET', `/v1/organizations/${o.id}/members?limit=101`, o.viewer.access)).statusCode).toBe(400);
    expect((await req('GET', `/v1/organizations/${o.id}/members?limit=0`, o.viewer.access)).statusCode).toBe(400);
  });

  it('archives on DELETE by the owner: 204, then 404 to its members', async () => {
    const o = await orgWithRoles(t.app, t.db);
    expect((await req('DELETE', `/v1/organizations/${o.id}`, o.owner.access)).statusCode).toBe(204);
    for (const u of [o.owner, o.member]) {
      expect((await req('GET', `/v1/organizations/${o.id}`, u.access)).statusCode).toBe(404);
    }
    const me = await req('GET', '/v1/me', o.owner.access);
    expect(me.json().memberships.map((m: { organization_id: string }) => m.organization_id)).not.toContain(o.id);
  });
});
