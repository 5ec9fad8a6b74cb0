// Express (or any connect-style framework): a middleware per route, since only a route's own
// middleware sees its params (`:org_id`).
import { type RouteAccess, requirePermission as require, type Tenantry } from '../auth.js';
import type { Principal } from '../principal.js';
import { type RefusalAnswer, refusalOf, routeOrgId } from './answer.js';

interface ExpressRequestLike {
  headers: Record<string, string | string[] | undefined>;
  params?: unknown;
  principal?: Principal;
}
interface ExpressResponseLike {
  statusCode: number;
  setHeader(name: string, value: string): unknown;
  end(body: string): unknown;
}
type Next = (err?: unknown) => void;

function answer(res: ExpressResponseLike, refusal: RefusalAnswer): void {
  res.statusCode = refusal.status;
  for (const [k, v] of Object.entries(refusal.headers)) res.setHeader(k, v);
  res.end(JSON.stringify(refusal.body));
}

/**
 * `app.get('/orgs/:org_id/contacts', tenantryExpress(tenantry, { permissions: ['crm:contacts:read'], shareable: true }), handler)`;
 * the handler reads `req.principal`.
 */
export function tenantryExpress(tenantry: Tenantry, access: RouteAccess & { orgParam?: string | false } = {}) {
  return (req: ExpressRequestLike, res: ExpressResponseLike, next: Next): void => {
    tenantry.authenticate(req, access, routeOrgId(req.params, access.orgParam)).then(
      (principal) => {
        req.principal = principal;
        next();
      },
      (err) => {
        const refusal = refusalOf(err);
        if (refusal) answer(res, refusal);
        else next(err);
      },
    );
  };
}

/** A middleware after tenantryExpress: 403 unless `req.principal` holds every permission. */
export function expressRequirePermission(...permissions: string[]) {
  return (req: ExpressRequestLike, res: ExpressResponseLike, next: Next): void => {
    try {
      if (!req.principal) throw new Error('tenantryExpress must run before expressRequirePermission');
      require(req.principal, ...permissions);
      next();
    } catch (err) {
      const refusal = refusalOf(err);
      if (refusal) answer(res, refusal);
      else next(err);
    }
  };
}
