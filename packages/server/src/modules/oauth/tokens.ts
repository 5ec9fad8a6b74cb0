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

/** A user's token that a tool obtained by token exchange, to act for them at another tool. */
export interface DelegatedTokenSubject {
  userId: string;
  sessionId: string;
  orgId: string;
  /** The tool acting (`act.sub` and `client_id`). */
  actorClientId: string;
  audience: string;
  grantId: string;
  permissions: readonly string[];
  ttl: number;
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
    const claims: JWTPayload = { principal: 'user', client_id: this.config.clientId, sid: subject.sessionId };
    if (subject.org) {
      claims.org_id = subject.org.id;
      claims.org_role = subject.org.role;
      claims.permissions = permissionsOf(subject.org.role);
    }
    const token = await this.sign(claims, subject.userId, audience ?? this.config.tokenAudience, this.config.accessTokenTtl);
    return { token, expiresIn: this.config.accessTokenTtl };
  }

  /** Signs a tool's token: `sub` = `client_id` = the tool, `principal: tool`, its scopes as `scope` and `permissions`. */
  async issueTool(subject: ToolTokenSubject): Promise<{ token: string; expiresIn: number }> {
    const claims: JWTPayload = {
      ...subject.extra,
      principal: 'tool',
      client_id: subject.clientId,
      scope: subject.permissions.join(' '),
      permissions: [...subject.permissions],
    };
    if (subject.orgId) claims.org_id = subject.orgId;
    return { token: await this.sign(claims, subject.clientId, subject.audience, subject.ttl), expiresIn: subject.ttl };
  }

  /**
   * Signs a delegated token (RFC 8693): `sub` = the user, `act` = the tool acting for them
   * (never left out: no impersonation), for another tool's audience under a sharing grant.
   */
  async issueDelegated(d: DelegatedTokenSubject): Promise<{ token: string; expiresIn: number }> {
    const claims: JWTPayload = {
      principal: 'user',
      client_id: d.actorClientId,
      act: { sub: d.actorClientId },
      sid: d.sessionId,
      org_id: d.orgId,
      grant_id: d.grantId,
      scope: d.permissions.join(' '),
      permissions: [...d.permissions],
    };
    return { token: await this.sign(claims, d.userId, d.audience, d.ttl), expiresIn: d.ttl };
  }

  private sign(claims: JWTPayload, subject: string, audience: string, ttl: number): Promise<string> {
    const { kid, key } = this.keys.signingKey();
    return new SignJWT(claims)
      .setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', kid })
      .setIssuer(this.config.tokenIssuer)
      .setSubject(subject)
      .setAudience(audience)
      .setIssuedAt()
      .setExpirationTime(`${ttl}s`)
      .setJti(uuidv7())
      .sign(key);
  }

  /**
   * Verifies a user's access token issued for one tool (`aud` = `audience`), as a token
   * exchange's subject: undefined unless it is exactly that — a first-party session's token,
   * scoped to an organization, neither delegated already nor bound to a grant.
   */
  async verifySubject(token: string, audience: string): Promise<{ userId: string; sessionId: string; orgId: string } | undefined> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, (header: JWTHeaderParameters) => this.keyFor(header), {
        algorithms: ['EdDSA'],
        typ: 'at+jwt',
        issuer: this.config.tokenIssuer,
        audience,
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        requiredClaims: ['sub', 'sid', 'jti', 'iat', 'exp', 'client_id', 'org_id'],
      }));
    } catch {
      return undefined;
    }
    const p = principalOfClaims(payload);
    if (p?.type !== 'user' || p.tokenOrgId === null || payload.client_id !== this.config.clientId) return undefined;
    return { userId: p.userId, sessionId: p.sessionId, orgId: p.tokenOrgId };
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
      payload = await this.verifiedClaims(token, this.config.tokenAudience);
    } catch (err) {
      throw unauthenticated(err instanceof joseErrors.JWTExpired ? 'The access token has expired' : 'The access token is invalid');
    }
    const principal = principalOfClaims(payload);
    if (!principal) throw unauthenticated('The access token is invalid');
    if (this.cache.size >= CACHE_LIMIT) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(token, { principal, exp: payload.exp! });
    return principal;
  }

  /** The same strict checks as verify(), for the audience given (a tool's, for introspection); throws on any failure. */
  private async verifiedClaims(token: string, audience: string): Promise<JWTPayload> {
    const { payload } = await jwtVerify(token, (header: JWTHeaderParameters) => this.keyFor(header), {
      algorithms: ['EdDSA'],
      typ: 'at+jwt',
      issuer: this.config.tokenIssuer,
      audience,
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
      requiredClaims: ['sub', 'jti', 'iat', 'exp', 'client_id'],
    });
    return payload;
  }

  /**
   * A token meant for `audience` (introspection by that tool): its claims and principal
   * when it verifies, with that `aud`, and names a principal; undefined for anything else.
   * Tokens bound to a sharing grant count here: their audience is the providing tool.
   */
  async verifyForAudience(token: string, audience: string): Promise<{ claims: JWTPayload; principal: Principal } | undefined> {
    try {
      const claims = await this.verifiedClaims(token, audience);
      const principal = principalOfClaims(claims, { grants: true });
      return principal ? { claims, principal } : undefined;
    } catch (err) {
      if (err instanceof joseErrors.JOSEError || (err instanceof Error && err.message === 'unknown kid')) return undefined;
      throw err;
    }
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
function principalOfClaims(payload: JWTPayload, accept: { grants?: boolean } = {}): Principal | undefined {
  const orgId = payload.org_id;
  if (orgId !== undefined && !isUuid(orgId)) return undefined;
  const tokenOrgId = (orgId as string | undefined) ?? null;
  switch (payload.principal ?? 'user') {
    case 'user':
      // A delegated token (act, grant_id) is for a tool, never a user's own token.
      if (!isUuid(payload.sub) || !isUuid(payload.sid) || payload.act !== undefined || payload.grant_id !== undefined) return undefined;
      return { type: 'user', userId: payload.sub, sessionId: payload.sid, tokenOrgId };
    case 'tool':
      // A tool's client id is its id; a token bound to a sharing grant is for a tool, never for this API.
      if (!isUuid(payload.sub) || payload.client_id !== payload.sub || !isStringArray(payload.permissions)) return undefined;
      if (payload.grant_id !== undefined && !accept.grants) return undefined;
      return { type: 'tool', toolId: payload.sub, clientId: payload.sub, orgId: tokenOrgId, permissions: payload.permissions };
    default:
      return undefined;
  }
}
