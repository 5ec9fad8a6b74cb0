import type { FastifyRequest } from 'fastify';
import type { Caller } from '../modules/access/gate.js';
import { type AccessTokens, type Principal, unauthenticated } from '../modules/oauth/tokens.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

const BEARER = /^Bearer +([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+) *$/i;

/** An onRequest hook: a valid bearer access token, or 401 before the body is even read. */
export function authenticate(tokens: AccessTokens) {
  return async (request: FastifyRequest) => {
    const header = request.headers.authorization;
    if (!header) throw unauthenticated('A bearer access token is required');
    const m = header.length <= 8192 ? BEARER.exec(header) : null;
    if (!m) throw unauthenticated('The access token is invalid');
    request.principal = await tokens.verify(m[1]!);
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
