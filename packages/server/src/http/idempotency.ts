// Idempotency-Key on every creating POST: every POST route whose schema answers 201 is
// found here from the route table, so a new creating route is covered without a line of its own.
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import type { App } from '../app.js';
import { storedAnswerOf } from '../modules/idempotency/idempotency.js';
import { inUse, principalKeyOf, withSlot } from '../modules/idempotency/slot.js';
import { AppError, type ErrorCode } from './errors.js';
import { problems } from './schemas.js';

const HEADER = 'idempotency-key';
/** Printable ASCII without spaces, as UUIDs and random tokens are. */
const VALID_KEY = /^[\x21-\x7e]{1,255}$/;

/** JSON with object keys sorted at every level: the same body hashes the same whatever its key order. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonicalJson(x)}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

/** What a key stands for: the method, the route, its parameters and the canonical body. */
const requestHash = (request: FastifyRequest) =>
  createHash('sha256')
    .update(`${request.method} ${request.routeOptions.url}\n${canonicalJson(request.params)}\n${canonicalJson(request.body)}`)
    .digest('base64url');

const createsOnPost = (route: RouteOptions) => {
  const methods = Array.isArray(route.method) ? route.method : [route.method];
  const response = route.schema?.response as Record<string, unknown> | undefined;
  return methods.includes('POST') && response !== undefined && '201' in response;
};

/** The catalogue codes a documented problem response lists (see problems()). */
function codesOf(response: Record<string, unknown>): ErrorCode[] {
  return Object.values(response).flatMap((r) => {
    const schema = (r as { content?: Record<string, { schema?: { allOf?: Array<{ properties?: { code?: { enum?: ErrorCode[] } } }> } }> })
      .content?.['application/problem+json']?.schema;
    return schema?.allOf?.[1]?.properties?.code?.enum ?? [];
  });
}

/** The header and the codes it adds, in the route's schema, so the OpenAPI document shows them. */
function documentKey(route: RouteOptions) {
  const schema = route.schema!;
  const response = schema.response as Record<string, unknown>;
  const anonymous = Array.isArray(schema.security) && schema.security.length === 0;
  const added: ErrorCode[] = anonymous ? ['IDEMPOTENCY_KEY_UNSUPPORTED'] : ['IDEMPOTENCY_KEY_REUSED', 'IDEMPOTENCY_KEY_IN_USE'];
  const documented = problems(...codesOf(response), ...added, 'VALIDATION_FAILED');
  for (const [status, problem] of Object.entries(documented)) response[status] = problem;
  schema.headers ??= {
    type: 'object',
    properties: {
      [HEADER]: {
        type: 'string',
        description: anonymous
          ? 'Not accepted here (400 IDEMPOTENCY_KEY_UNSUPPORTED): this route has no caller to own the key.'
          : 'Makes a retry safe: the same key with the same request within 24 h answers the original 201 again (Idempotent-Replayed: true); with another request 422 IDEMPOTENCY_KEY_REUSED; while the first is in progress 409 IDEMPOTENCY_KEY_IN_USE.',
      },
    },
  };
}

/** Keys in flight in this process; a duplicate committing on another instance is caught by the record's key (storeAnswerIn). */
const inFlight = new Set<string>();

/**
 * Must be registered before the routes. A replay answers the stored status and body, with
 * `Idempotent-Replayed: true`, before any use-case work; the first answer is stored by the
 * use case's own transaction. Anonymous routes (signup) refuse the header: their uniqueness
 * (one account per email) already makes a retry safe, and a replay would have to keep the
 * tokens it issued.
 */
export function registerIdempotency(app: App) {
  app.addHook('onRoute', (route) => {
    if (!createsOnPost(route)) return;
    documentKey(route);
    const handler = route.handler;
    route.handler = async function idempotent(this: FastifyInstance, request: FastifyRequest, reply: FastifyReply) {
      const key = request.headers[HEADER];
      if (key === undefined) return handler.call(this, request, reply);
      if (typeof key !== 'string' || !VALID_KEY.test(key)) {
        throw new AppError('VALIDATION_FAILED', 'Idempotency-Key must be 1 to 255 printable ASCII characters', [
          { path: '/headers/idempotency-key', message: 'must be 1 to 255 printable ASCII characters' },
        ]);
      }
      if (!request.principal) throw new AppError('IDEMPOTENCY_KEY_UNSUPPORTED');
      const principal = principalKeyOf(request.principal);
      const hash = requestHash(request);
      const flight = `${principal}\n${key}`;
      if (inFlight.has(flight)) throw inUse();
      inFlight.add(flight);
      try {
        const stored = await storedAnswerOf(app.db, request.principal, key);
        if (stored) {
          if (stored.request_hash !== hash) throw new AppError('IDEMPOTENCY_KEY_REUSED');
          return reply
            .status(stored.status)
            .header('cache-control', 'no-store')
            .header('idempotent-replayed', 'true')
            .send(stored.response);
        }
        const slot = { principal, key, requestHash: hash, status: 201, recorded: false };
        return await withSlot(slot, () => handler.call(this, request, reply));
      } finally {
        inFlight.delete(flight);
      }
    };
  });
}
