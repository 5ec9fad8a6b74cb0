import type { RawBuilder } from 'kysely';
import type { Database } from '../../db/database.js';
import type { OrganizationStatus, Role } from '../../db/schema.js';
import { type Entered, type EnteredRow, readInContext, type TenantContext, type Tx, withTenant } from '../../db/tenant-context.js';
import { AppError, forbidden, notFound } from '../../http/errors.js';
import type { Actor, RequestMeta } from '../audit/audit.js';
import type { Principal } from '../oauth/tokens.js';
import { can, PLATFORM_PERMISSIONS, type PlatformPermission } from './roles.js';
import { requireLiveSession } from './session-context.js';

/** What a route hands a module about its caller. */
export interface Caller {
  principal: Principal;
  meta: RequestMeta;
}

/** The caller as seen inside an organization's transaction, fresh from the database. */
export interface OrgCaller {
  userId: string;
  sessionId: string;
  role: Role | null;
  platformAdmin: boolean;
  orgStatus: OrganizationStatus;
  /** Who the audit log names: a member acts as a user, an outsider platform admin as platform_admin. */
  actor: Actor;
  meta: RequestMeta;
}

/**
 * The one gate of every organization-scoped use case. It decides on the caller's
 * context as the database returned it at the start of the work: a live session, then
 * visibility (404), suspension (403 ORGANIZATION_SUSPENDED) and permission (403 FORBIDDEN).
 */
function admit(caller: Caller, e: Entered, permission: PlatformPermission): OrgCaller {
  requireLiveSession(e);
  const p = caller.principal;
  const platformAdmin = e.platformRole === 'platform_admin';
  const member = e.memberRole !== null && e.orgStatus !== 'archived';
  if (e.orgStatus === null || (!member && !platformAdmin)) throw notFound('Organization');

  const byRole = member && can(e.memberRole, permission as never);
  const byPlatform = platformAdmin && PLATFORM_PERMISSIONS.includes(permission);
  if (!byPlatform && e.orgStatus === 'suspended' && permission !== 'organization:read') {
    throw new AppError('ORGANIZATION_SUSPENDED', 'This organization is suspended');
  }
  if (!byRole && !byPlatform) throw forbidden();

  return {
    userId: p.userId,
    sessionId: p.sessionId,
    role: member ? e.memberRole : null,
    platformAdmin,
    orgStatus: e.orgStatus,
    actor: { type: byRole ? 'user' : 'platform_admin', id: p.userId },
    meta: caller.meta,
  };
}

const contextOf = (caller: Caller, orgId: string): TenantContext => ({
  orgId,
  userId: caller.principal.userId,
  sessionId: caller.principal.sessionId,
});

/**
 * Runs `fn` in one transaction in the organization's tenant context, after the
 * gate admitted the caller, whose membership is read fresh by the statement that
 * enters the context.
 */
export function inOrganization<T>(
  db: Database,
  caller: Caller,
  orgId: string,
  permission: PlatformPermission,
  fn: (tx: Tx, c: OrgCaller) => Promise<T>,
): Promise<T> {
  return withTenant(db, contextOf(caller, orgId), (tx, e) => fn(tx, admit(caller, e, permission)));
}

/**
 * A hot read as one statement (see readInContext): the same gate decides on the
 * caller's context that arrives with what was read, which is returned only if it
 * admits the caller. `may_see` is the database's own guard (migration 007); it agrees
 * with the gate's visibility check, and nothing is returned where it did not read.
 */
export async function readInOrganization<R>(
  db: Database,
  caller: Caller,
  orgId: string,
  permission: PlatformPermission,
  statement: (ctx: TenantContext) => RawBuilder<EnteredRow & { may_see: boolean } & R>,
): Promise<R> {
  const { entered, row } = await readInContext(db, contextOf(caller, orgId), statement);
  admit(caller, entered, permission);
  if (!row.may_see) throw notFound('Organization');
  return row;
}
