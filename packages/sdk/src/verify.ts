// verifyAccessToken as SPEC §12 says: RFC 9068 access tokens signed by Tenantry, checked
// offline against its JWKS.
import { TenantryAuthError, unauthenticated } from './errors.js';
import { type KeySource, KeysUnavailable, RemoteKeySet, type RemoteKeySetOptions } from './jwks.js';
import { hasValidEd25519Signature, InvalidToken, parseSignedToken, type TokenClaims, verifiedClaims } from './jws.js';
import { type CallerType, isUuid, type Principal, TOOL_CALLER_TYPES } from './principal.js';

export const CLOCK_TOLERANCE_SECONDS = 30;
/** Longer than any token Tenantry issues; longer text is refused before it is parsed. */
const MAX_TOKEN_LENGTH = 8192;
const MAX_ID_LENGTH = 255;

/** What rejects a verified token later than its signature: the revocation cache (events.ts). */
export interface RevocationCheck {
  isRevoked(principal: Principal): boolean;
}

export interface VerifierOptions {
  /** Tenantry's issuer, compared exactly (`iss`). */
  issuer: string;
  /** This tool's audience (its RFC 8707 resource URI): tokens for anyone else are refused. */
  audience: string;
  /** Tenantry's JWKS; default `<issuer>/.well-known/jwks.json`. */
  jwksUri?: string | URL;
  /** Instead of jwksUri: where keys come from (a StaticKeySet, tests). */
  keys?: KeySource;
  jwks?: RemoteKeySetOptions;
  clockToleranceSeconds?: number;
  /** Verified tokens kept (by their text, until they expire); 0 turns the cache off. */
  cacheSize?: number;
  revocations?: RevocationCheck;
  /** The clock, in milliseconds (tests). */
  now?: () => number;
}

const REQUIRED_CLAIMS = ['iss', 'aud', 'exp', 'iat', 'sub', 'client_id', 'principal', 'org_id'];

const isId = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= MAX_ID_LENGTH;
const isStringList = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string');

/** The principal the claims of a verified token stand for; undefined when they do not make one. */
export function principalFromClaims(claims: TokenClaims): Principal | undefined {
  const { sub, org_id: orgId, client_id: clientId, principal: type, iat, exp } = claims as Record<string, unknown>;
  if (!(TOOL_CALLER_TYPES as readonly unknown[]).includes(type)) return undefined;
  if (!isId(sub) || !isId(clientId) || !isUuid(orgId) || typeof iat !== 'number' || typeof exp !== 'number') return undefined;
  // A tool's token names the tool twice; anything else is not a token Tenantry issued.
  if (type === 'tool' && sub !== clientId) return undefined;
  const permissions = claims.permissions ?? (typeof claims.scope === 'string' ? claims.scope.split(' ').filter(Boolean) : []);
  if (!isStringList(permissions)) return undefined;
  const { grant_id: grantId, act, sid } = claims as Record<string, unknown>;
  if (grantId !== undefined && !isUuid(grantId)) return undefined;
  if (sid !== undefined && !isUuid(sid)) return undefined;
  if (act !== undefined && !(typeof act === 'object' && act !== null && isId((act as { sub?: unknown }).sub))) return undefined;
  // A user is a UUID; a user's own token belongs to a session (a delegated one names its actor instead).
  if (type === 'user' && (!isUuid(sub) || (act === undefined && sid === undefined))) return undefined;
  // Frozen: a cached principal is handed to every request that presents the same token.
  return deepFreeze({
    type: type as CallerType,
    id: sub,
    orgId,
    permissions: [...permissions],
    ...(grantId ? { grantId } : {}),
    ...(act ? { actor: { sub: (act as { sub: string }).sub } } : {}),
    token: { clientId, ...(sid ? { sessionId: sid as string } : {}), issuedAt: iat, expiresAt: exp },
  });
}

export function deepFreeze<T extends object>(o: T): T {
  for (const v of Object.values(o)) if (typeof v === 'object' && v !== null) deepFreeze(v);
  return Object.freeze(o);
}

/**
 * Verifies Tenantry access tokens for one audience: EdDSA only, `typ: at+jwt`, exact
 * issuer, this tool's audience, `exp`/`nbf` within the clock tolerance, and the claims a
 * principal needs. The key comes from Tenantry's JWKS by `kid`, never from the token.
 * A verified token is kept until it expires, so a repeated token costs a map lookup (the
 * revocation check still runs on every call).
 */
export class AccessTokenVerifier {
  private readonly keys: KeySource;
  private readonly cache = new Map<string, Principal>();
  private readonly tolerance: number;
  private readonly cacheSize: number;
  private readonly now: () => number;

  constructor(private readonly o: VerifierOptions) {
    if (!o.issuer || !o.audience) throw new TypeError('issuer and audience are required');
    this.now = o.now ?? Date.now;
    this.keys =
      o.keys ??
      new RemoteKeySet(new URL(o.jwksUri ?? `${o.issuer.replace(/\/$/, '')}/.well-known/jwks.json`), { now: this.now, ...o.jwks });
    this.tolerance = o.clockToleranceSeconds ?? CLOCK_TOLERANCE_SECONDS;
    this.cacheSize = o.cacheSize ?? 10_000;
  }

  /** The principal of a valid token; throws TenantryAuthError (401, or 503 when the keys cannot be read). */
  async verify(token: string): Promise<Principal> {
    const hit = this.cache.get(token);
    if (hit) {
      if (hit.token.expiresAt + this.tolerance >= this.now() / 1000) return this.unlessRevoked(hit);
      this.cache.delete(token);
    }
    if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_LENGTH) throw unauthenticated();
    let claims: TokenClaims;
    try {
      const signed = parseSignedToken(token, 'EdDSA');
      // The key is Tenantry's, by kid (a string the key set bounds): keys a token names or carries are never used.
      const key = await this.keys.key(signed.header.kid as string);
      if (!hasValidEd25519Signature(signed, key)) throw new InvalidToken('The signature does not verify');
      claims = verifiedClaims(signed, {
        typ: 'at+jwt',
        issuer: this.o.issuer,
        audience: this.o.audience,
        required: REQUIRED_CLAIMS,
        clockToleranceSeconds: this.tolerance,
        now: this.now(),
      });
    } catch (err) {
      if (err instanceof KeysUnavailable) throw new TenantryAuthError('SERVICE_UNAVAILABLE', 'The signing keys cannot be read');
      throw unauthenticated(err instanceof InvalidToken && err.expired ? 'The access token has expired' : 'The access token is invalid');
    }
    const principal = principalFromClaims(claims);
    if (!principal) throw unauthenticated();
    if (this.cacheSize > 0) {
      if (this.cache.size >= this.cacheSize) this.cache.delete(this.cache.keys().next().value!);
      this.cache.set(token, principal);
    }
    return this.unlessRevoked(principal);
  }

  private unlessRevoked(p: Principal): Principal {
    if (this.o.revocations?.isRevoked(p)) throw unauthenticated('The access token has been revoked');
    return p;
  }
}
