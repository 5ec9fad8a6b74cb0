import { randomInt } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../src/app.js';
import { ConfigError, loadConfig } from '../src/config.js';
import { ensurePlatformAdmin } from '../src/modules/identity/identity.service.js';
import { INVITATION_SUBJECT } from '../src/modules/invitations/invitation-email.js';
import { startApp, type TestApp } from './helpers/app.js';
import { ENGINES } from './helpers/db.js';
import { insertMembership } from './helpers/fixtures.js';
import { createOrg, orgWithRoles } from './helpers/orgs.js';
import { authed, bearer, PASSWORD, refreshToken, type SignedUp, signupUser } from './helpers/users.js';

// Attacks from the security review (issue 12), each named after what it tries.

const LIMITS = { rateLimit: { max: 3, windowMs: 60_000 } };
let ipSeq = 0;
const freshIp = () => `10.${randomInt(0, 250)}.${Math.floor(++ipSeq / 250)}.${(ipSeq % 250) + 1}`;
const freshEmail = () => `sec-${crypto.randomUUID()}@example.com`;

const login = (app: App, email: string, password: string, ip: string, extra: Record<string, unknown> = {}) =>
  app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email, password, ...extra }, remoteAddress: ip });

async function signupFrom(app: App, ip = freshIp()): Promise<SignedUp> {
  const res = await app.inject({
    method: 'POST',
    url: '/v1/auth/signup',
    payload: { email: freshEmail(), password: PASSWORD, name: 'Someone' },
    remoteAddress: ip,
  });
  if (res.statusCode !== 201) throw new Error(`signup failed: ${res.statusCode} ${res.body}`);
  const b = res.json();
  return { id: b.user.id, email: b.user.email, access: b.access_token, refresh: b.refresh_token };
}

