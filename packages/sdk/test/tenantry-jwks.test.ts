import type { AddressInfo } from 'node:net';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rotateSigningKey } from '../../server/src/modules/oauth/keys.js';
import { startApp, type TestApp } from '../../server/test/helpers/app.js';
import { signupUser } from '../../server/test/helpers/users.js';
import { createTenantry } from '../src/index.js';

// The SDK against a real Tenantry's published JWKS over HTTP: keys in Tenantry's format,
// tokens signed with Tenantry's own current key (by kid), through a key rotation.

const TOOL = 'https://crm.tools.test';

describe('verification against a real Tenantry JWKS', () => {
  let t: TestApp;
  let base: string;
  beforeAll(async () => {
    t = await startApp('pglite');
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
  });
  afterAll(() => t?.close());

  /** A token for the tool, as Tenantry signs it: its current key, its issuer, the tool's audience. */
  const toolToken = (claims: Record<string, unknown> = {}) => {
    const { kid, key } = t.app.services.keys.signingKey();
    return new SignJWT({
      client_id: 'crm-client',
      principal: 'tool',
      org_id: crypto.randomUUID(),
      permissions: ['crm:contacts:read'],
      ...claims,
    })
      .setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', kid })
      .setIssuer(t.app.config.tokenIssuer)
      .setAudience(TOOL)
      .setSubject('crm-client')
      .setIssuedAt()
      .setExpirationTime('600s')
      .setJti(crypto.randomUUID())
      .sign(key);
  };

  it('verifies a token signed with Tenantry’s key, fetched from its /.well-known/jwks.json, across a rotation', async () => {
    let clock = Date.now();
    const tenantry = createTenantry({
      issuer: t.app.config.tokenIssuer,
      audience: TOOL,
      jwksUri: `${base}/.well-known/jwks.json`,
      now: () => clock,
    });
    await expect(tenantry.verifyAccessToken(await toolToken())).resolves.toMatchObject({ type: 'tool', id: 'crm-client' });
    await rotateSigningKey(t.db);
    await t.app.services.keys.load();
    clock += 60_000; // the next minute: an unknown kid may fetch the JWKS again
    await expect(tenantry.verifyAccessToken(await toolToken())).resolves.toMatchObject({ type: 'tool' });
  });

  it('refuses the token Tenantry issues for its own API: it is not for this tool', async () => {
    const tenantry = createTenantry({ issuer: t.app.config.tokenIssuer, audience: TOOL, jwksUri: `${base}/.well-known/jwks.json` });
    const user = await signupUser(t.app);
    await expect(tenantry.verifyAccessToken(user.access)).rejects.toMatchObject({ status: 401 });
  });
});
