import { randomBytes } from 'node:crypto';
import type { Config } from '../../config.js';
import type { Database } from '../../db/database.js';
import { isUuid, uuidv7 } from '../../db/ids.js';
import type { InvitationStatus, Role } from '../../db/schema.js';
import type { Entered, Tx } from '../../db/tenant-context.js';
import { AppError, forbidden, notFound } from '../../http/errors.js';
import { decodeCursor, page } from '../../http/pagination.js';
import type { OrderedLimits } from '../../http/rate-limit.js';
import { actingUser, type Caller, organizationSuspended, refusedBySuspension } from '../access/gate.js';
import { actorOf, userActor, userOf } from '../access/principal.js';
import { atLeast } from '../access/roles.js';
import { enteringOrganization, inOrganization, switchToOrganization } from '../access/transactions.js';
import { type Actor, type RequestMeta, record } from '../audit/audit.js';
import { findUserContact } from '../identity/identity.queries.js';
import { hashToken } from '../identity/sessions.js';
import { normalizeEmail } from '../identity/users.js';
import { enqueueEmail } from '../mail/outbox.js';
import { insertMember } from '../members/members.queries.js';
import { findOrganization } from '../organizations/organizations.queries.js';
import { invitationEmail } from './invitation-email.js';
import {
  expireLapsed,
  findInvitation,
  insertInvitation,
  isMemberByEmail,
  listInvitations,
  lockInvitationByToken,
  lockInviterRole,
  markAccepted,
  markRevoked,
} from './invitations.queries.js';

// An invitation token names its organization (so acceptance can enter that tenant
// before looking the invitation up under RLS) and carries 256 random bits; only its
// hash is stored.
const TOKEN = /^inv_([0-9a-f]{32})_[A-Za-z0-9_-]{43}$/;

const newToken = (orgId: string) => `inv_${orgId.replaceAll('-', '')}_${randomBytes(32).toString('base64url')}`;