describe.each(ENGINES)('security attacks (%s)', (engine) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp(engine);
  });
  afterAll(() => t?.close());

  describe('promotion and password rotation end sessions', () => {
    it('promoting an existing account does not turn its old tokens into platform-admin tokens', async () => {
      const u = await signupUser(t.app);
      await ensurePlatformAdmin(t.db, u.email, 'the operator password');
      expect((await authed(t.app, 'GET', '/v1/me', u.access)).statusCode).toBe(401);
      expect((await refreshToken(t.app, u.refresh)).json()).toMatchObject({ error: 'invalid_grant' });
    });

    it('a thief of a rotated admin password keeps no session', async () => {
      const email = freshEmail();
      await ensurePlatformAdmin(t.db, email, 'first admin password');
      const stolen = (await login(t.app, email, 'first admin password', freshIp())).json();
      await ensurePlatformAdmin(t.db, email, 'second admin password');
      expect((await authed(t.app, 'GET', '/v1/me', stolen.access_token)).statusCode).toBe(401);
      expect((await refreshToken(t.app, stolen.refresh_token)).statusCode).toBe(400);
    });

    it('a bootstrap at start that changes nothing ends no session', async () => {
      const email = freshEmail();
      await ensurePlatformAdmin(t.db, email, 'steady admin password');
      const s = (await login(t.app, email, 'steady admin password', freshIp())).json();
      await ensurePlatformAdmin(t.db, email, 'steady admin password');
      const me = await authed(t.app, 'GET', '/v1/me', s.access_token);
      expect(me.statusCode).toBe(200);
      expect(me.json().platform_role).toBe('platform_admin');
    });
  });

  describe('a scoped token acts in its organization only', () => {
    it('a token scoped to org A as viewer cannot rename org B, where the user is owner', async () => {
      const other = await signupUser(t.app);
      const a = await createOrg(t.app, other, { name: 'Org A' });
      const u = await signupUser(t.app);
      await insertMembership(t.db, a.id, u.id, 'viewer');
      const b = await createOrg(t.app, u, { name: 'Org B' });
      const scoped = (await refreshToken(t.app, u.refresh, { organization_id: a.id })).json();
      expect(scoped.organization_id).toBe(a.id);
      const token: string = scoped.access_token;

      for (const [method, url, body] of [
        ['PATCH', `/v1/organizations/${b.id}`, { name: 'Hijacked' }],
        ['GET', `/v1/organizations/${b.id}`, undefined],
        ['GET', `/v1/organizations/${b.id}/members`, undefined],
        ['DELETE', `/v1/organizations/${b.id}`, undefined],
        ['POST', `/v1/organizations/${b.id}/invitations`, { email: freshEmail(), role: 'owner' }],
      ] as const) {
        const res = await authed(t.app, method, url, token, body);
        expect(res.statusCode, `${method} ${url}`).toBe(404);
        expect(res.json().code).toBe('NOT_FOUND');
      }
      expect((await authed(t.app, 'GET', `/v1/organizations/${b.id}`, u.access)).json().name).toBe('Org B');
      // In its own organization it works, and user-level routes take it.
      expect((await authed(t.app, 'GET', `/v1/organizations/${a.id}`, token)).statusCode).toBe(200);
      expect((await authed(t.app, 'GET', '/v1/me', token)).statusCode).toBe(200);
      expect((await authed(t.app, 'GET', '/v1/organizations', token)).statusCode).toBe(200);
      expect((await authed(t.app, 'POST', '/v1/organizations', token, { name: 'Org C', industry: 'retail' })).statusCode).toBe(201);
    });
  });

  describe('invitations do not outlive their inviter', () => {
    const inviteAsAdmin = async (app: App, orgId: string, admin: SignedUp, email: string) => {
      const res = await authed(app, 'POST', `/v1/organizations/${orgId}/invitations`, admin.access, { email, role: 'admin' });
      expect(res.statusCode, res.body).toBe(201);
      return res.json().token as string;
    };

    it('an admin demoted after inviting a second mailbox as admin: the invitation grants nothing', async () => {
      const o = await orgWithRoles(t.app, t.db);
      const second = await signupUser(t.app);
      const token = await inviteAsAdmin(t.app, o.id, o.admin, second.email);
      const demote = await authed(t.app, 'PATCH', `/v1/organizations/${o.id}/members/${o.admin.id}`, o.owner.access, { role: 'member' });
      expect(demote.statusCode, demote.body).toBe(200);
      const accept = await authed(t.app, 'POST', '/v1/invitations/accept', second.access, { token });
      expect(accept.statusCode).toBe(400);
      expect(accept.json().code).toBe('INVITATION_INVALID');
    });

    it('an admin removed after inviting: signing up with the invitation fails and creates nothing', async () => {
      const o = await orgWithRoles(t.app, t.db);
      const email = freshEmail();
      const token = await inviteAsAdmin(t.app, o.id, o.admin, email);
      expect((await authed(t.app, 'DELETE', `/v1/organizations/${o.id}/members/${o.admin.id}`, o.owner.access)).statusCode).toBe(204);
      const res = await t.app.inject({
        method: 'POST',
        url: '/v1/auth/signup',
        payload: { email, password: PASSWORD, name: 'Second Mailbox', invitation_token: token },
      });
      expect(res.statusCode).toBe(400);
      expect(res.json().code).toBe('INVITATION_INVALID');
      expect(await t.db.kysely.selectFrom('users').select('id').where('email', '=', email).executeTakeFirst()).toBeUndefined();
    });

    it('an inviter still in place: the invitation works', async () => {
      const o = await orgWithRoles(t.app, t.db);
      const second = await signupUser(t.app);
      const token = await inviteAsAdmin(t.app, o.id, o.admin, second.email);
      const accept = await authed(t.app, 'POST', '/v1/invitations/accept', second.access, { token });
      expect(accept.statusCode, accept.body).toBe(200);
    });
  });

  describe('names cannot hide text', () => {
    it.each([
      ['right-to-left override', 'Admin\u202Egnp.exe'],
      ['zero-width space', 'Sup\u200Bport'],
      ['byte order mark', 'Ac\uFEFFme'],
      ['isolate', 'Acme\u2066Bank\u2069'],
    ])('a %s in a user or organization name is refused', async (_label, name) => {
      const signup = await t.app.inject({
        method: 'POST',
        url: '/v1/auth/signup',
        payload: { email: freshEmail(), password: PASSWORD, name },
      });
      expect(signup.statusCode).toBe(400);
      const u = await signupUser(t.app);
      const org = await authed(t.app, 'POST', '/v1/organizations', u.access, { name, industry: 'retail' });
      expect(org.statusCode).toBe(400);
      expect((await authed(t.app, 'PATCH', '/v1/me', u.access, { name })).statusCode).toBe(400);
    });
  });
});

