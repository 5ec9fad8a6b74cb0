import type { KeyObject } from 'node:crypto';
import { type JWTHeaderParameters, type JWTPayload, errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import type { Config } from '../../config.js';
import { isUuid, uuidv7 } from '../../db/ids.js';
import type { Role } from '../../db/schema.js';
import { AppError } from '../../http/errors.js';
import type { Principal } from '../access/principal.js';
import { permissionsOf } from '../access/roles.js';
import type { KeyStore } from './keys.js';

export const CLOCK_TOLERANCE_SECONDS = 30;

export interface AccessTokenSubject {
  userId: string;
  sessionId: string;
  org: { id: string; role: Role } | null;
}

/** A tool's own access token (client_credentials, SPEC §10). */
export interface ToolTokenSubject {
  clientId: string;
  /** The organization it is issued for; null for a discovery token. */
  orgId: string | null;
  /** The resource it is for: Tenantry's API audience, or a tool's audience. */
  audience: string;
  permissions: readonly string[];
  /** Seconds; 600 unless a grant-bound token asks less. */
  ttl: number;
  /** Extra claims of a token bound to a sharing grant (`grant_id`), added by the grant that issues it. */
  extra?: Record<string, unknown>;
}

export const TOOL_TOKEN_TTL = 600;

export const unauthenticated = (detail: string) =>
  new AppError('UNAUTHENTICATED', detail, undefined, { 'www-authenticate': 'Bearer error="invalid_token"' });

const CACHE_LIMIT = 10_000;

/** Issues and strictly verifies RFC 9068 access tokens (EdDSA, typ at+jwt). */
export class AccessTokens {
  // Verified tokens, by their exact text, until they expire: a repeated token skips the signature check.
  private readonly cache = new Map<string, { principal: Principal; exp: number }>();

  constructor(
    private readonly keys: KeyStore,
    private readonly config: Pick<Config, 'tokenIssuer' | 'tokenAudience' | 'clientId' | 'accessTokenTtl'>,
  ) {}

  /** Signs a user's token, for Tenantry's API or, with `audience`, for one tool (RFC 8707). */
  async issue(subject: AccessTokenSubject, audience?: string): Promise<{ token: string; expiresIn: number }> {
    const { kid, key } = this.keys.signingKey();
    const claims: JWTPayload = { principal: 'user', client_id: this.config.clientId, sid: subject.sessionId };
    if (subject.org) {
      claims.org_id = subject.org.id;
      claims.org_role = subject.org.role;
      claims.permissions = permissionsOf(subject.org.role);
    }
    const token = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', kid })
      .setIssuer(this.config.tokenIssuer)
      .setSubject(subject.userId)
      .setAudience(audience ?? this.config.tokenAudience)
      .setIssuedAt()
      .setExpirationTime(`${this.config.accessTokenTtl}s`)
      .setJti(uuidv7())
      .sign(key);
    return { token, expiresIn: this.config.accessTokenTtl };
  }

  /** Signs a tool's token: `sub` = `client_id` = the tool, `principal: tool`, its scopes as `scope` and `permissions`. */
  async issueTool(subject: ToolTokenSubject): Promise<{ token: string; expiresIn: number }> {
    const { kid, key } = this.keys.signingKey();
    const claims: JWTPayload = {
      ...subject.extra,
      principal: 'tool',
      client_id: subject.clientId,
      scope: subject.permissions.join(' '),
      permissions: [...subject.permissions],
    };
    if (subject.orgId) claims.org_id = subject.orgId;
    const token = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', kid })
      .setIssuer(this.config.tokenIssuer)
      .setSubject(subject.clientId)
      .setAudience(subject.audience)
      .setIssuedAt()
      .setExpirationTime(`${subject.ttl}s`)
      .setJti(uuidv7())
      .sign(key);
    return { token, expiresIn: subject.ttl };
  }

  /** Tenantry's own API audience: a token with another `aud` (one meant for a tool) is refused by verify(). */
  get apiAudience(): string {
    return this.config.tokenAudience;
  }

  async verify(token: string): Promise<Principal> {
    const now = Math.floor(Date.now() / 1000);
    const hit = this.cache.get(token);
    if (hit) {
      if (hit.exp + CLOCK_TOLERANCE_SECONDS >= now) return hit.principal;
      this.cache.delete(token);
    }
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, (header: JWTHeaderParameters) => this.keyFor(header), {
        algorithms: ['EdDSA'],
        typ: 'at+jwt',
        issuer: this.config.tokenIssuer,
        audience: this.config.tokenAudience,
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        requiredClaims: ['sub', 'jti', 'iat', 'exp', 'client_id'],
      }));
    } catch (err) {
      throw unauthenticated(err instanceof joseErrors.JWTExpired ? 'The access token has expired' : 'The access token is invalid');
    }
    const principal = principalOfClaims(payload);
    if (!principal) throw unauthenticated('The access token is invalid');
    if (this.cache.size >= CACHE_LIMIT) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(token, { principal, exp: payload.exp! });
    return principal;
  }

  // Keys come only from our own store, by kid: jku, jwk, x5u and x5c headers are never followed.
  private keyFor(header: JWTHeaderParameters): KeyObject {
    const key = typeof header.kid === 'string' ? this.keys.publicKey(header.kid) : undefined;
    if (!key) throw new Error('unknown kid');
    return key;
  }
}

const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');

/**
 * The principal a verified token's claims name, or undefined when they do not fit its
 * type exactly. `principal` is `user` (tokens signed before it existed carry none) or
 * `tool`; anything else is refused.
 */
function principalOfClaims(payload: JWTPayload): Principal | undefined {
  const orgId = payload.org_id;
  if (orgId !== undefined && !isUuid(orgId)) return undefined;
  const tokenOrgId = (orgId as string | undefined) ?? null;
  switch (payload.principal ?? 'user') {
    case 'user':
      if (!isUuid(payload.sub) || !isUuid(payload.sid)) return undefined;
      return { type: 'user', userId: payload.sub, sessionId: payload.sid, tokenOrgId };
    case 'tool':
      // A tool's client id is its id; a token bound to a sharing grant is for a tool, never for this API.
      if (!isUuid(payload.sub) || payload.client_id !== payload.sub || !isStringArray(payload.permissions)) return undefined;
      if (payload.grant_id !== undefined) return undefined;
      return { type: 'tool', toolId: payload.sub, clientId: payload.sub, orgId: tokenOrgId, permissions: payload.permissions };
    default:
      return undefined;
  }
}
