import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { jwtVerify } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { AccessTokenVerifier, type KeySource, StaticKeySet } from '../src/index.js';
import { hasValidEd25519Signature, parseSignedToken, verifiedClaims } from '../src/jws.js';
import { AUDIENCE, ISSUER, jwkOf, userClaims } from './helpers/issuer.js';

// Each check of the token's shape, header and claims, on tokens whose signature is valid
// (made with the key the verifier trusts), so that the check under test is what refuses.

const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
const AT = Math.floor(Date.now() / 1000);
const HEADER = { alg: 'EdDSA', typ: 'at+jwt', kid: 'k1' };

const { privateKey: issuerKey, publicKey: issuerPublic } = generateKeyPairSync('ed25519');
/** Signs the segments exactly as given (any text), with a valid signature. */
const signSegments = (header: string, payload: string, key: KeyObject = issuerKey) =>
  `${header}.${payload}.${sign(null, Buffer.from(`${header}.${payload}`), key).toString('base64url')}`;
const claims = (changes: Record<string, unknown> = {}) => {
  const c: Record<string, unknown> = { ...userClaims(), iat: AT, exp: AT + 900 };
  for (const [k, v] of Object.entries(changes)) {
    if (v === undefined) delete c[k];
    else c[k] = v;
  }
  return c;
};
/** `o` with a filler field so that its JSON is `remainder` bytes past a multiple of three (what base64 padding depends on). */
const sized = (o: Record<string, unknown>, remainder: 0 | 1 | 2) => {
  const out = { ...o, fill: '' };
  while (JSON.stringify(out).length % 3 !== remainder) out.fill += 'x';
  return out;
};
/** A header whose standard base64 holds `+` or `/` (refused in base64url). */
const standardBase64Header = () => {
  for (let n = 1; ; n++) {
    const text = Buffer.from(JSON.stringify({ ...HEADER, x: '?'.repeat(n) }))
      .toString('base64')
      .replaceAll('=', '');
    if (/[+/]/.test(text)) return text;
  }
};
const token = (changes: Record<string, unknown> = {}, header: Record<string, unknown> = {}) =>
  signSegments(b64({ ...HEADER, ...header }), b64(claims(changes)));

let keys: StaticKeySet;
let verifier: AccessTokenVerifier;
beforeAll(async () => {
  keys = await StaticKeySet.from({ keys: [jwkOf('k1', issuerPublic)] });
  verifier = new AccessTokenVerifier({ issuer: ISSUER, audience: AUDIENCE, keys, cacheSize: 0, now: () => AT * 1000 });
});

const refused = (t: string, v = verifier) => expect(v.verify(t)).rejects.toMatchObject({ status: 401, code: 'UNAUTHENTICATED' });
const accepted = (t: string, v = verifier) => expect(v.verify(t)).resolves.toMatchObject({ type: 'user' });