describe.each(ENGINES)('rate-limit attacks (%s)', (engine) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp(engine, LIMITS);
  });
  afterAll(() => t?.close());

  it('one address cannot lock a victim out: requests refused by the per-address limit do not count against the email', async () => {
    const victim = await signupFrom(t.app);
    const attacker = freshIp();
    for (let i = 0; i < 3; i++) expect((await login(t.app, freshEmail(), 'wrong password!!', attacker)).statusCode).toBe(401);
    for (let i = 0; i < 10; i++) expect((await login(t.app, victim.email, 'wrong password!!', attacker)).statusCode).toBe(429);
    const ok = await login(t.app, victim.email, PASSWORD, freshIp());
    expect(ok.statusCode, ok.body).toBe(200);
  });

  it("a victim's own successful logins do not spend the account's failure budget", async () => {
    const u = await signupFrom(t.app);
    for (let i = 0; i < 5; i++) expect((await login(t.app, u.email, PASSWORD, freshIp())).statusCode).toBe(200);
  });

  it('guessing one account from many addresses is stopped after the failed attempts, even with the right password', async () => {
    const u = await signupFrom(t.app);
    for (let i = 0; i < 3; i++) expect((await login(t.app, u.email, 'wrong password!!', freshIp())).statusCode).toBe(401);
    expect((await login(t.app, u.email, PASSWORD, freshIp())).statusCode).toBe(429);
  });

  it('rotating IPv6 addresses inside one /64 does not escape the per-address limit', async () => {
    const [g3, g4] = [randomInt(0, 0xfffe), randomInt(0, 0xfffe)];
    const prefix = `2001:db8:${g3.toString(16)}:${g4.toString(16)}`;
    for (let i = 1; i <= 3; i++) expect((await login(t.app, freshEmail(), 'wrong password!!', `${prefix}::${i}`)).statusCode).toBe(401);
    expect((await login(t.app, freshEmail(), 'wrong password!!', `${prefix}:0:0:0:beef`)).statusCode).toBe(429);
    // Another /64 is another address.
    expect(
      (await login(t.app, freshEmail(), 'wrong password!!', `2001:db8:${g3.toString(16)}:${(g4 + 1).toString(16)}::1`)).statusCode,
    ).not.toBe(429);
  });

  it('a stolen access token is no password oracle: PATCH /v1/me current_password is limited per account', async () => {
    const u = await signupFrom(t.app);
    const patch = (current: string, ip: string) =>
      t.app.inject({
        method: 'PATCH',
        url: '/v1/me',
        headers: bearer(u.access),
        payload: { password: 'a brand new password', current_password: current },
        remoteAddress: ip,
      });
    for (let i = 0; i < 3; i++) expect((await patch(`guess number ${i}`, freshIp())).statusCode).toBe(401);
    const refused = await patch(PASSWORD, freshIp());
    expect(refused.statusCode).toBe(429);
    expect(refused.json().code).toBe('RATE_LIMITED');
    // The account's budget is one: password login is locked too.
    expect((await login(t.app, u.email, PASSWORD, freshIp())).statusCode).toBe(429);
  });

  it('a stolen access token is no password oracle: PATCH /v1/me current_password is limited per address', async () => {
    const ip = freshIp();
    for (let i = 0; i < 3; i++) {
      const u = await signupFrom(t.app);
      const res = await t.app.inject({
        method: 'PATCH',
        url: '/v1/me',
        headers: bearer(u.access),
        payload: { password: 'a brand new password', current_password: 'wrong password!!' },
        remoteAddress: ip,
      });
      expect(res.statusCode).toBe(401);
    }
    const u = await signupFrom(t.app);
    const res = await t.app.inject({
      method: 'PATCH',
      url: '/v1/me',
      headers: bearer(u.access),
      payload: { password: 'a brand new password', current_password: PASSWORD },
      remoteAddress: ip,
    });
    expect(res.statusCode).toBe(429);
  });

  it('many users behind one address are not throttled by each other when they refresh', async () => {
    const office = freshIp();
    for (let i = 0; i < 5; i++) {
      const u = await signupFrom(t.app);
      const res = await t.app.inject({
        method: 'POST',
        url: '/oauth/token',
        payload: { grant_type: 'refresh_token', refresh_token: u.refresh },
        remoteAddress: office,
      });
      expect(res.statusCode, res.body).toBe(200);
    }
  });

  it('one session refreshing in a loop is limited per session, and the refused token stays usable', async () => {
    const u = await signupFrom(t.app);
    let refresh = u.refresh;
    for (let i = 0; i < 3; i++) {
      const res = await t.app.inject({
        method: 'POST',
        url: '/oauth/token',
        payload: { grant_type: 'refresh_token', refresh_token: refresh },
        remoteAddress: freshIp(),
      });
      expect(res.statusCode, res.body).toBe(200);
      refresh = res.json().refresh_token;
    }
    const limited = await t.app.inject({
      method: 'POST',
      url: '/oauth/token',
      payload: { grant_type: 'refresh_token', refresh_token: refresh },
      remoteAddress: freshIp(),
    });
    expect(limited.statusCode).toBe(429);
    expect(Object.keys(limited.json()).sort()).toEqual(['error', 'error_description']);
    // Not rotated: presenting it again is not reuse (the session is still live).
    const row = await t.db.kysely.selectFrom('sessions').select('revoked_at').where('user_id', '=', u.id).executeTakeFirstOrThrow();
    expect(row.revoked_at).toBeNull();
  });
});

