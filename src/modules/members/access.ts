import { asPrincipal } from '../auth/session-context.js';
import type { Database } from '../../db/database.js';
import type { OrganizationStatus, Role } from '../../db/schema.js';
import type { Tx } from '../../db/tenant.js';
import { AppError, forbidden, notFound } from '../../http/errors.js';
import type { Actor, RequestMeta } from '../audit/audit.js';
import type { Principal } from '../auth/tokens.js';
import { can, PLATFORM_PERMISSIONS, type PlatformPermission } from './roles.js';

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
 * The one gate of every organization-scoped use case: one transaction in the
 * organization's tenant context, the caller's membership read fresh in the same
 * statement, then visibility (404), suspension (403 ORGANIZATION_SUSPENDED) and
 * permission (403 FORBIDDEN) checks before `fn` runs.
 */
export async function inOrganization<T>(
  db: Database,
  caller: Caller,
  orgId: string,
  permission: PlatformPermission,
  fn: (tx: Tx, c: OrgCaller) => Promise<T>,
): Promise<T> {
  const p = caller.principal;
  return asPrincipal(db, p, orgId, async (tx, e) => {
    const platformAdmin = e.platformRole === 'platform_admin';
    const member = e.memberRole !== null && e.orgStatus !== 'archived';
    if (e.orgStatus === null || (!member && !platformAdmin)) throw notFound('Organization');

    const byRole = member && can(e.memberRole, permission as never);
    const byPlatform = platformAdmin && PLATFORM_PERMISSIONS.includes(permission);
    if (!byPlatform && e.orgStatus === 'suspended' && permission !== 'organization:read') {
      throw new AppError('ORGANIZATION_SUSPENDED', 'This organization is suspended');
    }
    if (!byRole && !byPlatform) throw forbidden();

    return fn(tx, {
      userId: p.userId,
      sessionId: p.sessionId,
      role: member ? e.memberRole : null,
      platformAdmin,
      orgStatus: e.orgStatus,
      actor: { type: byRole ? 'user' : 'platform_admin', id: p.userId },
      meta: caller.meta,
    });
  });
}
