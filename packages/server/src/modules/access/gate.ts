import type { OrganizationStatus, Role } from '../../db/schema.js';
import type { Entered } from '../../db/tenant-context.js';
import { AppError, forbidden, notFound } from '../../http/errors.js';
import type { Actor, RequestMeta } from '../audit/audit.js';
import { unauthenticated } from '../oauth/tokens.js';
import { type ApiKeyPrincipal, actorOf, type Principal, type ToolPrincipal, tokenOrgOf } from './principal.js';
import { can, isPlatformPermission, type PlatformPermission } from './roles.js';

/** What a route hands a module about its caller. */
export interface Caller {
  principal: Principal;
  meta: RequestMeta;
}

/** The caller as seen inside an organization's transaction, fresh from the database. */
export interface OrgCaller {
  principal: Principal;
  /** The organization admitted to: where the caller's audit events go. */
  organizationId: string;
  /** The acting user; null when a tool acts. */
  userId: string | null;
  role: Role | null;
  platformAdmin: boolean;
  orgStatus: OrganizationStatus;
  /** Who the audit log names: a member acts as a user, an outsider platform admin as platform_admin. */
  actor: Actor;
  meta: RequestMeta;
}

/** The user an admitted caller acts as, for the use cases only a person performs (a tool is refused). */
export function actingUser(c: OrgCaller): string {
  if (c.userId === null) throw forbidden('This action requires a signed-in user');
  return c.userId;
}

/** The refusal of a token whose session has ended. */
export const sessionEnded = () => unauthenticated('The session has ended');

/** A revoked or expired session is refused here, once for every route. */
export function requireLiveSession(e: Entered): void {
  if (!e.sessionLive) throw e.apiKey ? unauthenticated('The API key is revoked or has expired') : sessionEnded();
}

/**
 * A token scoped to an organization acts in that organization only: anywhere else it is
 * the 404 of a non-member, whatever the user's memberships there. Decided from the token
 * alone, so the entry points ask it before any query (no round trip for a refusal).
 */
export function requireInTokenScope(p: Principal, orgId: string): void {
  const bound = tokenOrgOf(p);
  // A tool's token without an organization serves discovery only: it is in no organization's scope.
  if ((bound !== null || p.type === 'tool') && bound !== orgId) throw notFound('Organization');
}

/** What a caller wants of an organization, as far as its suspension is concerned. */
export type OrganizationUse = 'read' | 'change' | 'scope_token' | 'join';

/**
 * The suspension rule: a suspended organization answers ORGANIZATION_SUSPENDED except
 * on reading it, and no token can be scoped to it (nor can anyone join it).
 */
export const refusedBySuspension = (status: OrganizationStatus | null, use: OrganizationUse): boolean =>
  status === 'suspended' && use !== 'read';

export const organizationSuspended = () => new AppError('ORGANIZATION_SUSPENDED', 'This organization is suspended');

/**
 * The one gate of every organization-scoped use case. It decides on the caller's
 * context as the database returned it at the start of the work: a live session, then
 * visibility (404), suspension (403 ORGANIZATION_SUSPENDED) and permission (403 FORBIDDEN).
 */
export function admit(caller: Caller, orgId: string, e: Entered, permission: PlatformPermission): OrgCaller {
  requireLiveSession(e);
  const p = caller.principal;
  requireInTokenScope(p, orgId);
  if (p.type === 'tool') return admitTool(caller, p, orgId, e, permission);
  if (p.type === 'api_key') return admitApiKey(caller, p, orgId, e, permission);
  const platformAdmin = e.platformRole === 'platform_admin';
  const member = e.memberRole !== null && e.orgStatus !== 'archived';
  if (e.orgStatus === null || (!member && !platformAdmin)) throw notFound('Organization');

  const byRole = member && can(e.memberRole, permission);
  const byPlatform = platformAdmin && isPlatformPermission(permission);
  if (!byPlatform && refusedBySuspension(e.orgStatus, permission === 'organization:read' ? 'read' : 'change')) {
    throw organizationSuspended();
  }
  if (!byRole && !byPlatform) throw forbidden();

  return {
    principal: p,
    organizationId: orgId,
    userId: p.userId,
    role: member ? e.memberRole : null,
    platformAdmin,
    orgStatus: e.orgStatus,
    actor: actorOf(p, byRole ? 'member' : 'platform_admin'),
    meta: caller.meta,
  };
}

/**
 * The gate for a tool (its token is bound to `orgId`, checked above): the organization
 * must be active and the tool enabled there, read fresh, or the organization is not
 * there for it (404, so disabling stops it at once); the permission must be both in its
 * token and in its enablement as it is now (403).
 */
function admitTool(caller: Caller, p: ToolPrincipal, orgId: string, e: Entered, permission: PlatformPermission): OrgCaller {
  if (e.orgStatus !== 'active' || e.tool?.enablement !== 'active') throw notFound('Organization');
  if (!p.permissions.includes(permission) || !e.tool.scopes.includes(permission)) {
    throw forbidden('The tool is not allowed this in the organization');
  }
  return machineCaller(caller, p, orgId, e.orgStatus);
}

/** An admitted caller that is no person: no user, no role, and itself as the audit actor. */
const machineCaller = (caller: Caller, p: ToolPrincipal | ApiKeyPrincipal, orgId: string, orgStatus: OrganizationStatus): OrgCaller => ({
  principal: p,
  organizationId: orgId,
  userId: null,
  role: null,
  platformAdmin: false,
  orgStatus,
  actor: actorOf(p),
  meta: caller.meta,
});

/**
 * The gate for an API key (bound to `orgId`, checked above; live, checked above): its
 * organization must not be archived (404) nor suspended (403 ORGANIZATION_SUSPENDED: no
 * key acts in a suspended organization, not even to read), and the permission must be
 * one of the key's scopes as the database holds them now (403).
 */
function admitApiKey(caller: Caller, p: ApiKeyPrincipal, orgId: string, e: Entered, permission: PlatformPermission): OrgCaller {
  if (e.orgStatus === null || e.orgStatus === 'archived') throw notFound('Organization');
  if (e.orgStatus === 'suspended') throw organizationSuspended();
  if (!e.apiKey?.scopes.includes(permission)) throw forbidden(`The API key does not carry the ${permission} scope`);
  return machineCaller(caller, p, orgId, e.orgStatus);
}

/**
 * The role a token scoped to `e`'s organization carries: the user must be a member of an
 * organization that is neither archived nor suspended.
 */
export function tokenScope(e: Entered): { role: Role } | { problem: 'not_member' | 'suspended' } {
  if (!e.memberRole || e.orgStatus === null || e.orgStatus === 'archived') return { problem: 'not_member' };
  if (refusedBySuspension(e.orgStatus, 'scope_token')) return { problem: 'suspended' };
  return { role: e.memberRole };
}
