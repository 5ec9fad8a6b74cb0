import { createRemoteJWKSet, decodeProtectedHeader, errors as joseErrors, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rotateSigningKey } from '../src/modules/oauth/keys.js';
import { startApp, type TestApp } from './helpers/app.js';
import { ENGINES } from './helpers/db.js';
import { PASSWORD } from './helpers/users.js';

// A separate tool verifies Tenantry's access tokens offline, knowing only the JWKS URL,
// the issuer and the audience: exactly what it would do, over real HTTP.

describe.each(ENGINES)('access tokens verified through the published JWKS (%s)', (engine) => {
  let t: TestApp;
  let base: string;

  beforeAll(async () => {
    t = await startApp(engine);
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const addr = t.app.server.address();
    if (!addr || typeof addr === 'string') throw new Error('not listening on TCP');
    base = `http://127.0.0.1:${addr.port}`;
  });
  afterAll(() => t?.close());

  const verifier = () => {
    const jwks = createRemoteJWKSet(new URL(`${base}/.well-known/jwks.json`));
    return (token: string) =>
      jwtVerify(token, jwks, {
        issuer: t.app.config.tokenIssuer,
        audience: t.app.config.tokenAudience,
        typ: 'at+jwt',
        algorithms: ['EdDSA'],
        requiredClaims: ['sub', 'exp', 'iat', 'jti', 'client_id', 'sid'],
      });
  };

  async function signupOverHttp() {
    const email = `remote-${crypto.randomUUID()}@example.com`;
    const res = await fetch(`${base}/v1/auth/signup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password: PASSWORD, name: 'Remote Verifier' }),
    });
    expect(res.status).toBe(201);
    expect(res.headers.get('cache-control')).toBe('no-store');
    return (await res.json()) as { access_token: string; refresh_token: string; user: { id: string } };
  }

  it('a token issued over HTTP verifies with createRemoteJWKSet + jwtVerify', async () => {
    const body = await signupOverHttp();
    const { payload, protectedHeader } = await verifier()(body.access_token);
    expect(protectedHeader).toMatchObject({ alg: 'EdDSA', typ: 'at+jwt', kid: expect.any(String) });
    expect(payload).toMatchObject({
      sub: body.user.id,
      iss: t.app.config.tokenIssuer,
      aud: t.app.config.tokenAudience,
      client_id: t.app.config.clientId,
    });
    expect(payload.exp! - payload.iat!).toBe(t.app.config.accessTokenTtl);
  });

  it('serves the JWKS with a JSON content type, cacheable, and no private parts', async () => {
    const res = await fetch(`${base}/.well-known/jwks.json`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.headers.get('cache-control')).toMatch(/max-age=\d+/);
    expect(res.headers.get('x-request-id')).toBeTruthy();
    const { keys } = (await res.json()) as { keys: Record<string, unknown>[] };
    expect(keys.length).toBeGreaterThan(0);
    for (const k of keys) {
      expect(k).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig', kid: expect.any(String), x: expect.any(String) });
      expect(k).not.toHaveProperty('d');
    }
  });

  it('the remote verifier rejects a token whose payload was altered', async () => {
    const body = await signupOverHttp();
    const [h, p, s] = body.access_token.split('.');
    const claims = JSON.parse(Buffer.from(p!, 'base64url').toString());
    const forged = `${h}.${Buffer.from(JSON.stringify({ ...claims, sub: crypto.randomUUID() })).toString('base64url')}.${s}`;
    await expect(verifier()(forged)).rejects.toBeInstanceOf(joseErrors.JWSSignatureVerificationFailed);
  });

  it('the remote verifier rejects the token under another issuer or audience', async () => {
    const body = await signupOverHttp();
    const jwks = createRemoteJWKSet(new URL(`${base}/.well-known/jwks.json`));
    await expect(jwtVerify(body.access_token, jwks, { issuer: 'https://elsewhere.example', algorithms: ['EdDSA'] })).rejects.toThrow();
    await expect(jwtVerify(body.access_token, jwks, { audience: 'some-other-api', algorithms: ['EdDSA'] })).rejects.toThrow();
  });

  it('after a key rotation, a fresh verifier accepts tokens of both the old and the new key', async () => {
    const before = await signupOverHttp();
    const oldKid = decodeProtectedHeader(before.access_token).kid;
    const newKid = await rotateSigningKey(t.db);
    await t.app.services.keys.load();

    const refreshed = await fetch(`${base}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: before.refresh_token }),
    });
    expect(refreshed.status).toBe(200);
    const after = (await refreshed.json()) as { access_token: string };
    expect(decodeProtectedHeader(after.access_token).kid).toBe(newKid);
    expect(newKid).not.toBe(oldKid);

    const verify = verifier();
    expect((await verify(before.access_token)).protectedHeader.kid).toBe(oldKid);
    expect((await verify(after.access_token)).protectedHeader.kid).toBe(newKid);
  });
});
