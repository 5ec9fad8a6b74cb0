// One object a tool configures once: it verifies access tokens and API keys, feeds the
// revocation cache, and decides a route's access. The adapters (Fastify, Express, plain)
// are thin wrappers over `authenticate` and `authorize`.
import { ApiKeyIntrospector, type IntrospectionOptions, looksLikeApiKey } from './api-keys.js';
import { forbidden, notFound, unauthenticated } from './errors.js';
import { RevocationCache, type RevocationCacheOptions } from './events/revocations.js';
import type { Principal } from './principal.js';
import { AccessTokenVerifier, type VerifierOptions } from './verify.js';

export interface TenantryOptions extends Omit<VerifierOptions, 'revocations'> {
  /** API keys: introspection with this tool's credentials. Without it, API keys are refused. */
  apiKeys?: Omit<IntrospectionOptions, 'endpoint'> & { endpoint?: string | URL };
  /** Revocations by events; a cache is made when none is given, `false` turns it off. */
  revocations?: RevocationCache | RevocationCacheOptions | false;
}

/** What a route declares about its callers. */
export interface RouteAccess {
  /** Permissions the caller must hold, all of them (`requirePermission`). */
  permissions?: readonly string[];
  /**
   * The route serves a scope the tool declares shareable: tokens issued under a sharing
   * grant are accepted here, and nowhere else.
   */
  shareable?: boolean;
  /** Principal types the route accepts (default all). */
  principals?: readonly Principal['type'][];
}

/** A request as any framework has it: only the headers are read. */
export interface RequestLike {
  headers: Record<string, string | string[] | undefined>;
}

/** The bearer credential of a request, or null; anything but exactly one `Bearer <token>` is refused. */
export function bearerOf(request: RequestLike): string {
  const h = request.headers.authorization;
  if (typeof h !== 'string' || h.length > 16_384) throw unauthenticated('A bearer token is required');
  const m = /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/i.exec(h);
  if (!m) throw unauthenticated('A bearer token is required');
  return m[1]!;
}

/**
 * A route's decision for an authenticated principal. `routeOrgId` is the organization the
 * route names (its `:org_id`): another organization's answers 404, as if it did not exist.
 */
export function authorize(principal: Principal, access: RouteAccess = {}, routeOrgId?: string): Principal {
  if (routeOrgId !== undefined && routeOrgId !== principal.orgId) throw notFound();
  if (access.principals && !access.principals.includes(principal.type)) throw forbidden('This route does not accept this kind of caller');
  if (principal.grantId && !access.shareable) throw forbidden('A token of a sharing grant reaches only shareable routes');
  if (access.permissions?.length) requirePermission(principal, ...access.permissions);
  return principal;
}

/** Throws 403 FORBIDDEN unless the principal holds every permission named. */
export function requirePermission(principal: Principal, ...permissions: string[]): void {
  const missing = permissions.filter((p) => !principal.permissions.includes(p));
  if (missing.length > 0) throw forbidden(`Missing permission: ${missing.join(', ')}`);
}

export class Tenantry {
  readonly tokens: AccessTokenVerifier;
  readonly apiKeys: ApiKeyIntrospector | undefined;
  readonly revocations: RevocationCache | undefined;

  constructor(readonly options: TenantryOptions) {
    const r = options.revocations;
    this.revocations = r === false ? undefined : r instanceof RevocationCache ? r : new RevocationCache({ now: options.now, ...r });
    this.tokens = new AccessTokenVerifier({ ...options, revocations: this.revocations });
    if (options.apiKeys) {
      this.apiKeys = new ApiKeyIntrospector({
        endpoint: options.apiKeys.endpoint ?? `${options.issuer.replace(/\/$/, '')}/oauth/introspect`,
        now: options.now,
        ...options.apiKeys,
      });
      const introspector = this.apiKeys;
      this.revocations?.onRevocation((e) => {
        if (e.type === 'api_key.revoked') introspector.forget(Object.values(e.data).filter((v): v is string => typeof v === 'string'));
      });
    }
  }

  /** SPEC §12 verifyAccessToken: the principal of a valid access token for this tool. */
  verifyAccessToken(token: string): Promise<Principal> {
    return this.tokens.verify(token);
  }

  /** The principal of an API key (checksum, then introspection). */
  async verifyApiKey(key: string): Promise<Principal> {
    if (!this.apiKeys) throw unauthenticated('API keys are not accepted here');
    const p = await this.apiKeys.verify(key);
    if (this.revocations?.isRevoked(p)) throw unauthenticated('The API key has been revoked');
    return p;
  }

  /** The principal of a bearer credential: an access token or an API key. */
  verifyBearer(credential: string): Promise<Principal> {
    return looksLikeApiKey(credential) ? this.verifyApiKey(credential) : this.verifyAccessToken(credential);
  }

  /** The plain adapter: `(request) → principal`, with the route's access decided. */
  async authenticate(request: RequestLike, access: RouteAccess = {}, routeOrgId?: string): Promise<Principal> {
    return authorize(await this.verifyBearer(bearerOf(request)), access, routeOrgId);
  }
}

/** The SDK's entry point: `const tenantry = createTenantry({ issuer, audience })`. */
export const createTenantry = (options: TenantryOptions): Tenantry => new Tenantry(options);

/** verifyAccessToken(token, options): one verifier per options object, so its caches live on. */
const verifiers = new WeakMap<object, AccessTokenVerifier>();
export function verifyAccessToken(token: string, options: VerifierOptions): Promise<Principal> {
  let v = verifiers.get(options);
  if (!v) {
    v = new AccessTokenVerifier(options);
    verifiers.set(options, v);
  }
  return v.verify(token);
}
