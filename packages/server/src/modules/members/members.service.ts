import type { Database } from '../../db/database.js';
import { isUuid } from '../../db/ids.js';
import type { Role } from '../../db/schema.js';
import type { Tx } from '../../db/tenant-context.js';
import { AppError, forbidden, notFound } from '../../http/errors.js';
import { decodeCursor, renderedPage } from '../../http/pagination.js';
import { actingUser, type Caller, type OrgCaller } from '../access/gate.js';
import { atLeast, can } from '../access/roles.js';
import { inOrganization, readInOrganization } from '../access/transactions.js';
import { record } from '../audit/audit.js';
import { emitSessionsRevoked } from '../events/session-events.js';
import { revokeUserSessions } from '../identity/sessions.js';
import { deleteMember, lockMembers, memberEntry, membersPage, membersPageAsKey, membersPageIn, updateRole } from './members.queries.js';

export async function getMembers(
  db: Database,
  caller: Caller,
  orgId: string,
  q: { limit?: number | undefined; cursor?: string | undefined },
) {
  const limit = q.limit ?? 20;
  const after = decodeCursor(q.cursor, isUuid);
  const { data, next_after } = await readInOrganization(db, caller, orgId, 'members:read', {
    asUser: membersPage(after, limit),
    asApiKey: membersPageAsKey(after, limit),
    inTransaction: (tx) => membersPageIn(tx, orgId, after, limit),
  });
  return renderedPage(data, next_after);
}

/** Fresh roles of the actor and the target, with the owners locked; 404 when the target is not a member. */
async function lockedRoles(tx: Tx, orgId: string, c: OrgCaller, targetId: string) {
  const actorId = actingUser(c);
  const rows = await lockMembers(tx, orgId, [actorId, targetId]);
  const roleOf = (id: string) => rows.find((r) => r.user_id === id)?.role ?? null;
  const target = roleOf(targetId);
  if (!target) throw notFound('Member');
  return { actor: roleOf(actorId), target, owners: rows.filter((r) => r.role === 'owner').length };
}

const lastOwner = () => new AppError('LAST_OWNER', 'An organization must keep at least one owner');

export async function changeRole(db: Database, caller: Caller, orgId: string, targetId: string, role: Role) {
  return inOrganization(db, caller, orgId, 'members:manage', async (tx, c) => {
    const now = await lockedRoles(tx, orgId, c, targetId);
    // The actor's role as it is now, after any concurrent change has committed.
    if (!now.actor || !can(now.actor, 'members:manage')) throw forbidden();
    if (!atLeast(now.actor, role)) throw forbidden('You cannot grant a role above your own');
    if ((now.target === 'owner' || role === 'owner') && !can(now.actor, 'owners:manage')) throw forbidden('Only owners can change owners');
    if (now.target === 'owner' && role !== 'owner' && now.owners <= 1) throw lastOwner();
    if (now.target !== role) {
      await updateRole(tx, orgId, targetId, role);
      await record(tx, c, { action: 'member.role_changed', target: { type: 'user', id: targetId }, data: { from: now.target, to: role } });
    }
    return memberEntry(tx, orgId, targetId);
  });
}

/** Removes a member, or the caller themself (leaving); ends the removed member's sessions scoped here. */
export async function removeMember(db: Database, caller: Caller, orgId: string, targetId: string) {
  const leaving = caller.principal.type === 'user' && targetId === caller.principal.userId;
  return inOrganization(db, caller, orgId, leaving ? 'members:read' : 'members:manage', async (tx, c) => {
    const now = await lockedRoles(tx, orgId, c, targetId);
    if (!leaving) {
      if (!now.actor || !can(now.actor, 'members:manage')) throw forbidden();
      if (now.target === 'owner' && !can(now.actor, 'owners:manage')) throw forbidden('Only owners can remove owners');
      if (!atLeast(now.actor, now.target)) throw forbidden('You cannot remove a member above your own role');
    }
    if (now.target === 'owner' && now.owners <= 1) throw lastOwner();
    await deleteMember(tx, orgId, targetId);
    const reason = leaving ? 'left_organization' : 'removed_from_organization';
    const ended = await revokeUserSessions(tx, targetId, reason, { organizationId: orgId });
    await record(tx, c, { action: 'member.removed', target: { type: 'user', id: targetId }, data: { role: now.target, left: leaving } });
    await emitSessionsRevoked(tx, c, ended, reason);
  });
}
