import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from './helpers/app.js';
import { ENGINES } from './helpers/db.js';
import { auditCount, type OrgWithRoles, orgWithRoles } from './helpers/orgs.js';
import { authed, bearer, PASSWORD, signupUser } from './helpers/users.js';

describe.each(ENGINES)('invitations (%s)', (engine) => {
  let t: TestApp;
  beforeAll(async () => {
    // The platform points invitation links at its own front end (INVITATION_URL).
    t = await startApp(engine, {
      publicUrl: 'https://tenantry.example.com',
      invitationUrl: 'https://app.example.com/join/{token}?from=email',
    });
  });
  afterAll(() => t.close());

  const req = (method: string, url: string, token: string, payload?: unknown) => authed(t.app, method, url, token, payload);
  const invite = (o: OrgWithRoles, email: string, role = 'member', by = o.admin) =>
    req('POST', `/v1/organizations/${o.id}/invitations`, by.access, { email, role });
  const accept = (token: string, access: string) => req('POST', '/v1/invitations/accept', access, { token });
  const membership = (orgId: string, userId: string) =>
    t.db.kysely
      .selectFrom('memberships')
      .select('role')
      .where('organization_id', '=', orgId)
      .where('user_id', '=', userId)
      .executeTakeFirst();
  const uniqueEmail = (tag: string) => `${tag}-${Math.random().toString(36).slice(2)}@example.com`;

  it('an existing user accepts with the invited role; email matching ignores case', async () => {
    const o = await orgWithRoles(t.app, t.db);
    const email = uniqueEmail('invitee');
    const created = await invite(o, email.replace('invitee', 'Invitee').toUpperCase().replace('@EXAMPLE.COM', '@Example.COM'), 'admin');
    expect(created.statusCode).toBe(201);
    const inv = created.json();
    expect(inv).toMatchObject({ email, role: 'admin', status: 'pending', invited_by: o.admin.id });
    expect(inv.token).toMatch(/^inv_[0-9a-f]{32}_[A-Za-z0-9_-]{43}$/);
    expect(inv.accept_url).toBe(`https://app.example.com/join/${inv.token}?from=email`);
    const days = (Date.parse(inv.expires_at) - Date.parse(inv.created_at)) / 86_400_000;
    expect(days).toBeCloseTo(7, 3);
    const stored = await t.db.kysely.selectFrom('invitations').selectAll().where('id', '=', inv.id).executeTakeFirstOrThrow();
    expect(JSON.stringify(stored)).not.toContain(inv.token.slice(-43));

    const user = await signupUser(t.app, email.toUpperCase());
    const before = await auditCount(t.db, o.id);
    const res = await accept(inv.token, user.access);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ organization_id: o.id, role: 'admin' });
    expect(await membership(o.id, user.id)).toEqual({ role: 'admin' });
    expect(await auditCount(t.db, o.id)).toBe(before + 2);
    const actions = (await req('GET', `/v1/organizations/${o.id}/audit-events?limit=3`, o.owner.access))
      .json()
      .data.map((e: { action: string }) => e.action);
    expect(actions).toEqual(['member.added', 'invitation.accepted', 'invitation.created']);
    const listed = (await req('GET', `/v1/organizations/${o.id}/invitations?status=accepted`, o.admin.access)).json().data;
    expect(listed.map((i: { id: string }) => i.id)).toEqual([inv.id]);
    expect(listed[0].token).toBeUndefined();
  });

  it('a new user joins by signing up with invitation_token, scoped to the organization', async () => {
    const o = await orgWithRoles(t.app, t.db);
    const email = uniqueEmail('newbie');
    const inv = (await invite(o, email, 'viewer')).json();
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/auth/signup',
      payload: { email, password: PASSWORD, name: 'Newbie', invitation_token: inv.token },
    });
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(body.organization_id).toBe(o.id);
    expect(decodeJwt(body.access_token)).toMatchObject({ org_id: o.id, org_role: 'viewer' });
    expect(await membership(o.id, body.user.id)).toEqual({ role: 'viewer' });
  });

  it('every misuse but the wrong signed-in user is INVITATION_INVALID, and none changes anything', async () => {
    const o = await orgWithRoles(t.app, t.db);
    const other = await orgWithRoles(t.app, t.db);
    const email = uniqueEmail('target');
    const user = await signupUser(t.app, email);
    const stranger = await signupUser(t.app);

    const inv = (await invite(o, email)).json();
    const otherInv = (await invite(other, email)).json();
    const expiring = (await invite(other, uniqueEmail('late'))).json();

    const forged = `inv_${o.id.replaceAll('-', '')}_${otherInv.token.split('_')[2]}`;
    const cases: Array<[string, string]> = [
      ['garbage', user.access],
      [`inv_${'0'.repeat(32)}_${'a'.repeat(43)}`, user.access],
      [forged, user.access], // another organization's invitation under this organization's id
    ];
    const n0 = await auditCount(t.db, o.id);
    for (const [token, access] of cases) {
      const res = await accept(token, access);
      expect(res.statusCode, token).toBe(400);
      expect(res.json().code).toBe('INVITATION_INVALID');
    }
    // Signed in as someone else: the answer says so, without saying who was invited.
    const wrongUser = await accept(inv.token, stranger.access);
    expect(wrongUser.statusCode).toBe(403);
    expect(wrongUser.headers['content-type']).toMatch(/^application\/problem\+json/);
    const problem = wrongUser.json();
    expect(problem.code).toBe('INVITATION_EMAIL_MISMATCH');
    expect(problem.detail).toMatch(/another email address/);
    expect(wrongUser.body.toLowerCase()).not.toContain(email.toLowerCase());
    expect(wrongUser.body.toLowerCase()).not.toContain(email.split('@')[0]!.toLowerCase());
    expect(await membership(o.id, stranger.id)).toBeUndefined();
    expect(await auditCount(t.db, o.id)).toBe(n0);

    expect((await accept(inv.token, user.access)).statusCode).toBe(200);
    const twice = await accept(inv.token, user.access);
    expect(twice.json().code).toBe('INVITATION_INVALID');

    expect((await req('DELETE', `/v1/organizations/${other.id}/invitations/${otherInv.id}`, other.admin.access)).statusCode).toBe(204);
    expect((await accept(otherInv.token, user.access)).json().code).toBe('INVITATION_INVALID');
    expect(await membership(other.id, user.id)).toBeUndefined();

    await t.db.kysely
      .updateTable('invitations')
      .set({ expires_at: new Date(Date.now() - 1000) } as never)
      .where('id', '=', expiring.id)
      .execute();
    const lateUser = await signupUser(t.app, expiring.email);
    expect((await accept(expiring.token, lateUser.access)).json().code).toBe('INVITATION_INVALID');
    const expired = (await req('GET', `/v1/organizations/${other.id}/invitations?status=expired`, other.admin.access)).json().data;
    expect(expired.map((i: { id: string }) => i.id)).toEqual([expiring.id]);

    // Signup with a bad invitation creates no account.
    const ghost = uniqueEmail('ghost');
    const signup = await t.app.inject({
      method: 'POST',
      url: '/v1/auth/signup',
      payload: { email: ghost, password: PASSWORD, name: 'G', invitation_token: inv.token },
    });
    expect(signup.json().code).toBe('INVITATION_INVALID');
    expect(await t.db.kysely.selectFrom('users').select('id').where('email', '=', ghost).executeTakeFirst()).toBeUndefined();
  });

  it('two concurrent accepts of one invitation create exactly one membership', async () => {
    for (let i = 0; i < 5; i++) {
      const o = await orgWithRoles(t.app, t.db);
      const email = uniqueEmail('racer');
      const user = await signupUser(t.app, email);
      const inv = (await invite(o, email)).json();
      const results = await Promise.all([accept(inv.token, user.access), accept(inv.token, user.access)]);
      expect(results.map((r) => r.statusCode).sort()).toEqual([200, 400]);
      const rows = await t.db.kysely
        .selectFrom('memberships')
        .select('role')
        .where('organization_id', '=', o.id)
        .where('user_id', '=', user.id)
        .execute();
      expect(rows).toHaveLength(1);
    }
  });

  it('refuses invitations above the inviter’s role, by non-admins, and for members or pending emails', async () => {
    const o = await orgWithRoles(t.app, t.db);
    const n0 = await auditCount(t.db, o.id);
    expect((await invite(o, uniqueEmail('x'), 'owner', o.admin)).statusCode).toBe(403);
    expect((await invite(o, uniqueEmail('x'), 'viewer', o.member)).statusCode).toBe(403);
    expect((await invite(o, uniqueEmail('x'), 'viewer', o.viewer)).statusCode).toBe(403);
    const member = await invite(o, o.member.email.toUpperCase());
    expect(member.statusCode).toBe(409);
    expect(member.json().code).toBe('ALREADY_MEMBER');
    const email = uniqueEmail('dup');
    expect((await invite(o, email)).statusCode).toBe(201);
    const dup = await invite(o, email);
    expect(dup.statusCode).toBe(409);
    expect(dup.json().code).toBe('INVITATION_PENDING');
    expect(await auditCount(t.db, o.id)).toBe(n0 + 1);
    expect((await invite(o, uniqueEmail('o'), 'owner', o.owner)).statusCode).toBe(201);
    expect((await invite(o, 'not an email')).statusCode).toBe(400);
    expect(
      (
        await req('POST', `/v1/organizations/${o.id}/invitations`, o.admin.access, {
          email: uniqueEmail('m'),
          role: 'member',
          status: 'accepted',
        })
      ).statusCode,
    ).toBe(400);
  });

  it('a lapsed invitation no longer blocks a new one', async () => {
    const o = await orgWithRoles(t.app, t.db);
    const email = uniqueEmail('again');
    const first = (await invite(o, email)).json();
    await t.db.kysely
      .updateTable('invitations')
      .set({ expires_at: new Date(Date.now() - 1000) } as never)
      .where('id', '=', first.id)
      .execute();
    expect((await invite(o, email)).statusCode).toBe(201);
  });

  it("answers 404 for another organization's invitations and ids", async () => {
    const a = await orgWithRoles(t.app, t.db);
    const b = await orgWithRoles(t.app, t.db);
    const inv = (await invite(b, uniqueEmail('b'))).json();
    for (const [m, u, p] of [
      ['GET', `/v1/organizations/${b.id}/invitations`, undefined],
      ['POST', `/v1/organizations/${b.id}/invitations`, { email: uniqueEmail('z'), role: 'viewer' }],
      ['DELETE', `/v1/organizations/${b.id}/invitations/${inv.id}`, undefined],
      ['DELETE', `/v1/organizations/${a.id}/invitations/${inv.id}`, undefined],
    ] as const) {
      const res = await req(m, u, a.owner.access, p);
      expect(res.statusCode, `${m} ${u}`).toBe(404);
    }
    const still = await t.db.kysely.selectFrom('invitations').select('status').where('id', '=', inv.id).executeTakeFirstOrThrow();
    expect(still.status).toBe('pending');
  });

  it('is rate limited like login', async () => {
    const limited = await startApp(engine, { rateLimit: { max: 2, windowMs: 60_000 } });
    try {
      const u = await signupUser(limited.app);
      const codes: number[] = [];
      for (let i = 0; i < 3; i++) {
        codes.push(
          (
            await limited.app.inject({
              method: 'POST',
              url: '/v1/invitations/accept',
              headers: bearer(u.access),
              payload: { token: 'nope' },
            })
          ).statusCode,
        );
      }
      expect(codes).toEqual([400, 400, 429]);
    } finally {
      await limited.close();
    }
  });
});