/** Refused tokens, each valid but for one thing. */
const REFUSED: Array<[string, () => string]> = [
  ['two segments', () => token().split('.').slice(0, 2).join('.')],
  ['four segments', () => `${token()}.${token().split('.')[2]}`],
  ['a padded header', () => signSegments(`${b64(sized(HEADER, 2))}=`, b64(claims()))],
  ['a header in standard base64', () => signSegments(standardBase64Header(), b64(claims()))],
  ['a header of an impossible length', () => signSegments(`${b64(sized(HEADER, 0))}A`, b64(claims()))],
  ['a header with whitespace', () => signSegments(` ${b64(HEADER)}`, b64(claims()))],
  [
    'a header that is not UTF-8',
    () =>
      signSegments(
        Buffer.concat([Buffer.from('{"alg":"EdDSA","typ":"at+jwt","kid":"k1","x":"'), Buffer.from([0xff]), Buffer.from('"}')]).toString(
          'base64url',
        ),
        b64(claims()),
      ),
  ],
  ['a header that is not JSON', () => signSegments(b64('{alg: EdDSA}'), b64(claims()))],
  ['a header that is a JSON array', () => signSegments(b64([HEADER]), b64(claims()))],
  ['a header that is JSON null', () => signSegments(b64('null'), b64(claims()))],
  ['a header that is a JSON string', () => signSegments(b64('"EdDSA"'), b64(claims()))],
  ['crit naming an unknown extension', () => token({}, { crit: ['x-unknown'], 'x-unknown': true })],
  ['crit b64 (understood by none of the checks)', () => token({}, { crit: ['b64'], b64: true })],
  ['crit b64 false (an unencoded payload)', () => token({}, { crit: ['b64'], b64: false })],
  ['crit not a list', () => token({}, { crit: 'b64', b64: true })],
  ['an empty crit', () => token({}, { crit: [] })],
  ['alg none', () => token({}, { alg: 'none' })],
  ['alg Ed25519 (a name not pinned)', () => token({}, { alg: 'Ed25519' })],
  ['alg eddsa (case)', () => token({}, { alg: 'eddsa' })],
  ['no alg', () => token({}, { alg: undefined })],
  ['no kid', () => token({}, { kid: undefined })],
  ['a kid that is a number', () => token({}, { kid: 1 })],
  ['an unknown kid', () => token({}, { kid: 'k2' })],
  ['a signature by another key', () => signSegments(b64(HEADER), b64(claims()), generateKeyPairSync('ed25519').privateKey)],
  ['a padded signature', () => `${token()}==`],
  ['a signature with a character outside base64url', () => `${token().slice(0, -1)}+`],
  ['an empty signature', () => `${token().split('.').slice(0, 2).join('.')}.`],
  ['a signature cut short', () => token().slice(0, -2)],
  ['a padded payload', () => signSegments(b64(HEADER), `${b64(sized(claims(), 1))}==`)],
  ['a payload of an impossible length', () => signSegments(b64(HEADER), `${b64(sized(claims(), 0))}A`)],
  ['a payload that is not JSON', () => signSegments(b64(HEADER), b64('{{{'))],
  ['a payload that is a JSON array', () => signSegments(b64(HEADER), b64([claims()]))],
  ['a payload that is JSON null', () => signSegments(b64(HEADER), b64('null'))],
  ['a payload that is a JSON number', () => signSegments(b64(HEADER), b64('1'))],
  ['no typ', () => token({}, { typ: undefined })],
  ['typ JWT', () => token({}, { typ: 'JWT' })],
  ['typ application/jwt', () => token({}, { typ: 'application/jwt' })],
  ['typ a list', () => token({}, { typ: ['at+jwt'] })],
  ...['iss', 'aud', 'exp', 'iat', 'sub', 'client_id', 'principal', 'org_id'].map((claim): [string, () => string] => [
    `no ${claim}`,
    () => token({ [claim]: undefined }),
  ]),
  ['iss with a trailing slash', () => token({ iss: `${ISSUER}/` })],
  ['iss in another case', () => token({ iss: ISSUER.toUpperCase() })],
  ['iss as a list holding the issuer', () => token({ iss: [ISSUER] })],
  ['aud of another tool', () => token({ aud: 'https://billing.tools.test' })],
  ['aud as a list without ours', () => token({ aud: ['https://a.test', 'https://b.test'] })],
  ['aud with a trailing slash', () => token({ aud: `${AUDIENCE}/` })],
  ['aud as an object', () => token({ aud: { [AUDIENCE]: true } })],
  ['iat a string', () => token({ iat: String(AT) })],
  ['nbf a string', () => token({ nbf: 'soon' })],
  ['nbf null', () => token({ nbf: null })],
  ['exp a string', () => token({ exp: String(AT + 900) })],
  ['exp null', () => token({ exp: null })],
  ['nbf 31 s ahead', () => token({ nbf: AT + 31 })],
  ['exp 30 s ago (the tolerance reached)', () => token({ iat: AT - 900, exp: AT - 30 })],
];

const ACCEPTED: Array<[string, () => string]> = [
  ['a token as Tenantry issues it', () => token()],
  ['typ in another case', () => token({}, { typ: 'AT+JWT' })],
  ['typ as the full media type', () => token({}, { typ: 'application/at+jwt' })],
  ['aud as a list naming ours', () => token({ aud: ['https://other.test', AUDIENCE] })],
  ['nbf 30 s ahead (within the tolerance)', () => token({ nbf: AT + 30 })],
  ['exp 29 s ago (within the tolerance)', () => token({ iat: AT - 900, exp: AT - 29 })],
  ['a header naming keys elsewhere (never followed)', () => token({}, { jku: 'https://evil.test/jwks', x5u: 'https://evil.test/x5' })],
];

