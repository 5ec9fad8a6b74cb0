// The corpus of forged and malformed access tokens: Tenantry's own verifier refuses each
// (token-attacks.test.ts), and so does the tool SDK's (packages/sdk/test/verify-attacks.test.ts).
// Each attack makes a token from a context: a victim's real token and its claims, the
// issuer's signing key, and an attacker's key and JWKS URL.
import { createPublicKey, sign as edSign, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { calculateJwkThumbprint, decodeProtectedHeader, type JWK, type JWTHeaderParameters, type JWTPayload, SignJWT } from 'jose';

export const b64json = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
export const now = () => Math.floor(Date.now() / 1000);

export interface Ctx {
  victim: { id: string; access: string; refresh: string };
  /** A second user, signed up only for the attacks that borrow another identity (USES_OTHER). */
  other?: { id: string; access: string; refresh: string };
  /** The issuer's current signing key (Tenantry's, read from its database). */
  server: { kid: string; key: KeyObject; publicPem: string; x: Buffer };
  attacker: { kid: string; key: KeyObject; jwk: JWK };
  /** Claims of the victim's real token: a forged token with these and the server's key is valid. */
  claims: JWTPayload;
  jwksUrl: string;
}

/** Signs with jose; `header` replaces the protected header entirely. */
export const sign = (payload: JWTPayload, header: JWTHeaderParameters, key: KeyObject | Uint8Array) =>
  new SignJWT(payload).setProtectedHeader(header).sign(key);

/** Signs any header and payload text with an Ed25519 key, with no library checks in the way. */
export function rawSign(header: unknown, payload: unknown, key: KeyObject) {
  const input = `${b64json(header)}.${b64json(payload)}`;
  return `${input}.${edSign(null, Buffer.from(input), key).toString('base64url')}`;
}

export const serverHeader = (c: Ctx, extra: Partial<JWTHeaderParameters> = {}): JWTHeaderParameters => ({
  alg: 'EdDSA',
  typ: 'at+jwt',
  kid: c.server.kid,
  ...extra,
});

/** The victim's claims re-signed with the server's own key, with `changes` applied (undefined removes a claim). */
export function forge(c: Ctx, changes: Record<string, unknown> = {}, header: Partial<JWTHeaderParameters> = {}) {
  const payload: Record<string, unknown> = { ...c.claims, jti: crypto.randomUUID() };
  for (const [k, v] of Object.entries(changes)) {
    if (v === undefined) delete payload[k];
    else payload[k] = v;
  }
  return sign(payload, serverHeader(c, header), c.server.key);
}

export function withPayload(token: string, payload: unknown) {
  const [h, , s] = token.split('.');
  return `${h}.${b64json(payload)}.${s}`;
}

export type Attack = [name: string, make: (c: Ctx) => string | Promise<string>];

export const USES_OTHER = new Set([
  'payload re-encoded with another sub, original signature',
  'signature of another valid token',
  'sub of another user with the victim sid',
]);

export const ATTACKS: Attack[] = [
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

/** An attacker's Ed25519 key, named by its thumbprint, with its public JWK (served from the attacker's JWKS). */
export async function attackerKey(): Promise<Ctx['attacker']> {
  const pair = generateKeyPairSync('ed25519');
  const jwk = pair.publicKey.export({ format: 'jwk' }) as JWK;
  const kid = await calculateJwkThumbprint(jwk);
  return { kid, key: pair.privateKey, jwk: { ...jwk, kid, alg: 'EdDSA', use: 'sig' } };
}

/** The issuer key parts the attacks use, from its private key. */
export function issuerKey(kid: string, key: KeyObject): Ctx['server'] {
  const pub = createPublicKey(key);
  return {
    kid,
    key,
    publicPem: pub.export({ type: 'spki', format: 'pem' }) as string,
    x: Buffer.from((pub.export({ format: 'jwk' }) as JWK).x!, 'base64url'),
  };
}
