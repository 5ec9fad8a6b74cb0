// Fastify: a plugin that authenticates every route (deny by default) and decides its access
// from the route's `config.tenantry`; the handler reads `request.principal`.
import { type RouteAccess, requirePermission, type Tenantry } from '../auth.js';
import type { Principal } from '../principal.js';
import { refusalOf, routeOrgId } from './answer.js';

/** A route's declaration: `config: { tenantry: { permissions: ['crm:contacts:read'], shareable: true } }`; `false` is public. */
export type FastifyRouteAccess = (RouteAccess & { orgParam?: string | false }) | false;

// Structural types, so the SDK needs no dependency on Fastify.
interface FastifyRequestLike {
  headers: Record<string, string | string[] | undefined>;
  params: unknown;
  routeOptions?: { config?: { tenantry?: FastifyRouteAccess } };
}
interface FastifyReplyLike {
  code(status: number): FastifyReplyLike;
  headers(values: Record<string, string>): FastifyReplyLike;
  send(payload: unknown): FastifyReplyLike;
}
interface FastifyLike {
  decorateRequest(name: string, value: unknown): unknown;
  addHook(name: 'onRequest', hook: (request: FastifyRequestLike, reply: FastifyReplyLike) => Promise<unknown>): unknown;
}

/**
 * `await app.register(tenantryFastify, { tenantry })`. Applies to every route of the app
 * (it does not open a plugin scope). A refusal answers 401/403/404 problem+json.
 */
export async function tenantryFastify(app: FastifyLike, options: { tenantry: Tenantry }): Promise<void> {
  app.decorateRequest('principal', null);
  app.addHook('onRequest', async (request, reply) => {
    const access = request.routeOptions?.config?.tenantry;
    if (access === false) return;
    try {
      const principal = await options.tenantry.authenticate(request, access ?? {}, routeOrgId(request.params, access?.orgParam));
      (request as { principal?: Principal }).principal = principal;
    } catch (err) {
      const refusal = refusalOf(err);
      if (!refusal) throw err;
      return reply.code(refusal.status).headers(refusal.headers).send(refusal.body);
    }
  });
}
// Like fastify-plugin: the hook reaches the routes of the app that registered it.
(tenantryFastify as unknown as Record<symbol, boolean>)[Symbol.for('skip-override')] = true;

/** The principal of a request the plugin authenticated (throws on a public route). */
export function principalOf(request: object): Principal {
  const p = (request as { principal?: Principal | null }).principal;
  if (!p) throw new Error('this route is not authenticated by tenantryFastify');
  return p;
}

export { requirePermission };
