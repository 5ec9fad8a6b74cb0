// How every adapter answers a refusal: RFC 9457 problem details, as Tenantry does.
import { TenantryAuthError } from '../errors.js';

export interface RefusalAnswer {
  status: number;
  headers: Record<string, string>;
  body: ReturnType<TenantryAuthError['toProblem']>;
}

/** The answer for a refusal; undefined for any other error (the framework's own handling applies). */
export function refusalOf(err: unknown): RefusalAnswer | undefined {
  if (!(err instanceof TenantryAuthError)) return undefined;
  return {
    status: err.status,
    headers: { 'content-type': 'application/problem+json', 'cache-control': 'no-store', ...err.headers() },
    body: err.toProblem(),
  };
}

/** The route's organization id from its params (`org_id` unless the route names another param). */
export function routeOrgId(params: unknown, param: string | false | undefined): string | undefined {
  if (param === false) return undefined;
  const v = (params as Record<string, unknown> | undefined)?.[param ?? 'org_id'];
  return typeof v === 'string' ? v : undefined;
}