describe.each(ENGINES)('invitation relay (%s)', (engine) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp(engine, { invitationLimits: { perOrganization: 3, perInviter: 2, windowMs: 3_600_000 } });
  });
  afterAll(() => t?.close());

  const invite = (app: App, orgId: string, token: string, email = freshEmail()) =>
    authed(app, 'POST', `/v1/organizations/${orgId}/invitations`, token, { email, role: 'viewer' });

  it('a new account cannot send invitations without limit, per inviter and per organization', async () => {
    const o = await orgWithRoles(t.app, t.db);
    for (let i = 0; i < 2; i++) expect((await invite(t.app, o.id, o.owner.access)).statusCode).toBe(201);
    const third = await invite(t.app, o.id, o.owner.access);
    expect(third.statusCode).toBe(429);
    expect(third.json().code).toBe('RATE_LIMITED');
    expect(third.headers['retry-after']).toMatch(/^\d+$/);
    // The organization's budget: one more from another inviter, then none.
    expect((await invite(t.app, o.id, o.admin.access)).statusCode).toBe(201);
    expect((await invite(t.app, o.id, o.admin.access)).statusCode).toBe(429);
    const other = await orgWithRoles(t.app, t.db);
    expect((await invite(t.app, other.id, other.owner.access)).statusCode).toBe(201);
  });

  it('attacker-chosen organization and inviter names never reach the subject', async () => {
    const owner = await signupUser(t.app);
    await authed(t.app, 'PATCH', '/v1/me', owner.access, { name: 'Your bank security team' });
    const org = await createOrg(t.app, owner, { name: 'URGENT verify your account at evil.example' });
    const to = freshEmail();
    expect((await invite(t.app, org.id, owner.access, to)).statusCode).toBe(201);
    const mail = await t.db.kysely.selectFrom('email_outbox').select('subject').where('recipient', '=', to).executeTakeFirstOrThrow();
    expect(mail.subject).toBe(INVITATION_SUBJECT);
    expect(mail.subject).not.toMatch(/evil|URGENT|bank/);
  });
});

describe('TRUST_PROXY', () => {
  it('takes a hop count and refuses addresses that are not addresses', () => {
    expect(loadConfig({ TRUST_PROXY: '1' }).trustProxy).toBe(1);
    expect(loadConfig({ TRUST_PROXY: '10.0.0.0/8, ::1' }).trustProxy).toEqual(['10.0.0.0/8', '::1']);
    for (const bad of ['10.0.0.300', '10.0.0.0/33', 'fe80::1/129', 'proxy.internal', '1.2.3.4/8/8', 'abc']) {
      expect(() => loadConfig({ TRUST_PROXY: bad }), bad).toThrow(ConfigError);
    }
  });

  it.each(ENGINES)(
    'a client forging the left-most X-Forwarded-For behind an appending proxy still hits the per-address limit (%s)',
    async (engine) => {
      const trustProxy = loadConfig({ TRUST_PROXY: '1' }).trustProxy;
      expect(trustProxy).toBe(1);
      const t = await startApp(engine, { ...LIMITS, trustProxy });
      try {
        const client = freshIp();
        for (let i = 0; i < 4; i++) {
          const res = await t.app.inject({
            method: 'POST',
            url: '/v1/auth/login',
            payload: { email: freshEmail(), password: 'wrong password!!' },
            remoteAddress: '127.0.0.1',
            // The client wrote the first entry; the proxy appended the address it saw.
            headers: { 'x-forwarded-for': `203.0.113.${i + 1}, ${client}` },
          });
          expect(res.statusCode).toBe(i < 3 ? 401 : 429);
        }
      } finally {
        await t.close();
      }
    },
  );
});