function orgOfToken(token: string): string | null {
  const m = TOKEN.exec(token);
  if (!m) return null;
  const h = m[1]!;
  const id = `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  return isUuid(id) ? id : null;
}

export const invitationInvalid = () => new AppError('INVITATION_INVALID', 'This invitation is invalid, expired, revoked or already used');
/** Names the problem without naming the invited address. */
const invitationEmailMismatch = () =>
  new AppError('INVITATION_EMAIL_MISMATCH', 'This invitation was sent to another email address; sign in with that address to accept it');

export interface InvitationDeps {
  db: Database;
  config: Pick<Config, 'invitationUrl' | 'invitationTtl' | 'invitationLimits'>;
  limits: OrderedLimits;
}

/**
 * Each invitation sends an email to an address of the inviter's choosing: per inviter,
 * then per organization, so one account cannot make the service a relay. Counted after
 * the gate admitted the caller, so outsiders cannot spend an organization's budget.
 */
const invitationLimits = (l: Config['invitationLimits'], orgId: string, inviterId: string) => [
  { key: `invite:inviter:${inviterId}`, max: l.perInviter, windowMs: l.windowMs },
  { key: `invite:org:${orgId}`, max: l.perOrganization, windowMs: l.windowMs },
];

export async function createInvitation(deps: InvitationDeps, caller: Caller, orgId: string, body: { email: string; role: Role }) {
  const email = normalizeEmail(body.email);
  return inOrganization(deps.db, caller, orgId, 'invitations:manage', async (tx, c) => {
    const inviterId = actingUser(c);
    if (!c.role || !atLeast(c.role, body.role)) throw forbidden('You cannot invite with a role above your own');
    if (await isMemberByEmail(tx, orgId, email)) throw new AppError('ALREADY_MEMBER', 'This email already belongs to a member');
    await deps.limits.check(invitationLimits(deps.config.invitationLimits, orgId, inviterId));
    await expireLapsed(tx, orgId, email);
    const token = newToken(orgId);
    let invitation: Awaited<ReturnType<typeof insertInvitation>>;
    try {
      invitation = await insertInvitation(tx, {
        id: uuidv7(),
        organization_id: orgId,
        email,
        role: body.role,
        token_hash: hashToken(token),
        invited_by: inviterId,
        ttlSeconds: deps.config.invitationTtl,
      });
    } catch (err) {
      if ((err as { code?: string }).code === '23505') throw new AppError('INVITATION_PENDING');
      throw err;
    }
    const acceptUrl = deps.config.invitationUrl.replaceAll('{token}', encodeURIComponent(token));
    const org = (await findOrganization(tx, orgId))!;
    const inviter = await findUserContact(tx, inviterId);
    await enqueueEmail(
      tx,
      invitationEmail({
        to: email,
        organization: org.name,
        inviter: inviter.name,
        role: body.role,
        acceptUrl,
        expiresAt: invitation.expires_at,
      }),
    );
    await record(tx, c, {
      action: 'invitation.created',
      target: { type: 'invitation', id: invitation.id },
      data: { email, role: body.role },
    });
    return { ...invitation, token, accept_url: acceptUrl };
  });
}

export async function getInvitations(
  deps: InvitationDeps,
  caller: Caller,
  orgId: string,
  q: { status?: InvitationStatus | undefined; limit?: number | undefined; cursor?: string | undefined },
) {
  const limit = q.limit ?? 20;
  const after = decodeCursor(q.cursor, isUuid);
  return inOrganization(deps.db, caller, orgId, 'invitations:manage', async (tx) =>
    page(await listInvitations(tx, orgId, { status: q.status, after, limit }), limit, (i) => i.id),
  );
}

export async function revokeInvitation(deps: InvitationDeps, caller: Caller, orgId: string, id: string) {
  return inOrganization(deps.db, caller, orgId, 'invitations:manage', async (tx, c) => {
    const inv = await findInvitation(tx, orgId, id);
    if (!inv) throw notFound('Invitation');
    if (!c.role || !atLeast(c.role, inv.role)) throw forbidden('You cannot revoke an invitation above your own role');
    if (inv.status !== 'pending' || !(await markRevoked(tx, orgId, id)).numUpdatedRows) {
      throw new AppError('INVALID_STATE', `The invitation is ${inv.status}`);
    }
    await record(tx, c, { action: 'invitation.revoked', target: { type: 'invitation', id }, data: { email: inv.email, role: inv.role } });
  });
}

/**
 * Accepts inside a transaction already entered in the token's organization as `user`, who
 * the audit log names as `actor`. Whatever is wrong with the invitation itself is the same
 * INVITATION_INVALID; a good invitation for another address is `wrongEmail`. Nothing changes on
 * any failure.
 */
async function acceptInTx(
  tx: Tx,
  entered: Entered,
  orgId: string,
  token: string,
  user: { id: string; email: string },
  actor: Actor,
  meta: RequestMeta,
  wrongEmail: () => AppError,
) {
  const inv = await lockInvitationByToken(tx, hashToken(token));
  if (!inv || inv.organization_id !== orgId || inv.status !== 'pending' || !inv.unexpired) throw invitationInvalid();
  if (inv.email !== user.email) throw wrongEmail();
  if (refusedBySuspension(entered.orgStatus, 'join')) throw organizationSuspended();
  if (entered.orgStatus !== 'active') throw invitationInvalid();
  // An invitation grants no more than its inviter still could: removed or demoted below
  // the invited role since, the invitation is void.
  const inviterRole = await lockInviterRole(tx, orgId, inv.invited_by);
  if (!inviterRole || !atLeast(inviterRole, inv.role)) throw invitationInvalid();
  if (!(await insertMember(tx, orgId, user.id, inv.role)))
    throw new AppError('ALREADY_MEMBER', 'You are already a member of this organization');
  await markAccepted(tx, orgId, inv.id, user.id);
  const by = { organizationId: orgId, actor, meta };
  await record(tx, by, {
    action: 'invitation.accepted',
    target: { type: 'invitation', id: inv.id },
    data: { email: inv.email, role: inv.role, user_id: user.id },
  });
  await record(tx, by, { action: 'member.added', target: { type: 'user', id: user.id }, data: { role: inv.role, invitation_id: inv.id } });
  return { organization_id: orgId, role: inv.role };
}

/** A signed-in user accepts; their email must be the invitation's. */
export async function acceptInvitation(deps: InvitationDeps, caller: Caller, token: string) {
  const orgId = orgOfToken(token);
  if (!orgId) throw invitationInvalid();
  const p = userOf(caller.principal);
  return enteringOrganization(deps.db, p, orgId, async (tx, e) => {
    const user = await findUserContact(tx, p.userId);
    return acceptInTx(tx, e, orgId, token, user, actorOf(p), caller.meta, invitationEmailMismatch);
  });
}

/** For signup with invitation_token: runs in the signup transaction; returns the organization joined. */
export function acceptOnSignup(token: string, meta: RequestMeta) {
  return async (tx: Tx, user: { id: string; email: string }): Promise<string> => {
    const orgId = orgOfToken(token);
    if (!orgId) throw invitationInvalid();
    const entered = await switchToOrganization(tx, orgId, user.id);
    // Signing up with another address than the invited one tells nothing about the invitation.
    return (await acceptInTx(tx, entered, orgId, token, user, userActor(user.id), meta, invitationInvalid)).organization_id;
  };
}
