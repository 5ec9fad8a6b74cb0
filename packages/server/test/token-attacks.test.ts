import { createPrivateKey } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startApp, type TestApp } from './helpers/app.js';
import { ENGINES } from './helpers/db.js';
import { ATTACKS, attackerKey, type Ctx, forge, issuerKey, now, USES_OTHER } from './helpers/token-forgery.js';
import { signupUser } from './helpers/users.js';

// Every token below is presented to PATCH /v1/me {"name":"pwned"}: each must be a
// 401 UNAUTHENTICATED problem (never a 500), and the user's name must not change.
// Each test signs up its own victim (and other user): an attack that got through
// fails its own test only, not every test after it.

describe.each(ENGINES)('hostile access tokens (%s)', (engine) => {
  let t: TestApp;
  let keys: Pick<Ctx, 'server' | 'attacker' | 'jwksUrl'>;
  let jwksServer: Server;
  let jwksRequests = 0;

  beforeAll(async () => {
    t = await startApp(engine);

    const attacker = await attackerKey();

    jwksServer = createServer((_req, res) => {
      jwksRequests++;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [attacker.jwk] }));
    });
    await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
    const { port } = jwksServer.address() as AddressInfo;

    const row = await t.db.kysely
      .selectFrom('signing_keys')
      .select(['kid', 'private_pkcs8'])
      .where('retired_at', 'is', null)
      .executeTakeFirstOrThrow();
    const server = issuerKey(row.kid, createPrivateKey(row.private_pkcs8));

    keys = { server, attacker, jwksUrl: `http://127.0.0.1:${port}/.well-known/jwks.json` };
  });

  /** The shared keys with a victim (and, when asked, another user) of this test's own. */
  const freshCtx = async (withOther = false): Promise<Ctx> => {
    const victim = await signupUser(t.app);
    const other = withOther ? await signupUser(t.app) : undefined;
    return { ...keys, victim, ...(other ? { other } : {}), claims: decodeJwt(victim.access) };
  };

  afterAll(async () => {
    await new Promise((resolve) => jwksServer?.close(resolve));
    await t?.close();
  });

  const nameOf = async (id: string) =>
    (await t.db.kysely.selectFrom('users').select('name').where('id', '=', id).executeTakeFirstOrThrow()).name;

  it('sanity: the forging helper makes tokens the server accepts when nothing is wrong with them', async () => {
    const c = await freshCtx();
    expect(decodeProtectedHeader(c.victim.access).kid).toBe(c.server.kid);
    const forged = await forge(c);
    const res = await t.app.inject({ method: 'GET', url: '/v1/me', headers: { authorization: `Bearer ${forged}` } });
    expect(res.statusCode).toBe(200);
    expect(res.json().id).toBe(c.victim.id);
  });

  it('accepts a correctly signed token within the 30 s clock tolerance (exp 5 s ago, nbf 5 s ahead)', async () => {
    const c = await freshCtx();
    for (const changes of [{ iat: now() - 905, exp: now() - 5 }, { nbf: now() + 5 }]) {
      const token = await forge(c, changes);
      const res = await t.app.inject({ method: 'GET', url: '/v1/me', headers: { authorization: `Bearer ${token}` } });
      expect(res.statusCode, JSON.stringify(changes)).toBe(200);
    }
  });

  it('with the clock frozen: 29 s past exp is accepted, 31 s past exp is refused (the 30 s tolerance edge)', async () => {
    const c = await freshCtx();
    const frozen = Date.now();
    const at = Math.floor(frozen / 1000);
    // Sign before freezing so only the verifier sees the fixed clock.
    const within = await forge(c, { iat: at - 929, exp: at - 29 });
    const beyond = await forge(c, { iat: at - 931, exp: at - 31 });
    const notYet = await forge(c, { nbf: at + 31 });
    vi.useFakeTimers({ toFake: ['Date'], now: frozen });
    try {
      const me = (token: string) => t.app.inject({ method: 'GET', url: '/v1/me', headers: { authorization: `Bearer ${token}` } });
      expect((await me(within)).statusCode).toBe(200);
      const refused = await me(beyond);
      expect(refused.statusCode).toBe(401);
      expect(refused.json().code).toBe('UNAUTHENTICATED');
      expect((await me(notYet)).statusCode).toBe(401);
    } finally {
      vi.useRealTimers();
    }
  });

  it.each(ATTACKS)('refuses %s with 401 UNAUTHENTICATED and changes nothing', async (name, make) => {
    const c = await freshCtx(USES_OTHER.has(name));
    const fetchesBefore = jwksRequests;
    const token = await make(c);
    const before = await nameOf(c.victim.id);
    const res = await t.app.inject({
      method: 'PATCH',
      url: '/v1/me',
      headers: { authorization: `Bearer ${token}` },
      payload: { name: 'pwned' },
    });
    expect(res.statusCode, res.body).toBe(401);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    const body = res.json();
    expect(body).toMatchObject({ status: 401, code: 'UNAUTHENTICATED', request_id: res.headers['x-request-id'] });
    expect(res.body).not.toMatch(/stack|select |at .*\.ts:/i);
    expect(await nameOf(c.victim.id)).toBe(before);
    expect(await nameOf(c.victim.id)).toBe('Test User');
    if (c.other) expect(await nameOf(c.other.id)).toBe('Test User');
    expect(jwksRequests).toBe(fetchesBefore);
    // The attack did not poison the verified-token cache: the victim's real token still works.
    const real = await t.app.inject({ method: 'GET', url: '/v1/me', headers: { authorization: `Bearer ${c.victim.access}` } });
    expect(real.statusCode).toBe(200);
    expect(real.json().name).toBe('Test User');
  });

  it('never fetches anything from the jku / x5u server', async () => {
    const c = await freshCtx();
    const fetchesBefore = jwksRequests;
    for (const [name, make] of ATTACKS.filter(([n]) => /jku|x5u|jwk/.test(n))) {
      const res = await t.app.inject({
        method: 'PATCH',
        url: '/v1/me',
        headers: { authorization: `Bearer ${await make(c)}` },
        payload: { name: 'pwned' },
      });
      expect(res.statusCode, name).toBe(401);
    }
    expect(jwksRequests).toBe(fetchesBefore);
  });

  it.each([
    ['no Authorization header', undefined],
    ['an empty Authorization header', ''],
    ['"Bearer" alone', 'Bearer'],
    ['"Bearer " with nothing after', 'Bearer '],
    ['Basic credentials', `Basic ${Buffer.from('a:b').toString('base64')}`],
    ['a token with no scheme', 'eyJhbGciOiJub25lIn0.e30.'],
    ['two bearer tokens', 'Bearer a.b.c, Bearer d.e.f'],
    ['a 20 KB header', `Bearer ${'A'.repeat(20 * 1024)}.A.A`],
  ])('refuses %s with 401', async (_name, authorization) => {
    const c = await freshCtx();
    const res = await t.app.inject({
      method: 'PATCH',
      url: '/v1/me',
      headers: authorization === undefined ? {} : { authorization },
      payload: { name: 'pwned' },
    });
    expect(res.statusCode).toBe(401);
    expect(res.json().code).toBe('UNAUTHENTICATED');
    expect(await nameOf(c.victim.id)).toBe('Test User');
  });
});
