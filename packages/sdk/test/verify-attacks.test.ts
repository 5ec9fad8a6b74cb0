import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// The corpus Tenantry's own verifier is tested with (packages/server/test/token-attacks.test.ts).
import { ATTACKS, attackerKey, type Ctx, forge, issuerKey, now, USES_OTHER } from '../../server/test/helpers/token-forgery.js';
import { AccessTokenVerifier, TenantryAuthError } from '../src/index.js';
import { AUDIENCE, ISSUER, type Issuer, startIssuer } from './helpers/issuer.js';

/**
 * Tokens that only Tenantry's database can refuse: signed with the issuer's own key, with
 * claims that name a user or session that does not exist. Offline a tool cannot tell them
 * from real ones (it learns of ended sessions from events, `session.revoked`).
 */
const NEEDS_TENANTRY_STATE = new Set([
  'sub of a user that does not exist',
  'sid of a session that does not exist',
  'sub of another user with the victim sid',
]);

describe('the SDK verifier against the forged-token corpus of the server', () => {
  let issuer: Issuer;
  let attackerJwks: Server;
  let attackerFetches = 0;
  let keys: Pick<Ctx, 'server' | 'attacker' | 'jwksUrl'>;
  let verifier: AccessTokenVerifier;

  beforeAll(async () => {
    issuer = await startIssuer();
    const attacker = await attackerKey();
    attackerJwks = createServer((_req, res) => {
      attackerFetches++;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [attacker.jwk] }));
    });
    await new Promise<void>((resolve) => attackerJwks.listen(0, '127.0.0.1', resolve));
    const { port } = attackerJwks.address() as AddressInfo;
    keys = { server: issuerKey(issuer.kid, issuer.key), attacker, jwksUrl: `http://127.0.0.1:${port}/.well-known/jwks.json` };
    verifier = new AccessTokenVerifier({ issuer: ISSUER, audience: AUDIENCE, jwksUri: issuer.jwksUrl });
  });
  afterAll(async () => {
    await new Promise((resolve) => attackerJwks.close(resolve));
    await issuer.close();
  });

  const user = async () => {
    const access = await issuer.mint();
    return { id: decodeJwt(access).sub!, access, refresh: Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64url') };
  };
  const freshCtx = async (withOther: boolean): Promise<Ctx> => {
    const victim = await user();
    const other = withOther ? await user() : undefined;
    return { ...keys, victim, ...(other ? { other } : {}), claims: decodeJwt(victim.access) };
  };

  it('sanity: the forging helper makes tokens the verifier accepts when nothing is wrong with them', async () => {
    const c = await freshCtx(false);
    const p = await verifier.verify(await forge(c));
    expect(p).toMatchObject({ type: 'user', id: c.victim.id, orgId: c.claims.org_id, permissions: c.claims.permissions });
  });

  it('accepts a token within the 30 s clock tolerance and refuses one beyond it (frozen clock)', async () => {
    const c = await freshCtx(false);
    const at = now();
    const frozen = new AccessTokenVerifier({ issuer: ISSUER, audience: AUDIENCE, jwksUri: issuer.jwksUrl, now: () => at * 1000 });
    await expect(frozen.verify(await forge(c, { iat: at - 929, exp: at - 29 }))).resolves.toMatchObject({ id: c.victim.id });
    await expect(frozen.verify(await forge(c, { nbf: at + 29 }))).resolves.toMatchObject({ id: c.victim.id });
    await expect(frozen.verify(await forge(c, { iat: at - 931, exp: at - 31 }))).rejects.toMatchObject({ status: 401 });
    await expect(frozen.verify(await forge(c, { nbf: at + 31 }))).rejects.toMatchObject({ status: 401 });
  });

  it.each(ATTACKS.filter(([name]) => !NEEDS_TENANTRY_STATE.has(name)))('refuses %s with 401', async (name, make) => {
    const c = await freshCtx(USES_OTHER.has(name));
    const before = attackerFetches;
    const token = await make(c);
    const refused = await verifier.verify(token).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(refused).toBeInstanceOf(TenantryAuthError);
    expect((refused as TenantryAuthError).status).toBe(401);
    expect((refused as TenantryAuthError).code).toBe('UNAUTHENTICATED');
    expect(attackerFetches).toBe(before);
    // Not a poisoned cache: the victim's real token still verifies, as itself.
    await expect(verifier.verify(c.victim.access)).resolves.toMatchObject({ id: c.victim.id });
  });

  it('accepts, offline, exactly the issuer-signed tokens that only Tenantry’s database can refuse', async () => {
    const accepted: string[] = [];
    for (const [name, make] of ATTACKS) {
      const c = await freshCtx(USES_OTHER.has(name));
      if (
        await verifier.verify(await make(c)).then(
          () => true,
          () => false,
        )
      )
        accepted.push(name);
    }
    expect(new Set(accepted)).toEqual(NEEDS_TENANTRY_STATE);
  });

  it.each<[string, Record<string, unknown>]>([
    ['no principal', { principal: undefined }],
    ['principal platform_admin', { principal: 'platform_admin' }],
    ['principal system', { principal: 'system' }],
    ['no org_id', { org_id: undefined }],
    ['org_id null', { org_id: null }],
    ['no sub', { sub: undefined }],
    ['a user sub that is not a UUID', { sub: 'admin' }],
    ['no client_id', { client_id: undefined }],
    ['no iat', { iat: undefined }],
    ['a tool token whose sub is not its client_id', { principal: 'tool', sub: 'billing', client_id: 'crm' }],
    ['permissions not a list of strings', { permissions: 'crm:contacts:read' }],
    ['permissions with a number', { permissions: ['crm:contacts:read', 7] }],
    ['grant_id not a UUID', { grant_id: 'g1' }],
    ['act without sub', { act: {} }],
    ['act a string', { act: 'crm' }],
    ["Tenantry's own audience", { aud: 'https://tenantry.test/api' }],
    ['aud of another tool', { aud: 'https://billing.tools.test' }],
    ['iss with a trailing slash', { iss: `${ISSUER}/` }],
    ['iss that only starts like ours', { iss: `${ISSUER}.evil.example` }],
  ])('refuses a token signed by the issuer with %s', async (_name, changes) => {
    await expect(verifier.verify(await issuer.mint(changes))).rejects.toMatchObject({ status: 401, code: 'UNAUTHENTICATED' });
  });

  it('maps tool, grant-bound and delegated tokens to their principals', async () => {
    const org = crypto.randomUUID();
    const grant = crypto.randomUUID();
    const tool = await verifier.verify(
      await issuer.mint({
        principal: 'tool',
        sub: 'billing-client',
        client_id: 'billing-client',
        org_id: org,
        sid: undefined,
        permissions: undefined,
        scope: 'crm:contacts:read',
        grant_id: grant,
      }),
    );
    expect(tool).toMatchObject({ type: 'tool', id: 'billing-client', orgId: org, permissions: ['crm:contacts:read'], grantId: grant });
    const userId = crypto.randomUUID();
    const delegated = await verifier.verify(
      await issuer.mint({
        sub: userId,
        sid: undefined,
        org_id: org,
        act: { sub: 'billing-client' },
        grant_id: grant,
        client_id: 'billing-client',
      }),
    );
    expect(delegated).toMatchObject({ type: 'user', id: userId, orgId: org, grantId: grant, actor: { sub: 'billing-client' } });
    expect(Object.isFrozen(delegated) && Object.isFrozen(delegated.permissions)).toBe(true);
  });

  it('keeps a verified token until it expires, and no longer', async () => {
    let clock = Date.now();
    const v = new AccessTokenVerifier({ issuer: ISSUER, audience: AUDIENCE, jwksUri: issuer.jwksUrl, now: () => clock });
    const iat = Math.floor(clock / 1000);
    const token = await issuer.mint({ iat, exp: iat + 60 });
    const first = await v.verify(token);
    expect(await v.verify(token)).toBe(first); // the cached principal itself
    clock += 89_000; // 60 s lifetime + 29 s: still within the tolerance
    expect(await v.verify(token)).toBe(first);
    clock += 2_000;
    await expect(v.verify(token)).rejects.toMatchObject({ status: 401 });
  });
});
