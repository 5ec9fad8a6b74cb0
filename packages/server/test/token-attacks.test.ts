import { createPrivateKey, createPublicKey, sign as edSign, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  calculateJwkThumbprint,
  decodeJwt,
  decodeProtectedHeader,
  type JWK,
  type JWTHeaderParameters,
  type JWTPayload,
  SignJWT,
} from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startApp, type TestApp } from './helpers/app.js';
import { ENGINES } from './helpers/db.js';
import { type SignedUp, signupUser } from './helpers/users.js';

// Every token below is presented to PATCH /v1/me {"name":"pwned"}: each must be a
// 401 UNAUTHENTICATED problem (never a 500), and the user's name must not change.
// Each test signs up its own victim (and other user): an attack that got through
// fails its own test only, not every test after it.

const b64json = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);

interface Ctx {
  victim: SignedUp;
  /** A second user, signed up only for the attacks that borrow another identity (USES_OTHER). */
  other?: SignedUp;
  /** The server's current signing key, read from the database. */
  server: { kid: string; key: KeyObject; publicPem: string; x: Buffer };
  attacker: { kid: string; key: KeyObject; jwk: JWK };
  /** Claims of the victim's real token: a forged token with these and the server's key is valid. */
  claims: JWTPayload;
  jwksUrl: string;
}

/** Signs with jose; `header` replaces the protected header entirely. */
const sign = (payload: JWTPayload, header: JWTHeaderParameters, key: KeyObject | Uint8Array) =>
  new SignJWT(payload).setProtectedHeader(header).sign(key);

/** Signs any header and payload text with an Ed25519 key, with no library checks in the way. */
function rawSign(header: unknown, payload: unknown, key: KeyObject) {
  const input = `${b64json(header)}.${b64json(payload)}`;
  return `${input}.${edSign(null, Buffer.from(input), key).toString('base64url')}`;
}

const serverHeader = (c: Ctx, extra: Partial<JWTHeaderParameters> = {}): JWTHeaderParameters => ({
  alg: 'EdDSA',
  typ: 'at+jwt',
  kid: c.server.kid,
  ...extra,
});

/** The victim's claims re-signed with the server's own key, with `changes` applied (undefined removes a claim). */
function forge(c: Ctx, changes: Record<string, unknown> = {}, header: Partial<JWTHeaderParameters> = {}) {
  const payload: Record<string, unknown> = { ...c.claims, jti: crypto.randomUUID() };
  for (const [k, v] of Object.entries(changes)) {
    if (v === undefined) delete payload[k];
    else payload[k] = v;
  }
  return sign(payload, serverHeader(c, header), c.server.key);
}

function withPayload(token: string, payload: unknown) {
  const [h, , s] = token.split('.');
  return `${h}.${b64json(payload)}.${s}`;
}

type Attack = [name: string, make: (c: Ctx) => string | Promise<string>];

const USES_OTHER = new Set([
  'payload re-encoded with another sub, original signature',
  'signature of another valid token',
  'sub of another user with the victim sid',
]);

