import type { FastifyRequest } from 'fastify';
import type { Caller } from '../modules/access/gate.js';
import type { Principal, PrincipalType } from '../modules/access/principal.js';
import { type AccessTokens, unauthenticated } from '../modules/oauth/tokens.js';
import { forbidden } from './errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

const BEARER = /^Bearer +([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+) *$/i;

/**
 * onRequest hooks by the principals a route accepts: `authenticate(['user'])`. No valid
 * bearer access token is 401 before the body is even read; a principal of a type the
 * route does not accept is the same 403 on every route.
 */
export function authenticate(tokens: AccessTokens) {
  return (accepts: readonly PrincipalType[]) => async (request: FastifyRequest) => {
    const header = request.headers.authorization;
    if (!header) throw unauthenticated('A bearer access token is required');
    const m = header.length <= 8192 ? BEARER.exec(header) : null;
    if (!m) throw unauthenticated('The access token is invalid');
    const principal = await tokens.verify(m[1]!);
    if (!accepts.includes(principal.type)) throw forbidden(`This route does not accept ${principal.type} callers`);
    request.principal = principal;
  };
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
