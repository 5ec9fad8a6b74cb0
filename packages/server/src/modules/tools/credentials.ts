import { createHash, createPublicKey, randomBytes } from 'node:crypto';
import { calculateJwkThumbprint, type JWK } from 'jose';
import { AppError } from '../../http/errors.js';

// A tool's credentials. A client secret is 256 random bits: guessing it is hopeless, so a
// fast hash (SHA-256) stores it safely, and checking it costs microseconds, not the
// tens of milliseconds of a password hash. The database compares the hashes
// (tenantry_tool_secret_check, sql/tools.sql): what an equality's timing could tell is
// about the hash of a guess, which says nothing about the secret.

const SECRET_PREFIX = 'tnts_';

export function newClientSecret(): { secret: string; hash: Buffer; hint: string } {
  const secret = SECRET_PREFIX + randomBytes(32).toString('base64url');
  return { secret, hash: hashClientSecret(secret), hint: `…${secret.slice(-4)}` };
}

export const hashClientSecret = (secret: string): Buffer => createHash('sha256').update(secret, 'utf8').digest();

/** The algorithms a private_key_jwt key may sign with: each key is pinned to the one its type allows. */
export type AssertionAlg = 'EdDSA' | 'ES256' | 'RS256';

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

const invalidJwks = (message: string) =>
  new AppError('VALIDATION_FAILED', 'The JWKS is not usable for private_key_jwt', [{ path: '/body/jwks', message }]);

/** The one algorithm a public key of this type verifies. */
function algOf(jwk: JWK): AssertionAlg | undefined {
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519') return 'EdDSA';
  if (jwk.kty === 'EC' && jwk.crv === 'P-256') return 'ES256';
  if (jwk.kty === 'RSA') return 'RS256';
  return undefined;
}

/**
 * Checks a JWKS of public signing keys and pins each key's `alg` (and `kid`, its RFC 7638
 * thumbprint unless given): Ed25519 → EdDSA, P-256 → ES256, RSA (≥ 2048 bits) → RS256.
 */
export async function normalizeJwks(jwks: { keys: Array<Record<string, unknown>> }): Promise<{ keys: JWK[] }> {
  const keys: JWK[] = [];
  const kids = new Set<string>();
  for (const [i, raw] of jwks.keys.entries()) {
    const jwk = raw as JWK;
    if (PRIVATE_MEMBERS.some((m) => m in raw)) throw invalidJwks(`key ${i} contains private key material`);
    const alg = algOf(jwk);
    if (!alg) throw invalidJwks(`key ${i} is not an Ed25519, P-256 or RSA key`);
    if (jwk.alg !== undefined && jwk.alg !== alg) throw invalidJwks(`key ${i}: a ${jwk.kty} key signs with ${alg}, not ${jwk.alg}`);
    if (jwk.use !== undefined && jwk.use !== 'sig') throw invalidJwks(`key ${i} is not a signing key`);
    const pub: JWK =
      jwk.kty === 'RSA' ? { kty: 'RSA', n: jwk.n, e: jwk.e } : { kty: jwk.kty, crv: jwk.crv, x: jwk.x, ...(jwk.y ? { y: jwk.y } : {}) };
    let bits: number | undefined;
    try {
      bits = createPublicKey({ key: pub as import('node:crypto').JsonWebKey, format: 'jwk' }).asymmetricKeyDetails?.modulusLength;
    } catch {
      throw invalidJwks(`key ${i} is not a valid public key`);
    }
    if (alg === 'RS256' && (bits ?? 0) < 2048) throw invalidJwks(`key ${i}: RSA keys must have at least 2048 bits`);
    const kid = typeof jwk.kid === 'string' ? jwk.kid : await calculateJwkThumbprint(pub);
    if (kids.has(kid)) throw invalidJwks(`key ${i} repeats the kid ${kid}`);
    kids.add(kid);
    keys.push({ ...pub, kid, alg, use: 'sig' });
  }
  return { keys };
}

export const jwksHint = (jwks: { keys: JWK[] }) =>
  jwks.keys
    .map((k) => k.kid)
    .join(', ')
    .slice(0, 200);
