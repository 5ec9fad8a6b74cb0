import { randomBytes } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensurePlatformAdmin } from '../src/modules/identity/identity.service.js';
import { hashToken, rotateRefreshToken, sessionNamedBy } from '../src/modules/identity/sessions.js';
import { rotateSigningKey } from '../src/modules/oauth/keys.js';
import { startApp, type TestApp } from './helpers/app.js';
import { ENGINES } from './helpers/db.js';
import { insertMembership, insertOrganization } from './helpers/fixtures.js';
import { createOrg } from './helpers/orgs.js';
import { bearer, PASSWORD, refreshToken, signupUser } from './helpers/users.js';

describe.each(ENGINES)('identity, sessions and tokens (%s)', (engine) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp(engine);
  });
  afterAll(() => t.close());

  it('signup → login → me → refresh → switch → revoke', async () => {
    const u = await signupUser(t.app, '  Flow.User@Example.COM ');
    expect(u.email).toBe('flow.user@example.com');
    const org = await insertOrganization(t.db, 'Flow Org');
    await insertMembership(t.db, org.id, u.id, 'admin');

    const login = await t.app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { email: 'FLOW.user@example.com', password: PASSWORD },
    });
    expect(login.statusCode).toBe(200);
    const l = login.json();
    expect(l).toMatchObject({ token_type: 'Bearer', expires_in: 900, organization_id: null });
    expect(decodeProtectedHeader(l.access_token)).toMatchObject({ alg: 'EdDSA', typ: 'at+jwt' });
    const claims = decodeJwt(l.access_token);
    expect(claims).toMatchObject({ sub: u.id, client_id: 'tenantry', iss: t.app.config.tokenIssuer, aud: t.app.config.tokenAudience });
    expect(claims.org_id).toBeUndefined();
    for (const c of ['exp', 'iat', 'jti', 'sid']) expect(claims[c]).toBeDefined();

    const me = await t.app.inject({ method: 'GET', url: '/v1/me', headers: bearer(l.access_token) });
    expect(me.statusCode).toBe(200);
    expect(me.json()).toEqual({
      id: u.id,
      email: 'flow.user@example.com',
      name: 'Test User',
      platform_role: null,
      email_verified: false,
      memberships: [{ organization_id: org.id, name: 'Flow Org', slug: expect.any(String), role: 'admin' }],
    });

    const r1 = await refreshToken(t.app, l.refresh_token);
    expect(r1.statusCode).toBe(200);
    expect(r1.json().refresh_token).not.toBe(l.refresh_token);

    const switched = await refreshToken(t.app, r1.json().refresh_token, { organization_id: org.id });
    expect(switched.statusCode).toBe(200);
    const s = switched.json();
    expect(s.organization_id).toBe(org.id);
    expect(decodeJwt(s.access_token)).toMatchObject({
      org_id: org.id,
      org_role: 'admin',
      permissions: [
        'organization:read',
        'members:read',
        'data:read',
        'data:write',
        'organization:update',
        'members:manage',
        'invitations:manage',
        'audit:read',
        'events:read',
        'tools:manage',
        'api_keys:manage',
      ],
      sid: claims.sid,
    });
    // A plain refresh keeps the organization.
    const kept = await refreshToken(t.app, s.refresh_token);
    expect(kept.json().organization_id).toBe(org.id);

    const revoked = await t.app.inject({
      method: 'POST',
      url: '/oauth/revoke',
      payload: `token=${encodeURIComponent(kept.json().refresh_token)}`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(revoked.statusCode).toBe(200);
    expect((await refreshToken(t.app, kept.json().refresh_token)).json()).toMatchObject({ error: 'invalid_grant' });
    // The session is over on this API at once, even though the access token has not expired.
    const after = await t.app.inject({ method: 'GET', url: '/v1/me', headers: bearer(kept.json().access_token) });
    expect(after.statusCode).toBe(401);
  });

  it('answers the same 401 for an unknown email and a wrong password', async () => {
    const u = await signupUser(t.app);
    const wrong = await t.app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { email: u.email, password: 'not the password!!' },
    });
    const unknown = await t.app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { email: `nobody-${u.id}@example.com`, password: 'not the password!!' },
    });
    for (const r of [wrong, unknown]) {
      expect(r.statusCode).toBe(401);
      expect(r.headers['content-type']).toMatch(/application\/problem\+json/);
    }
    const strip = (b: Record<string, unknown>) => ({ ...b, request_id: undefined });
    expect(strip(wrong.json())).toEqual(strip(unknown.json()));
    expect(wrong.json().code).toBe('INVALID_CREDENTIALS');
  });

  it('refuses a second account for the same email, whatever its case', async () => {
    const u = await signupUser(t.app);
    const again = await t.app.inject({
      method: 'POST',
      url: '/v1/auth/signup',
      payload: { email: u.email.toUpperCase(), password: PASSWORD, name: 'X' },
    });
    expect(again.statusCode).toBe(409);
    expect(again.json().code).toBe('EMAIL_TAKEN');
  });

  it.each([
    [{ email: 'not-an-email', password: PASSWORD, name: 'X' }, '/body/email'],
    [{ email: 'a@example.com', password: 'short', name: 'X' }, '/body/password'],
    [{ email: 'a@example.com', password: PASSWORD, name: 'bad\u0007name' }, '/body/name'],
    [{ email: 'a@example.com', password: PASSWORD, name: '   ' }, '/body/name'],
    [{ email: 'a@example.com', password: PASSWORD, name: 'x'.repeat(121) }, '/body/name'],
    [{ email: `${'a'.repeat(250)}@example.com`, password: PASSWORD, name: 'X' }, '/body/email'],
    [{ email: 'a@example.com', password: PASSWORD, name: 'X', platform_role: 'platform_admin' }, '/body/platform_role'],
    [{ email: 'a@example.com', password: PASSWORD }, '/body/name'],
  ])('signup rejects %j with a 400 naming the field', async (payload, path) => {
    const res = await t.app.inject({ method: 'POST', url: '/v1/auth/signup', payload });
    expect(res.statusCode).toBe(400);
    expect(res.json().code).toBe('VALIDATION_FAILED');
    expect(res.json().errors.map((e: { path: string }) => e.path)).toContain(path);
  });

  it('rotates refresh tokens; reusing a rotated one ends the whole session, the newest token too', async () => {
    const u = await signupUser(t.app);
    const r1 = (await refreshToken(t.app, u.refresh)).json();
    const r2 = (await refreshToken(t.app, r1.refresh_token)).json();
    const reuse = await refreshToken(t.app, u.refresh);
    expect(reuse.statusCode).toBe(400);
    expect(reuse.json()).toMatchObject({ error: 'invalid_grant' });
    expect(reuse.headers['content-type']).toMatch(/^application\/json/);
    expect((await refreshToken(t.app, r2.refresh_token)).json()).toMatchObject({ error: 'invalid_grant' });
    expect((await t.app.inject({ method: 'GET', url: '/v1/me', headers: bearer(r2.access_token) })).statusCode).toBe(401);
    const session = await t.db.kysely
      .selectFrom('sessions')
      .select(['revoked_reason'])
      .where('user_id', '=', u.id)
      .executeTakeFirstOrThrow();
    expect(session.revoked_reason).toBe('refresh_token_reuse');
  });

  it('lets at most one of two concurrent refreshes with one token win', async () => {
    const u = await signupUser(t.app);
    const results = await Promise.all([refreshToken(t.app, u.refresh), refreshToken(t.app, u.refresh)]);
    const ok = results.filter((r) => r.statusCode === 200);
    expect(ok.length).toBeLessThanOrEqual(1);
    expect(results.filter((r) => r.statusCode === 400).every((r) => r.json().error === 'invalid_grant')).toBe(true);
    const tokens = await t.db.kysely
      .selectFrom('refresh_tokens as r')
      .innerJoin('sessions as s', 's.id', 'r.session_id')
      .select(['r.used_at'])
      .where('s.user_id', '=', u.id)
      .execute();
    expect(tokens.length).toBeLessThanOrEqual(2);
  });

  it('refuses to switch into an organization the user does not belong to, and the token stays usable', async () => {
    const u = await signupUser(t.app);
    const other = await insertOrganization(t.db, 'Not Mine');
    const res = await refreshToken(t.app, u.refresh, { organization_id: other.id });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ error: 'invalid_grant' });
    expect((await refreshToken(t.app, u.refresh)).statusCode).toBe(200);
    const login = await t.app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { email: u.email, password: PASSWORD, organization_id: other.id },
    });
    expect(login.statusCode).toBe(404);
  });

  it('a used token is theft whatever else the refresh gets wrong: the session ends', async () => {
    const u = await signupUser(t.app);
    const other = await insertOrganization(t.db, 'Not Theirs');
    const next = (await refreshToken(t.app, u.refresh)).json().refresh_token;
    const reuse = await refreshToken(t.app, u.refresh, { organization_id: other.id });
    expect(reuse.json()).toMatchObject({ error: 'invalid_grant', error_description: expect.stringMatching(/already used/) });
    expect((await refreshToken(t.app, next)).json()).toMatchObject({ error: 'invalid_grant' });
    const session = await t.db.kysely.selectFrom('sessions').select('revoked_reason').where('user_id', '=', u.id).executeTakeFirstOrThrow();
    expect(session.revoked_reason).toBe('refresh_token_reuse');
  });

  it.each(['resource', 'scope', 'organization_id', 'client_id'])(
    'hostile input: a NUL or a lone surrogate in %s of a refresh is invalid_request, never a 500, and the token stays usable',
    async (field) => {
      const u = await signupUser(t.app);
      const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: u.refresh, [field]: 'https://a\u0000b' });
      const asForm = await t.app.inject({
        method: 'POST',
        url: '/oauth/token',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: form.toString(),
      });
      // A lone surrogate survives only JSON (form encoding replaces it).
      const asJson = await refreshToken(t.app, u.refresh, { [field]: 'https://a\ud800b' });
      for (const res of [asForm, asJson]) {
        expect(res.statusCode).toBe(400);
        expect(res.json().error).toBe('invalid_request');
      }
      expect((await refreshToken(t.app, u.refresh)).statusCode).toBe(200);
    },
  );

  it('hostile input: a NUL in the token of a revocation or an introspection is invalid_request', async () => {
    for (const url of ['/oauth/revoke', '/oauth/introspect']) {
      const res = await t.app.inject({
        method: 'POST',
        url,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: 'token=a%00b',
      });
      expect(res.statusCode, url).toBe(400);
      expect(res.json().error, url).toBe('invalid_request');
    }
  });

  it('the statement that finds a used token ends the session and tells its organization: no crash can come between them', async () => {
    const u = await signupUser(t.app);
    const org = await createOrg(t.app, u);
    const scoped = (await refreshToken(t.app, u.refresh, { organization_id: org.id })).json();
    await refreshToken(t.app, scoped.refresh_token);
    // The statement alone, with no other work of the grant around it.
    const r = await rotateRefreshToken(t.db, scoped.refresh_token, sessionNamedBy(scoped.refresh_token)!, {
      clientId: t.app.config.clientId,
      limited: false,
      organizationId: null,
      audience: null,
      meta: { ip: '203.0.113.9', requestId: 'req-reuse' },
    });
    expect(r.kind).toBe('reused');
    const sessionId = sessionNamedBy(scoped.refresh_token)!;
    const session = await t.db.kysely.selectFrom('sessions').select('revoked_reason').where('id', '=', sessionId).executeTakeFirstOrThrow();
    expect(session.revoked_reason).toBe('refresh_token_reuse');
    const audited = await t.db.kysely
      .selectFrom('audit_events')
      .select(['actor_type', 'actor_id', 'target_type', 'target_id', 'data', 'ip', 'request_id'])
      .where('organization_id', '=', org.id)
      .where('action', '=', 'session.refresh_reuse_detected')
      .execute();
    expect(audited).toEqual([
      {
        actor_type: 'system',
        actor_id: null,
        target_type: 'session',
        target_id: sessionId,
        data: { user_id: u.id },
        ip: '203.0.113.9',
        request_id: 'req-reuse',
      },
    ]);
    const revoked = await t.db.kysely
      .selectFrom('events')
      .select(['actor_type', 'data'])
      .where('organization_id', '=', org.id)
      .where('type', '=', 'session.revoked')
      .execute();
    expect(revoked).toEqual([{ actor_type: 'system', data: { session_id: sessionId, user_id: u.id, reason: 'refresh_token_reuse' } }]);
    // Presented again, the session has already ended: the reuse is recorded, and no second session.revoked.
    expect((await refreshToken(t.app, scoped.refresh_token)).json()).toMatchObject({ error: 'invalid_grant' });
    const again = await t.db.kysely
      .selectFrom('events')
      .select('id')
      .where('organization_id', '=', org.id)
      .where('type', '=', 'session.revoked')
      .execute();
    expect(again).toHaveLength(1);
  });

  it('a refresh token names its session; one naming another session is refused and spends nothing of it', async () => {
    // Three refreshes a minute per session, so a forged token that counted would leave the victim fewer.
    const limited = await startApp(engine, { rateLimit: { max: 3, windowMs: 60_000 } });
    try {
      const victim = await signupUser(limited.app);
      const thief = await signupUser(limited.app);
      const victimSession = sessionNamedBy(victim.refresh)!;
      expect(victimSession).toBe(decodeJwt(victim.access).sid);
      const forged = `rt_${victim.refresh.slice(3, 25)}${thief.refresh.slice(25)}`;
      for (let i = 0; i < 5; i++) expect((await refreshToken(limited.app, forged)).json()).toMatchObject({ error: 'invalid_grant' });
      let refresh = victim.refresh;
      for (let i = 0; i < 3; i++) {
        const res = await refreshToken(limited.app, refresh);
        expect(res.statusCode, res.body).toBe(200);
        refresh = res.json().refresh_token;
      }
      // The limit itself holds: a fourth refresh within the minute is refused.
      expect((await refreshToken(limited.app, refresh)).statusCode).toBe(429);
      expect((await refreshToken(limited.app, thief.refresh)).statusCode).toBe(200);
    } finally {
      await limited.close();
    }
  });

  it('a refresh token from before tokens named their session still refreshes; its successor names the session', async () => {
    const u = await signupUser(t.app);
    const sessionId = decodeJwt(u.access).sid as string;
    const older = `rt_${randomBytes(32).toString('base64url')}`;
    await t.db.kysely
      .insertInto('refresh_tokens')
      .values({ token_hash: hashToken(older), session_id: sessionId })
      .execute();
    const res = await refreshToken(t.app, older);
    expect(res.statusCode, res.body).toBe(200);
    expect(sessionNamedBy(res.json().refresh_token)).toBe(sessionId);
    expect((await refreshToken(t.app, res.json().refresh_token)).statusCode).toBe(200);
    expect((await refreshToken(t.app, older)).json()).toMatchObject({ error: 'invalid_grant' });
  });

  it('rejects an access token presented as a refresh token, and a refresh naming another client', async () => {
    const u = await signupUser(t.app);
    expect((await refreshToken(t.app, u.access)).json()).toMatchObject({ error: 'invalid_grant' });
    expect((await refreshToken(t.app, u.refresh, { client_id: 'someone-else' })).json()).toMatchObject({ error: 'invalid_grant' });
    expect((await refreshToken(t.app, u.refresh, { client_id: 'tenantry', scope: 'openid', extra: 'ignored' })).statusCode).toBe(200);
  });

  it('speaks RFC 6749 errors on /oauth/token', async () => {
    const bad = await t.app.inject({ method: 'POST', url: '/oauth/token', payload: { grant_type: 'password', username: 'x' } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ error: 'unsupported_grant_type' });
    const missing = await t.app.inject({ method: 'POST', url: '/oauth/token', payload: {} });
    expect(missing.json()).toMatchObject({ error: 'invalid_request' });
    const garbage = await t.app.inject({
      method: 'POST',
      url: '/oauth/token',
      payload: '{not json',
      headers: { 'content-type': 'application/json' },
    });
    expect(garbage.statusCode).toBe(400);
    expect(garbage.json()).toMatchObject({ error: 'invalid_request' });
  });

  it('a password change needs the current password and ends every other session', async () => {
    const u = await signupUser(t.app);
    const other = (await t.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: u.email, password: PASSWORD } })).json();
    const noCurrent = await t.app.inject({
      method: 'PATCH',
      url: '/v1/me',
      headers: bearer(u.access),
      payload: { password: 'a brand new password' },
    });
    expect(noCurrent.statusCode).toBe(400);
    const wrongCurrent = await t.app.inject({
      method: 'PATCH',
      url: '/v1/me',
      headers: bearer(u.access),
      payload: { password: 'a brand new password', current_password: 'nope nope nope' },
    });
    expect(wrongCurrent.statusCode).toBe(401);
    const changed = await t.app.inject({
      method: 'PATCH',
      url: '/v1/me',
      headers: bearer(u.access),
      payload: { password: 'a brand new password', current_password: PASSWORD, name: 'Renamed' },
    });
    expect(changed.statusCode).toBe(200);
    expect(changed.json().name).toBe('Renamed');
    expect((await t.app.inject({ method: 'GET', url: '/v1/me', headers: bearer(other.access_token) })).statusCode).toBe(401);
    expect((await refreshToken(t.app, other.refresh_token)).json()).toMatchObject({ error: 'invalid_grant' });
    expect((await t.app.inject({ method: 'GET', url: '/v1/me', headers: bearer(u.access) })).statusCode).toBe(200);
    expect((await refreshToken(t.app, u.refresh)).statusCode).toBe(200);
    const relogin = await t.app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { email: u.email, password: 'a brand new password' },
    });
    expect(relogin.statusCode).toBe(200);
  });

  it('creates platform admins idempotently and shows platform_role', async () => {
    const email = `Admin-${Date.now()}@Example.com`;
    const id1 = await ensurePlatformAdmin(t.db, email, 'admin password 1');
    const id2 = await ensurePlatformAdmin(t.db, email, 'admin password 2');
    expect(id2).toBe(id1);
    const login = await t.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email, password: 'admin password 2' } });
    expect(login.statusCode).toBe(200);
    const me = await t.app.inject({ method: 'GET', url: '/v1/me', headers: bearer(login.json().access_token) });
    expect(me.json().platform_role).toBe('platform_admin');
  });

  it('rotates signing keys: old tokens keep verifying, new ones use the new key, the JWKS serves both', async () => {
    const u = await signupUser(t.app);
    const oldKid = decodeProtectedHeader(u.access).kid;
    const newKid = await rotateSigningKey(t.db);
    await t.app.services.keys.load();
    const jwks = (await t.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json();
    expect(jwks.keys.map((k: { kid: string }) => k.kid)).toEqual(expect.arrayContaining([oldKid, newKid]));
    for (const k of jwks.keys) {
      expect(k).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig' });
      expect(k.d).toBeUndefined();
    }
    expect((await t.app.inject({ method: 'GET', url: '/v1/me', headers: bearer(u.access) })).statusCode).toBe(200);
    const fresh = (await refreshToken(t.app, u.refresh)).json();
    expect(decodeProtectedHeader(fresh.access_token).kid).toBe(newKid);
  });

  it('publishes RFC 8414 metadata', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/.well-known/oauth-authorization-server' });
    expect(res.json()).toMatchObject({
      issuer: t.app.config.tokenIssuer,
      token_endpoint: expect.stringMatching(/\/oauth\/token$/),
      revocation_endpoint: expect.stringMatching(/\/oauth\/revoke$/),
      jwks_uri: expect.stringMatching(/\/\.well-known\/jwks\.json$/),
      grant_types_supported: ['refresh_token', 'client_credentials', 'urn:ietf:params:oauth:grant-type:token-exchange'],
      introspection_endpoint: expect.stringMatching(/\/oauth\/introspect$/),
    });
  });
});

describe('OAuth errors are answers, not failures', () => {
  it('an invalid_grant is not logged as an unhandled error', async () => {
    const { PassThrough } = await import('node:stream');
    const t = await startApp('pglite', { logLevel: 'info' });
    const lines: string[] = [];
    const sink = new PassThrough();
    sink.on('data', (c: Buffer) => lines.push(c.toString()));
    try {
      const pino = (await import('pino')).default;
      // Route the app's own logger into memory for this request.
      (t.app.log as unknown as Record<symbol, unknown>)[pino.symbols.streamSym] = sink;
      const res = await refreshToken(t.app, 'rt_not-a-real-token-but-well-formed');
      expect(res.json()).toMatchObject({ error: 'invalid_grant' });
      expect(lines.join('')).not.toMatch(/"level":50/);
      expect(lines.join('')).toMatch(/"statusCode":400/);
    } finally {
      await t.close();
    }
  });
});
