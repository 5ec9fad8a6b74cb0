import { randomUUID } from 'node:crypto';
import { createLocalJWKSet, decodeJwt, exportJWK, generateKeyPair, jwtVerify, SignJWT } from 'jose';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKey } from './helpers/api-keys.js';
import { startApp, type TestApp } from './helpers/app.js';
import { ENGINES } from './helpers/db.js';
import { createOrg, orgWithRoles } from './helpers/orgs.js';
import { basic, enableTool, platformAdminToken, type RegisteredTool, registerTool, tokenRequest, toolToken } from './helpers/tools.js';
import { authed, refreshToken, signupUser } from './helpers/users.js';

// Attacks on platform tools: guessing secrets, forging or replaying client assertions,
// and using a tool's token beyond its organization, its audience or its kind of caller.

const ASSERTION = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
type SigningKey = Parameters<SignJWT['sign']>[0];

describe.each(ENGINES)('attacks on tools (%s)', (engine) => {
  let t: TestApp;
  let admin: string;
  beforeAll(async () => {
    t = await startApp(engine, { trustProxy: true });
    admin = await platformAdminToken(t);
  });
  afterAll(() => t.close());

  const req = (method: string, url: string, token: string, payload?: unknown) => authed(t.app, method, url, token, payload);
  const tokenEndpoint = () => `${t.app.config.publicUrl}/oauth/token`;
  /** Each test asks from an address of its own, so the per-address failure budget is its own. */
  const from = (ip: string) => ({ 'x-forwarded-for': ip });

  /** A tool with a private_key_jwt credential of a fresh Ed25519 key. */
  async function keyTool(): Promise<RegisteredTool & { sign: (claims: Record<string, unknown>, key?: SigningKey) => Promise<string> }> {
    const tool = await registerTool(t, admin);
    const { publicKey, privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
    const res = await req('POST', `/v1/tools/${tool.id}/credentials`, admin, {
      type: 'private_key_jwt',
      jwks: { keys: [await exportJWK(publicKey)] },
    });
    expect(res.statusCode).toBe(201);
    const sign = (claims: Record<string, unknown>, key: SigningKey = privateKey) =>
      new SignJWT({ jti: randomUUID(), ...claims })
        .setProtectedHeader({ alg: 'EdDSA' })
        .setIssuer(tool.clientId)
        .setSubject(tool.clientId)
        .setAudience((claims.aud as string | undefined) ?? tokenEndpoint())
        .setIssuedAt()
        .setExpirationTime('60s')
        .sign(key);
    return { ...tool, sign };
  }

  const withAssertion = (assertion: string, orgId: string, ip: string) =>
    tokenRequest(
      t,
      { grant_type: 'client_credentials', organization_id: orgId, client_assertion_type: ASSERTION, client_assertion: assertion },
      from(ip),
    );

  it('client secret brute force: failures from one address are rate limited, then refused before any check', async () => {
    // An app of its own whose limit is low (signups above count against the default one).
    const main = t;
    const limited = await startApp(engine, { rateLimit: { max: 5, windowMs: 60_000 }, trustProxy: true });
    t = limited;
    try {
      await bruteForce();
    } finally {
      t = main;
      await limited.close();
    }
  });

  async function bruteForce() {
    const owner = await signupUser(t.app);
    const org = await createOrg(t.app, owner);
    const tool = await registerTool(t, await platformAdminToken(t));
    await enableTool(t, owner.access, org.id, tool.id);
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) {
      const guess = `tnts_${Buffer.from(randomUUID()).toString('base64url')}`;
      const r = await tokenRequest(
        t,
        { grant_type: 'client_credentials', organization_id: org.id },
        { authorization: basic(tool.clientId, guess), ...from('203.0.113.7') },
      );
      statuses.push(r.statusCode);
    }
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429]);
    // Even the right secret is refused from that address while it is locked ...
    const locked = await tokenRequest(
      t,
      { grant_type: 'client_credentials', organization_id: org.id },
      { authorization: basic(tool.clientId, tool.secret), ...from('203.0.113.7') },
    );
    expect(locked.statusCode).toBe(429);
    expect(locked.headers['retry-after']).toBeDefined();
    // ... while the tool itself, elsewhere, is not locked out by someone else's guesses.
    const ok = await tokenRequest(
      t,
      { grant_type: 'client_credentials', organization_id: org.id },
      { authorization: basic(tool.clientId, tool.secret), ...from('198.51.100.1') },
    );
    expect(ok.statusCode).toBe(200);
    // Successes spend nothing: a busy tool never throttles itself.
    for (let i = 0; i < 8; i++) {
      const r = await tokenRequest(
        t,
        { grant_type: 'client_credentials', organization_id: org.id },
        { authorization: basic(tool.clientId, tool.secret), ...from('198.51.100.1') },
      );
      expect(r.statusCode).toBe(200);
    }
  }

  it('private_key_jwt: a valid assertion works once; a replayed jti, a wrong key, a wrong aud or iss are refused', async () => {
    const org = await orgWithRoles(t.app, t.db);
    const tool = await keyTool();
    await enableTool(t, org.owner.access, org.id, tool.id);
    const good = await tool.sign({});
    const first = await withAssertion(good, org.id, '192.0.2.10');
    expect(first.statusCode).toBe(200);
    expect(decodeJwt(first.json().access_token).sub).toBe(tool.clientId);
    const issuerAud = await withAssertion(await tool.sign({ aud: t.app.config.tokenIssuer }), org.id, '192.0.2.10');
    expect(issuerAud.statusCode).toBe(200);

    const replay = await withAssertion(good, org.id, '192.0.2.11');
    expect([replay.statusCode, replay.json().error]).toEqual([401, 'invalid_client']);
    const attacker = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
    const wrongKey = await withAssertion(await tool.sign({}, attacker.privateKey), org.id, '192.0.2.12');
    expect([wrongKey.statusCode, wrongKey.json().error]).toEqual([401, 'invalid_client']);
    const wrongAud = await withAssertion(await tool.sign({ aud: 'https://elsewhere.example.com/token' }), org.id, '192.0.2.13');
    expect([wrongAud.statusCode, wrongAud.json().error]).toEqual([401, 'invalid_client']);
    const other = await registerTool(t, admin);
    const wrongIss = await withAssertion(
      await new SignJWT({ jti: randomUUID() })
        .setProtectedHeader({ alg: 'EdDSA' })
        .setIssuer(other.clientId)
        .setSubject(tool.clientId)
        .setAudience(tokenEndpoint())
        .setExpirationTime('60s')
        .sign(attacker.privateKey),
      org.id,
      '192.0.2.14',
    );
    expect([wrongIss.statusCode, wrongIss.json().error]).toEqual([401, 'invalid_client']);
    const longLived = await withAssertion(
      await new SignJWT({ jti: randomUUID() })
        .setProtectedHeader({ alg: 'EdDSA' })
        .setIssuer(tool.clientId)
        .setSubject(tool.clientId)
        .setAudience(tokenEndpoint())
        .setExpirationTime('2h')
        .sign((await generateKeyPair('EdDSA', { crv: 'Ed25519' })).privateKey),
      org.id,
      '192.0.2.15',
    );
    expect(longLived.statusCode).toBe(401);
    const jtis = await sql<{ n: string }>`select count(*)::text as n from tool_assertion_jtis where tool_id = ${tool.id}`.execute(
      t.db.kysely,
    );
    expect(jtis.rows[0]!.n).toBe('2');
  });

  it('private_key_jwt at the introspection endpoint answers as a client secret does; a secret is no assertion key', async () => {
    const org = await orgWithRoles(t.app, t.db);
    const tool = await keyTool();
    await enableTool(t, org.owner.access, org.id, tool.id);
    const k = await createKey(t.app, org.id, org.admin.access, { scopes: ['members:read'] });
    const introspect = async (form: Record<string, string>) =>
      t.app.inject({
        method: 'POST',
        url: '/oauth/introspect',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...from('192.0.2.40') },
        payload: new URLSearchParams(form).toString(),
      });
    const byKey = await introspect({
      token: k.key,
      client_assertion_type: ASSERTION,
      client_assertion: await tool.sign({ aud: t.app.config.tokenIssuer }),
    });
    expect(byKey.statusCode, byKey.body).toBe(200);
    const bySecret = await introspect({ token: k.key, client_id: tool.clientId, client_secret: tool.secret });
    expect(bySecret.statusCode, bySecret.body).toBe(200);
    expect(byKey.json()).toEqual(bySecret.json());
    expect(byKey.json()).toMatchObject({ active: true, principal: 'api_key', sub: k.id, scope: 'members:read' });

    // The assertion's key is the tool's private_key_jwt credential, marked used; a tool with only a
    // secret has no key: an assertion signed with the secret itself (client_secret_jwt) is no
    // client authentication, and neither is one signed with a key of the caller's own.
    const used = await sql<{
      last_used_at: Date | null;
    }>`select last_used_at from tool_credentials where tool_id = ${tool.id} and type = 'private_key_jwt'`.execute(t.db.kysely);
    expect(used.rows[0]!.last_used_at).not.toBeNull();
    const secretOnly = await registerTool(t, admin);
    const assertion = () =>
      new SignJWT({ jti: randomUUID() })
        .setIssuer(secretOnly.clientId)
        .setSubject(secretOnly.clientId)
        .setAudience(tokenEndpoint())
        .setExpirationTime('60s');
    const withSecret = await assertion().setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(secretOnly.secret));
    const withOwnKey = await assertion()
      .setProtectedHeader({ alg: 'EdDSA' })
      .sign((await generateKeyPair('EdDSA', { crv: 'Ed25519' })).privateKey);
    for (const [forged, address] of [
      [withSecret, '192.0.2.41'],
      [withOwnKey, '192.0.2.42'],
    ] as const) {
      const refused = await withAssertion(forged, org.id, address);
      expect([refused.statusCode, refused.json().error]).toEqual([401, 'invalid_client']);
    }
  });

  it('an assertion signed with another algorithm than the key is pinned to (HS256 with the public key) is refused', async () => {
    const org = await orgWithRoles(t.app, t.db);
    const tool = await keyTool();
    await enableTool(t, org.owner.access, org.id, tool.id);
    const jwk = (await req('GET', `/v1/tools/${tool.id}/credentials`, admin)).json().data[1].jwks.keys[0];
    const forged = await new SignJWT({ jti: randomUUID() })
      .setProtectedHeader({ alg: 'HS256', kid: jwk.kid })
      .setIssuer(tool.clientId)
      .setSubject(tool.clientId)
      .setAudience(tokenEndpoint())
      .setExpirationTime('60s')
      .sign(new TextEncoder().encode(jwk.x));
    const r = await withAssertion(forged, org.id, '192.0.2.20');
    expect([r.statusCode, r.json().error]).toEqual([401, 'invalid_client']);
  });

  it('a tool token on /v1/me, or on any route that requires a user, is refused', async () => {
    const org = await orgWithRoles(t.app, t.db);
    const tool = await registerTool(t, admin);
    await enableTool(t, org.owner.access, org.id, tool.id);
    const token = await toolToken(t, tool, org.id);
    for (const [method, url, body] of [
      ['GET', '/v1/me', undefined],
      ['PATCH', '/v1/me', { name: 'Tool' }],
      ['POST', '/v1/organizations', { name: 'By a tool', industry: 'technology' }],
      ['PATCH', `/v1/organizations/${org.id}`, { name: 'Renamed by a tool' }],
      ['PUT', `/v1/organizations/${org.id}/tools/${tool.id}`, { scopes: ['members:read'] }],
      ['DELETE', `/v1/organizations/${org.id}/members/${org.viewer.id}`, undefined],
    ] as const) {
      const r = await req(method, url, token, body);
      expect([url, r.statusCode]).toEqual([url, 403]);
    }
    expect((await req('GET', `/v1/organizations/${org.id}/members`, org.viewer.access)).json().data).toHaveLength(4);
  });

  it('a tool token for organization A on organization B’s routes answers 404, as for a non-member', async () => {
    const a = await orgWithRoles(t.app, t.db);
    const b = await orgWithRoles(t.app, t.db);
    const tool = await registerTool(t, admin);
    await enableTool(t, a.owner.access, a.id, tool.id);
    await enableTool(t, b.owner.access, b.id, tool.id);
    const forA = await toolToken(t, tool, a.id);
    for (const url of [`/v1/organizations/${b.id}`, `/v1/organizations/${b.id}/members`]) {
      const r = await req('GET', url, forA);
      expect([r.statusCode, r.json().code]).toEqual([404, 'NOT_FOUND']);
    }
  });

  it('a token for tool A is refused at tool B’s audience and at Tenantry’s API (aud check)', async () => {
    const org = await orgWithRoles(t.app, t.db);
    const a = await registerTool(t, admin);
    const b = await registerTool(t, admin);
    await enableTool(t, org.owner.access, org.id, a.id);
    await enableTool(t, org.owner.access, org.id, b.id);
    const forA = await toolToken(t, a, org.id, { resource: a.audience });
    // What tool B does with the JWKS: verify, pinning its own audience.
    const jwks = (await t.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json();
    const local = createLocalJWKSet(jwks);
    await expect(jwtVerify(forA, local, { issuer: t.app.config.tokenIssuer, audience: a.audience, typ: 'at+jwt' })).resolves.toBeDefined();
    await expect(jwtVerify(forA, local, { issuer: t.app.config.tokenIssuer, audience: b.audience, typ: 'at+jwt' })).rejects.toThrow(/aud/);
    expect((await req('GET', `/v1/organizations/${org.id}/members`, forA)).statusCode).toBe(401);
    // A user's token for tool A is not one for Tenantry's API either.
    const login = await t.app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { email: org.owner.email, password: 'correct horse battery staple', organization_id: org.id },
    });
    const userForA = await refreshToken(t.app, login.json().refresh_token, { resource: a.audience });
    expect((await req('GET', '/v1/me', userForA.json().access_token)).statusCode).toBe(401);
    // Asking for B's audience without a sharing grant is invalid_target.
    const toB = await tokenRequest(
      t,
      { grant_type: 'client_credentials', organization_id: org.id, resource: b.audience },
      { authorization: basic(a.clientId, a.secret), ...from('192.0.2.40') },
    );
    expect([toB.statusCode, toB.json().error]).toEqual([400, 'invalid_target']);
  });

  it('organization_tools isolation through the API: another tenant’s enablement is invisible and unchangeable', async () => {
    const a = await orgWithRoles(t.app, t.db);
    const b = await orgWithRoles(t.app, t.db);
    const tool = await registerTool(t, admin);
    await enableTool(t, b.owner.access, b.id, tool.id, ['members:read']);
    const listA = (await req('GET', `/v1/organizations/${a.id}/tools?limit=100`, a.owner.access)).json().data;
    expect(listA.find((x: { tool_id: string }) => x.tool_id === tool.id).status).toBe('not_enabled');
    expect((await req('GET', `/v1/organizations/${b.id}/tools`, a.owner.access)).statusCode).toBe(404);
    expect((await req('DELETE', `/v1/organizations/${b.id}/tools/${tool.id}`, a.owner.access)).statusCode).toBe(404);
    expect((await req('PUT', `/v1/organizations/${b.id}/tools/${tool.id}`, a.owner.access, {})).statusCode).toBe(404);
    const rows = await t.db.kysely.selectFrom('organization_tools').selectAll().where('tool_id', '=', tool.id).execute();
    expect(rows.map((r) => [r.organization_id, r.status, r.scopes])).toEqual([[b.id, 'active', ['members:read']]]);
  });

  it('organization_tools in SQL: no tenant set reads zero rows; a tool in user mode reads only its own', async () => {
    const a = await orgWithRoles(t.app, t.db);
    const tool = await registerTool(t, admin);
    const other = await registerTool(t, admin);
    await enableTool(t, a.owner.access, a.id, tool.id);
    await enableTool(t, a.owner.access, a.id, other.id);
    const count = (enter: ReturnType<typeof sql>) =>
      t.db.kysely.transaction().execute(async (tx) => {
        await enter.execute(tx);
        return (await sql<{ n: string }>`select count(*)::text as n from organization_tools`.execute(tx)).rows[0]!.n;
      });
    expect(await count(sql`select * from tenantry_enter(null::uuid, null::uuid, null::uuid)`)).toBe('0');
    expect(await count(sql`select set_config('role', 'tenantry_app', true), set_config('app.org_id', '', true)`)).toBe('0');
    expect(await count(sql`select * from tenantry_enter_tool(null::uuid, ${tool.id}::uuid)`)).toBe('1');
    expect(await count(sql`select * from tenantry_enter_tool(${a.id}::uuid, ${tool.id}::uuid)`)).toBe('2');
  });
});