const ATTACKS: Attack[] = [
  // Algorithm confusion
  ['alg none, empty signature', (c) => `${b64json({ alg: 'none', typ: 'at+jwt' })}.${b64json(c.claims)}.`],
  [
    'alg none, with the original signature kept',
    (c) => `${b64json({ alg: 'none', typ: 'at+jwt', kid: c.server.kid })}.${b64json(c.claims)}.${c.victim.access.split('.')[2]}`,
  ],
  ['alg "None" (case variant)', (c) => `${b64json({ alg: 'None', typ: 'at+jwt' })}.${b64json(c.claims)}.AAAA`],
  [
    'HS256 signed with the public key PEM as the HMAC secret',
    (c) => sign({ ...c.claims }, { alg: 'HS256', typ: 'at+jwt', kid: c.server.kid }, Buffer.from(c.server.publicPem)),
  ],
  [
    'HS256 signed with the raw JWK x bytes as the HMAC secret',
    (c) => sign({ ...c.claims }, { alg: 'HS256', typ: 'at+jwt', kid: c.server.kid }, c.server.x),
  ],
  [
    'HS256 signed with the base64url text of x as the HMAC secret',
    (c) => sign({ ...c.claims }, { alg: 'HS256', typ: 'at+jwt', kid: c.server.kid }, Buffer.from(c.server.x.toString('base64url'))),
  ],
  [
    'a real signature under a non-pinned alg name (Ed25519)',
    (c) => sign({ ...c.claims }, serverHeader(c, { alg: 'Ed25519' }), c.server.key),
  ],

  // Tampering
  ['payload re-encoded with another sub, original signature', (c) => withPayload(c.victim.access, { ...c.claims, sub: c.other!.id })],
  [
    'payload re-encoded with org_role owner, original signature',
    (c) =>
      withPayload(c.victim.access, {
        ...c.claims,
        org_id: crypto.randomUUID(),
        org_role: 'owner',
        permissions: ['organization:delete', 'owners:manage'],
      }),
  ],
  [
    'payload re-encoded with a later exp, original signature',
    (c) => withPayload(c.victim.access, { ...c.claims, exp: (c.claims.exp as number) + 86_400 }),
  ],
  [
    'header re-encoded with typ JWT, original signature',
    (c) => {
      const [, p, s] = c.victim.access.split('.');
      return `${b64json({ ...decodeProtectedHeader(c.victim.access), typ: 'JWT' })}.${p}.${s}`;
    },
  ],
  ['signature truncated', (c) => c.victim.access.slice(0, -4)],
  ['signature of another valid token', (c) => `${c.victim.access.split('.').slice(0, 2).join('.')}.${c.other!.access.split('.')[2]}`],

  // Key selection
  ['unknown kid', (c) => forge(c, {}, { kid: 'no-such-key' })],
  ['missing kid', (c) => sign({ ...c.claims }, { alg: 'EdDSA', typ: 'at+jwt' }, c.server.key)],
  ['kid with SQL', (c) => forge(c, {}, { kid: "' OR 1=1 --" })],
  ['kid with a path', (c) => forge(c, {}, { kid: '../../../../etc/passwd' })],
  ['kid __proto__', (c) => forge(c, {}, { kid: '__proto__' })],
  ['kid that is a number', (c) => sign({ ...c.claims }, serverHeader(c, { kid: 1 as unknown as string }), c.server.key)],
  [
    'attacker key with jku to the attacker JWKS',
    (c) => sign({ ...c.claims }, { alg: 'EdDSA', typ: 'at+jwt', kid: c.attacker.kid, jku: c.jwksUrl }, c.attacker.key),
  ],
  [
    'attacker key with jku, claiming the server kid',
    (c) => sign({ ...c.claims }, { alg: 'EdDSA', typ: 'at+jwt', kid: c.server.kid, jku: c.jwksUrl }, c.attacker.key),
  ],
  [
    'attacker key with x5u to the attacker server',
    (c) => sign({ ...c.claims }, { alg: 'EdDSA', typ: 'at+jwt', kid: c.attacker.kid, x5u: c.jwksUrl }, c.attacker.key),
  ],
  [
    'attacker key with an embedded jwk',
    (c) => sign({ ...c.claims }, { alg: 'EdDSA', typ: 'at+jwt', kid: c.attacker.kid, jwk: c.attacker.jwk }, c.attacker.key),
  ],
  [
    'attacker key with an embedded jwk, claiming the server kid',
    (c) => sign({ ...c.claims }, { alg: 'EdDSA', typ: 'at+jwt', kid: c.server.kid, jwk: c.attacker.jwk }, c.attacker.key),
  ],
  ['attacker key, no hints', (c) => sign({ ...c.claims }, { alg: 'EdDSA', typ: 'at+jwt', kid: c.attacker.kid }, c.attacker.key)],

  // Claims (signed with the server's real key)
  ['expired 120 s ago', (c) => forge(c, { iat: now() - 1000, exp: now() - 120 })],
  ['expired 31+ s ago (just beyond tolerance, with margin)', (c) => forge(c, { iat: now() - 1000, exp: now() - 45 })],
  ['nbf 120 s in the future', (c) => forge(c, { nbf: now() + 120 })],
  ['nbf 45 s in the future', (c) => forge(c, { nbf: now() + 45 })],
  ['wrong iss', (c) => forge(c, { iss: 'https://evil.example' })],
  ['missing iss', (c) => forge(c, { iss: undefined })],
  ['wrong aud', (c) => forge(c, { aud: 'https://other-service.example' })],
  ['aud as a list without ours', (c) => forge(c, { aud: ['https://a.example', 'https://b.example'] })],
  ['missing exp', (c) => forge(c, { exp: undefined })],
  ['missing sid', (c) => forge(c, { sid: undefined })],
  ['missing client_id', (c) => forge(c, { client_id: undefined })],
  ['sub that is SQL', (c) => forge(c, { sub: "' OR 1=1 --" })],
  ['sub of a user that does not exist', (c) => forge(c, { sub: crypto.randomUUID() })],
  ['sid that is not a UUID', (c) => forge(c, { sid: '../../etc/passwd' })],
  ['sid of a session that does not exist', (c) => forge(c, { sid: crypto.randomUUID() })],
  ['sub of another user with the victim sid', (c) => forge(c, { sub: c.other!.id })],
  ['org_id that is not a UUID', (c) => forge(c, { org_id: "x' OR '1'='1", org_role: 'owner' })],
  ['typ JWT', (c) => forge(c, {}, { typ: 'JWT' })],
  ['missing typ', (c) => sign({ ...c.claims }, { alg: 'EdDSA', kid: c.server.kid }, c.server.key)],
  [
    'crit header naming an unknown extension',
    (c) => rawSign(serverHeader(c, { crit: ['x-unknown'], 'x-unknown': true } as Partial<JWTHeaderParameters>), c.claims, c.server.key),
  ],
  [
    'alg none in a header that otherwise matches, signed with the real key',
    (c) => rawSign({ ...serverHeader(c), alg: 'none' }, c.claims, c.server.key),
  ],

  // Not an access token at all
  ['a refresh token', (c) => c.victim.refresh],
  ['two segments', (c) => c.victim.access.split('.').slice(0, 2).join('.')],
  ['four segments', (c) => `${c.victim.access}.${c.victim.access.split('.')[2]}`],
  ['bad base64 (characters outside the alphabet)', (c) => c.victim.access.replace('.', '.%%%')],
  ['bad base64 (impossible length)', (c) => `${c.victim.access.split('.')[0]}.A.${c.victim.access.split('.')[2]}`],
  [
    'standard base64 with padding',
    (c) =>
      c.victim.access
        .split('.')
        .map((s) => Buffer.from(s, 'base64url').toString('base64'))
        .join('.'),
  ],
  ['non-JSON header', (c) => `${b64json('not json at all')}.${b64json(c.claims)}.${c.victim.access.split('.')[2]}`],
  ['header JSON array', (c) => `${b64json([1, 2])}.${b64json(c.claims)}.${c.victim.access.split('.')[2]}`],
  ['payload not JSON, signed with the real key', (c) => rawSign(serverHeader(c), '{{{', c.server.key)],
  ['payload a JSON array, signed with the real key', (c) => rawSign(serverHeader(c), [c.claims], c.server.key)],
  ['empty token', () => ''],
  ['only dots', () => '..'],
  [
    'a 10 KB header',
    (c) =>
      `${b64json({ alg: 'EdDSA', typ: 'at+jwt', kid: c.server.kid, pad: 'x'.repeat(10 * 1024) })}.${b64json(c.claims)}.${c.victim.access.split('.')[2]}`,
  ],
];

describe.each(ENGINES)('hostile access tokens (%s)', (engine) => {
  let t: TestApp;
  let keys: Pick<Ctx, 'server' | 'attacker' | 'jwksUrl'>;
  let jwksServer: Server;
  let jwksRequests = 0;

  beforeAll(async () => {
    t = await startApp(engine);

    const attackerPair = generateKeyPairSync('ed25519');
    const attackerJwk = attackerPair.publicKey.export({ format: 'jwk' }) as JWK;
    const attackerKid = await calculateJwkThumbprint(attackerJwk);
    const attacker = {
      kid: attackerKid,
      key: attackerPair.privateKey,
      jwk: { ...attackerJwk, kid: attackerKid, alg: 'EdDSA', use: 'sig' },
    };

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
    const key = createPrivateKey(row.private_pkcs8);
    const pub = createPublicKey(key);
    const server = {
      kid: row.kid,
      key,
      publicPem: pub.export({ type: 'spki', format: 'pem' }) as string,
      x: Buffer.from((pub.export({ format: 'jwk' }) as JWK).x!, 'base64url'),
    };

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
