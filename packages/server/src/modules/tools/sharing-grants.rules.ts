// The rules of sharing grants, as pure functions of what the database returned: which grant
// may be created, which scopes a grant-bound token carries, and which permissions a user
// may delegate to a tool. The service reads, these decide.
import type { FieldError } from '../../http/errors.js';

/** The longest a grant-bound or delegated token lives (SPEC §10: ≤ 300 s). */
export const GRANT_TOKEN_TTL_SECONDS = 300;

/** How often one grant's token issuance is audited at most: once per window. */
export const TOKEN_ISSUED_AUDIT_WINDOW_SECONDS = 300;

/** One entry of a tool's scope catalogue, as far as sharing cares. */
export interface CatalogueScope {
  name: string;
  shareable: boolean;
  /** The Tenantry permission a user must hold for the scope to be delegated on their behalf. */
  requires: string;
}

/** A tool as a grant being created sees it in the organization. */
export interface GrantParty {
  id: string;
  /** Registered, active in the registry, and enabled in the organization. */
  enabled: boolean;
  scopes: readonly CatalogueScope[];
}

export interface GrantRequest {
  provider_tool_id: string;
  consumer_tool_id: string;
  scopes: readonly string[];
}

/**
 * Why a grant may not be created, one entry per field (empty when it may): both tools enabled
 * in the organization, two different tools, and every scope a shareable scope of the provider.
 */
export function grantProblems(req: GrantRequest, provider: GrantParty | undefined, consumer: GrantParty | undefined): FieldError[] {
  const problems: FieldError[] = [];
  if (req.provider_tool_id === req.consumer_tool_id) {
    problems.push({ path: '/body/consumer_tool_id', message: 'must name another tool than the provider' });
  }
  if (!provider?.enabled) problems.push({ path: '/body/provider_tool_id', message: 'is not a tool enabled in this organization' });
  if (!consumer?.enabled) problems.push({ path: '/body/consumer_tool_id', message: 'is not a tool enabled in this organization' });
  if (provider?.enabled) {
    const shareable = new Set(provider.scopes.filter((s) => s.shareable).map((s) => s.name));
    req.scopes.forEach((scope, i) => {
      if (!shareable.has(scope)) problems.push({ path: `/body/scopes/${i}`, message: `${scope} is not a shareable scope of the provider` });
    });
  }
  return problems;
}

/** A space-separated `scope` parameter (RFC 6749 §3.3) as a list; null when absent or blank. */
export function parseScope(scope: string | undefined): string[] | null {
  const list = (scope ?? '').split(' ').filter((s) => s.length > 0);
  return list.length > 0 ? [...new Set(list)] : null;
}

/**
 * The scopes a grant-bound token carries: what was asked (all the grant covers when nothing
 * was), each still a shareable scope of the provider. Null when a requested scope is not
 * covered, or nothing is left: invalid_scope.
 */
export function grantBoundScopes(requested: readonly string[] | null, grantScopes: readonly string[], provider: readonly CatalogueScope[]) {
  const shareable = new Set(provider.filter((s) => s.shareable).map((s) => s.name));
  const covered = grantScopes.filter((s) => shareable.has(s));
  if (requested === null) return covered.length > 0 ? covered : null;
  const cover = new Set(covered);
  return requested.every((s) => cover.has(s)) ? [...requested] : null;
}

/**
 * The permissions of a delegated token: the grant's scopes ∩ the requested ones (all the
 * grant's when none were asked), each still shareable, keeping only those whose `requires`
 * the user holds now. Empty when nothing may be delegated.
 */
export function delegatedScopes(
  requested: readonly string[] | null,
  grantScopes: readonly string[],
  provider: readonly CatalogueScope[],
  userPermissions: readonly string[],
): string[] {
  const held = new Set(userPermissions);
  const byName = new Map(provider.map((s) => [s.name, s]));
  const asked = requested === null ? null : new Set(requested);
  return grantScopes.filter((name) => {
    const s = byName.get(name);
    return s?.shareable === true && (asked === null || asked.has(name)) && held.has(s.requires);
  });
}

/**
 * Seconds a grant-bound token lives: at most GRANT_TOKEN_TTL_SECONDS, and never past the
 * grant's own expiry. `secondsLeft` is the grant's remaining life (null: it does not expire).
 */
export const grantTokenLifetime = (secondsLeft: number | null): number =>
  Math.max(1, Math.min(GRANT_TOKEN_TTL_SECONDS, secondsLeft === null ? GRANT_TOKEN_TTL_SECONDS : Math.floor(secondsLeft)));
