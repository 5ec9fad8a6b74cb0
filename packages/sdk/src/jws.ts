// The compact JWS and JWT checks of an access token (RFC 7515, 7519, 9068), with the EdDSA
// signature checked by node:crypto: synchronous, several times cheaper than WebCrypto's
// asynchronous jobs, which dominated the cost of a token never seen before.
import { type KeyObject, verify } from 'node:crypto';

/** The claims of a token: the registered ones (RFC 7519 §4.1) and any other. */
export interface TokenClaims {
  iss?: string;
  sub?: string;
  aud?: string | string[];
  jti?: string;
  nbf?: number;
  exp?: number;
  iat?: number;
  [claim: string]: unknown;
}

/** A token that is not a valid access token; `expired` when only its lifetime is over. */
export class InvalidToken extends Error {
  constructor(
    message: string,
    readonly expired = false,
  ) {
    super(message);
    this.name = 'InvalidToken';
  }
}

/** Unpadded base64url, as RFC 7515 §2 writes it: padding, `+`, `/`, whitespace and impossible lengths are refused. */
const BASE64URL = /^[A-Za-z0-9_-]*$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

function segmentBytes(segment: string, part: string): Buffer {
  if (!BASE64URL.test(segment) || segment.length % 4 === 1) throw new InvalidToken(`The ${part} is not base64url`);
  return Buffer.from(segment, 'base64url');
}

/** A segment holding a JSON object (not an array, not a scalar), in well-formed UTF-8. */
function jsonObject(segment: string, part: string): Record<string, unknown> {
  const bytes = segmentBytes(segment, part);
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(bytes));
  } catch {
    throw new InvalidToken(`The ${part} is not JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new InvalidToken(`The ${part} is not a JSON object`);
  return value as Record<string, unknown>;
}

export interface SignedToken {
  header: Record<string, unknown>;
  /** The text the signature covers: `header.payload`. */
  signingInput: string;
  payload: string;
  signature: string;
}

/**
 * The three segments of a compact JWS and its protected header, checked for what can be
 * refused before a key is looked up: the shape, the header a JSON object, no `crit` (no
 * extension is understood here, so RFC 7515 §4.1.11 has any token naming one refused,
 * `b64: false` included) and the pinned algorithm.
 */
export function parseSignedToken(token: string, algorithm: 'EdDSA'): SignedToken {
  const segments = token.split('.');
  if (segments.length !== 3) throw new InvalidToken('The token is not a compact JWS');
  const [encodedHeader, payload, signature] = segments as [string, string, string];
  const header = jsonObject(encodedHeader, 'header');
  // The payload is checked here too, so the signing input is ASCII: the signature covers
  // exactly the characters received (as Latin-1 bytes, a character above U+00FF would be
  // cut to one byte, and a payload that is not the signed one could pass the signature).
  segmentBytes(payload, 'payload');
  if (header.crit !== undefined) throw new InvalidToken('The token names a critical extension');
  if (header.alg !== algorithm) throw new InvalidToken('The token is not signed with the expected algorithm');
  return { header, signingInput: `${encodedHeader}.${payload}`, payload, signature };
}

/** Whether `signature` is the Ed25519 signature of the token's signing input by `key`. */
export function hasValidEd25519Signature(token: SignedToken, key: KeyObject): boolean {
  if (key.asymmetricKeyType !== 'ed25519') return false;
  const signature = segmentBytes(token.signature, 'signature');
  try {
    return verify(null, Buffer.from(token.signingInput, 'latin1'), key, signature);
  } catch {
    return false;
  }
}

export interface ClaimsRules {
  /** The `typ` header the token must carry (RFC 9068 §4: `at+jwt`, or `application/at+jwt`). */
  typ: string;
  issuer: string;
  audience: string;
  /** Claims that must be present. */
  required: readonly string[];
  clockToleranceSeconds: number;
  /** Now, in milliseconds. */
  now: number;
}

/** RFC 7515 §4.1.9: a media type; without a `/`, `application/` is implied. Compared without case. */
const mediaType = (typ: string) => (typ.includes('/') ? typ.toLowerCase() : `application/${typ.toLowerCase()}`);

/**
 * The claims of a token whose signature was checked: a JSON object, the `typ` header, the
 * required claims present, the exact issuer, this audience (a string or a list naming it),
 * and `nbf`/`exp` (numbers, within the tolerance); `iat` too must be a number when present.
 */
export function verifiedClaims(token: SignedToken, rules: ClaimsRules): TokenClaims {
  const claims = jsonObject(token.payload, 'payload') as TokenClaims;
  const { typ } = token.header;
  if (typeof typ !== 'string' || mediaType(typ) !== mediaType(rules.typ)) throw new InvalidToken('The token has the wrong type');
  for (const claim of rules.required) if (!Object.hasOwn(claims, claim)) throw new InvalidToken(`The token has no ${claim} claim`);
  if (claims.iss !== rules.issuer) throw new InvalidToken('The token is from another issuer');
  const { aud } = claims;
  if (!(aud === rules.audience || (Array.isArray(aud) && aud.includes(rules.audience))))
    throw new InvalidToken('The token is for another audience');
  const now = Math.floor(rules.now / 1000);
  const tolerance = rules.clockToleranceSeconds;
  for (const claim of ['iat', 'nbf', 'exp'] as const) {
    if (claims[claim] !== undefined && typeof claims[claim] !== 'number') throw new InvalidToken(`The ${claim} claim is not a number`);
  }
  if (claims.nbf !== undefined && claims.nbf > now + tolerance) throw new InvalidToken('The token is not valid yet');
  if (claims.exp !== undefined && claims.exp <= now - tolerance) throw new InvalidToken('The token has expired', true);
  return claims;
}
