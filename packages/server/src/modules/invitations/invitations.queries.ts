import { sql } from 'kysely';
import type { InvitationStatus, Role } from '../../db/schema.js';
import type { Tx } from '../../db/tenant-context.js';

/** The status a client sees: a pending invitation past its expiry (database clock) is expired. */
const effectiveStatus = sql<InvitationStatus>`
  case when status = 'pending' and expires_at <= now() then 'expired' else status end`;

const invitations = (tx: Tx) =>
  tx
    .selectFrom('invitations')
    .select(['id', 'organization_id', 'email', 'role', 'invited_by', 'expires_at', 'created_at', effectiveStatus.as('status')]);

export const findInvitation = (tx: Tx, orgId: string, id: string) =>
  invitations(tx).where('organization_id', '=', orgId).where('id', '=', id).executeTakeFirst();

export function listInvitations(
  tx: Tx,
  orgId: string,
  f: { status?: InvitationStatus | undefined; after?: string | undefined; limit: number },
) {
  let q = invitations(tx)
    .where('organization_id', '=', orgId)
    .orderBy('id')
    .limit(f.limit + 1);
  if (f.after) q = q.where('id', '>', f.after);
  if (f.status) q = q.where(effectiveStatus, '=', f.status);
  return q.execute();
}

export const isMemberByEmail = async (tx: Tx, orgId: string, email: string) =>
  (await tx
    .selectFrom('memberships as m')
    .innerJoin('users as u', 'u.id', 'm.user_id')
    .select('m.user_id')
    .where('m.organization_id', '=', orgId)
    .where('u.email', '=', email)
    .executeTakeFirst()) !== undefined;

/** Lapsed pending invitations for this email stop blocking a new one. */
export const expireLapsed = (tx: Tx, orgId: string, email: string) =>
  tx
    .updateTable('invitations')
    .set({ status: 'expired' })
    .where('organization_id', '=', orgId)
    .where('email', '=', email)
    .where('status', '=', 'pending')
    .where('expires_at', '<=', sql<Date>`now()`)
    .execute();

export const insertInvitation = (
  tx: Tx,
  row: { id: string; organization_id: string; email: string; role: Role; token_hash: Buffer; invited_by: string; ttlSeconds: number },
) =>
  tx
    .insertInto('invitations')
    .values({
      id: row.id,
      organization_id: row.organization_id,
      email: row.email,
      role: row.role,
      token_hash: row.token_hash,
      invited_by: row.invited_by,
      expires_at: sql<Date>`now() + make_interval(secs => ${row.ttlSeconds})`,
    })
    .returning(['id', 'organization_id', 'email', 'role', 'invited_by', 'expires_at', 'created_at', effectiveStatus.as('status')])
    .executeTakeFirstOrThrow();

/** The invitation a token names, locked: concurrent accepts of one invitation queue here. */
export const lockInvitationByToken = (tx: Tx, tokenHash: Buffer) =>
  tx
    .selectFrom('invitations')
    .select(['id', 'organization_id', 'email', 'role', 'invited_by', 'status'])
    .select(sql<boolean>`expires_at > now()`.as('unexpired'))
    .where('token_hash', '=', tokenHash)
    .forUpdate()
    .executeTakeFirst();

export const markAccepted = (tx: Tx, orgId: string, id: string, userId: string) =>
  tx
    .updateTable('invitations')
    .set({ status: 'accepted', accepted_at: sql<Date>`now()`, accepted_by: userId })
    .where('organization_id', '=', orgId)
    .where('id', '=', id)
    .execute();

export const markRevoked = (tx: Tx, orgId: string, id: string) =>
  tx
    .updateTable('invitations')
    .set({ status: 'revoked', revoked_at: sql<Date>`now()` })
    .where('organization_id', '=', orgId)
    .where('id', '=', id)
    .where('status', '=', 'pending')
    .executeTakeFirst();

/** The inviter's current role in the organization, locked so a concurrent demotion waits for the acceptance (null: no longer a member). */
export const lockInviterRole = async (tx: Tx, orgId: string, inviterId: string | null): Promise<Role | null> => {
  if (inviterId === null) return null;
  const row = await tx
    .selectFrom('memberships')
    .select('role')
    .where('organization_id', '=', orgId)
    .where('user_id', '=', inviterId)
    .forShare()
    .executeTakeFirst();
  return row?.role ?? null;
};
