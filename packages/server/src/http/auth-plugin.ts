import type { FastifyRequest } from 'fastify';
import type { Caller } from '../modules/access/gate.js';
import type { Principal, PrincipalType } from '../modules/access/principal.js';
import type { ApiKeyResolver } from '../modules/api-keys/api-key-auth.js';
import { type AccessTokens, unauthenticated } from '../modules/oauth/tokens.js';
import { AppError, forbidden } from './errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

const BEARER = /^Bearer +([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+) *$/i;
/** An organization API key as a bearer: `tnty_…` (its exact form is key-format.ts's to check). */
const BEARER_KEY = /^Bearer +(tnty_[A-Za-z0-9_]{1,200}) *$/i;

/**
 * onRequest hooks by the principals a route accepts: `authenticate(['user'])`. No valid
 * bearer access token or API key is 401 before the body is even read; a principal of a
 * type the route does not accept is the same 403 on every route.
 */
export function authenticate(tokens: AccessTokens, apiKeys: ApiKeyResolver) {
  return (accepts: readonly PrincipalType[]) => async (request: FastifyRequest) => {
    const principal = await bearerPrincipal(tokens, apiKeys, request.headers.authorization);
    if (!accepts.includes(principal.type)) throw forbidden(`This route does not accept ${principal.type} callers`);
    request.principal = principal;
  };
}

/** The principal of an Authorization header: a bearer access token (JWT) or API key. */
async function bearerPrincipal(tokens: AccessTokens, apiKeys: ApiKeyResolver, header: string | undefined): Promise<Principal> {
  if (!header) throw unauthenticated('A bearer access token is required');
  if (header.length > 8192) throw unauthenticated('The access token is invalid');
  const key = BEARER_KEY.exec(header);
  if (key) return apiKeys.authenticate(key[1]!);
  const m = BEARER.exec(header);
  if (!m) throw unauthenticated('The access token is invalid');
  return tokens.verify(m[1]!);
}

/** Query parameters named for a credential (RFC 6750 §2.3, and the usual API-key name). */
const URL_CREDENTIALS = new Set(['access_token', 'api_key']);

/**
 * Credentials are accepted in the Authorization header only: URLs end up in logs, proxies
 * and browser history. A request with `access_token` or `api_key` in its query string, or
 * any query value that is an API key, is refused (400) on every route before any work,
 * whether or not the credential is valid.
 */
export function refuseCredentialsInUrl(request: FastifyRequest): void {
  const query = request.query as Record<string, unknown> | undefined;
  if (!query || typeof query !== 'object') return;
  const named = Object.keys(query).find((name) => URL_CREDENTIALS.has(name) || String(query[name]).startsWith('tnty_'));
  if (named === undefined) return;
  throw new AppError('VALIDATION_FAILED', 'Credentials are never accepted in the URL: send them as `Authorization: Bearer …`', [
    { path: `/query/${named}`, message: 'must not carry a credential; use the Authorization header' },
  ]);
}

/** The authenticated caller and the request facts the audit log keeps. */
export function callerOf(request: FastifyRequest): Caller {
  return { principal: principalOf(request), meta: { ip: request.ip, requestId: request.id } };
}

/** The authenticated caller of a route that uses `authenticate`. */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw unauthenticated('A bearer access token is required');
  return request.principal;
}