describe('the checks of an access token', () => {
  it.each(REFUSED)('refuses a token with %s', (_name, make) => refused(make()));
  it.each(ACCEPTED)('accepts %s', (_name, make) => accepted(make()));

  it('says an expired token has expired, and any other refusal that it is invalid', async () => {
    await expect(verifier.verify(token({ iat: AT - 900, exp: AT - 31 }))).rejects.toMatchObject({
      message: 'The access token has expired',
    });
    await expect(verifier.verify(token({ nbf: AT + 31 }))).rejects.toMatchObject({ message: 'The access token is invalid' });
  });

  it('verifies only with an Ed25519 key, whatever a key source hands it', async () => {
    const ed448 = generateKeyPairSync('ed448');
    const lenient: KeySource = { key: async () => ed448.publicKey };
    const v = new AccessTokenVerifier({ issuer: ISSUER, audience: AUDIENCE, keys: lenient, cacheSize: 0, now: () => AT * 1000 });
    await refused(signSegments(b64(HEADER), b64(claims()), ed448.privateKey), v);
  });

  // The verdicts of jose's jwtVerify with the options this verifier passed it before it
  // checked tokens itself: the same, but where the SDK is stricter on purpose.
  const STRICTER = new Set([
    'a padded header',
    'a header with whitespace',
    'a padded signature',
    'a padded payload',
    'crit b64 (understood by none of the checks)',
  ]);
  it('gives the verdicts jose gave, except where it is stricter on purpose', async () => {
    const joseVerdict = (t: string) =>
      jwtVerify(t, (h) => keys.key(h.kid as string), {
        algorithms: ['EdDSA'],
        typ: 'at+jwt',
        issuer: ISSUER,
        audience: AUDIENCE,
        clockTolerance: 30,
        requiredClaims: ['iss', 'aud', 'exp', 'iat', 'sub', 'client_id', 'principal', 'org_id'],
        currentDate: new Date(AT * 1000),
      }).then(
        () => true,
        () => false,
      );
    const differ: string[] = [];
    for (const [name, make] of [...REFUSED, ...ACCEPTED]) {
      const t = make();
      const sdk = await verifier.verify(t).then(
        () => true,
        () => false,
      );
      if (sdk !== (await joseVerdict(t)) && !(STRICTER.has(name) && !sdk)) differ.push(name);
    }
    expect(differ).toEqual([]);
  });
});

// Checks that the verifier's later ones would also catch (a header or payload that is no
// object has no alg, no claims): refused at once, by the check itself.
describe('the JWS parts', () => {
  const rules = { typ: 'at+jwt', issuer: ISSUER, audience: AUDIENCE, required: ['sub'], clockToleranceSeconds: 30, now: AT * 1000 };
  it.each([
    ['a JSON array', [HEADER]],
    ['JSON null', null],
    ['a JSON string', 'EdDSA'],
  ])('refuses a header that is %s', (_name, header) => {
    expect(() => parseSignedToken(signSegments(b64(JSON.stringify(header)), b64(claims())), 'EdDSA')).toThrow(
      'The header is not a JSON object',
    );
  });
  it.each([
    ['a JSON array', [claims()]],
    ['JSON null', null],
    ['a JSON number', 1],
  ])('refuses a payload that is %s', (_name, payload) => {
    const signed = parseSignedToken(signSegments(b64(HEADER), b64(JSON.stringify(payload))), 'EdDSA');
    expect(() => verifiedClaims(signed, rules)).toThrow('The payload is not a JSON object');
  });
  it('refuses a payload with a character outside base64url before any signature is checked (as Latin-1, U+0100 + c would pass for the signed c)', () => {
    const signed = token();
    const [header, payload, signature] = signed.split('.') as [string, string, string];
    const lookalike = String.fromCharCode(0x100 + payload.charCodeAt(0));
    expect(Buffer.from(lookalike, 'latin1').toString('latin1')).toBe(payload[0]);
    const forged = `${header}.${lookalike}${payload.slice(1)}.${signature}`;
    expect(() => parseSignedToken(forged, 'EdDSA')).toThrow('The payload is not base64url');
    // The signature check itself tells the two apart once both are ASCII.
    expect(hasValidEd25519Signature(parseSignedToken(signed, 'EdDSA'), issuerPublic)).toBe(true);
  });
  it('refuses claims without one that is required, whatever else holds', () => {
    expect(verifiedClaims(parseSignedToken(token(), 'EdDSA'), rules)).toMatchObject({ iss: ISSUER });
    expect(() => verifiedClaims(parseSignedToken(token({ sub: undefined }), 'EdDSA'), rules)).toThrow('The token has no sub claim');
  });
});
