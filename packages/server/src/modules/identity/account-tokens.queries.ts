import { sql } from 'kysely';
import type { AccountTokenPurpose } from '../../db/schema.js';
import type { Tx } from '../../db/tenant-context.js';
import { type OutgoingEmail, outboxRow } from '../mail/outbox.js';

// Emailed account tokens (migrations/040, sql/policies/account_tokens.sql) and the user
// columns the account lifecycle changes.

export const insertAccountToken = (
  tx: Tx,
  t: { hash: Buffer; userId: string; purpose: AccountTokenPurpose; email: string; expiresAt: Date },
) =>
  tx
    .insertInto('account_tokens')
    .values({ token_hash: t.hash, user_id: t.userId, purpose: t.purpose, email: t.email, expires_at: t.expiresAt })
    .execute();

/**
 * Issues a reset token to the transaction's user and queues its email, in one statement
 * that does the same work whether or not there is a user: with none (an unknown email)
 * both inserts select nothing. The outbox row is the one enqueueEmail writes.
 */
export async function insertResetTokenWithEmail(tx: Tx, t: { hash: Buffer; expiresAt: Date; mail: OutgoingEmail }) {
  const row = outboxRow(t.mail);
  await sql`
    with issued as (
      insert into account_tokens (token_hash, user_id, purpose, email, expires_at)
      select ${t.hash}, u.id, 'reset_password', u.email, ${t.expiresAt}
      from users u where u.id = tenantry_user_id()
      returning email)
    insert into email_outbox (id, recipient, subject, text_body, html_body)
    select ${row.id}, issued.email, ${row.subject}, ${row.text_body}, ${row.html_body} from issued`.execute(tx);
}

/** Makes the token's row reachable in this transaction (the presented-token policy). */
export const presentToken = (tx: Tx, hash: Buffer) =>
  sql`select set_config('app.presented_token', ${hash.toString('hex')}, true)`.execute(tx);

/** Uses a presented token once: of two concurrent uses, exactly one gets the row. */
export const useAccountToken = (tx: Tx, hash: Buffer, purposes: AccountTokenPurpose[]) =>
  tx
    .updateTable('account_tokens')
    .set({ used_at: sql<Date>`now()` })
    .where('token_hash', '=', hash)
    .where('purpose', 'in', purposes)
    .where('used_at', 'is', null)
    .where('expires_at', '>', sql<Date>`now()`)
    .returning(['user_id', 'purpose', 'email'])
    .executeTakeFirst();

/** Uses up the user's other tokens of a purpose (a reset ends every outstanding reset link). */
export const useUpTokens = (tx: Tx, userId: string, purpose: AccountTokenPurpose) =>
  tx
    .updateTable('account_tokens')
    .set({ used_at: sql<Date>`now()` })
    .where('user_id', '=', userId)
    .where('purpose', '=', purpose)
    .where('used_at', 'is', null)
    .execute();

/** The account with this address, if any (sql/credentials.sql: a user context sees no other account's row). */
export const findUserIdByEmail = async (tx: Tx, email: string) => {
  const { rows } = await sql<{ id: string | null }>`select tenantry_user_id_by_email(${email}) as id`.execute(tx);
  return rows[0]?.id ? { id: rows[0].id } : undefined;
};

export const findEmailState = (tx: Tx, userId: string) =>
  tx
    .selectFrom('users')
    .select(['email', sql<boolean>`email_verified_at is not null`.as('email_verified')])
    .where('id', '=', userId)
    .executeTakeFirstOrThrow();

export const emailInUse = async (tx: Tx, email: string) => (await findUserIdByEmail(tx, email)) !== undefined;

/** Marks the address verified while it is still the account's; false otherwise. */
export const markEmailVerified = async (tx: Tx, userId: string, email: string) =>
  (await tx
    .updateTable('users')
    .set({ email_verified_at: sql<Date>`coalesce(email_verified_at, now())` })
    .where('id', '=', userId)
    .where('email', '=', email)
    .returning('id')
    .executeTakeFirst()) !== undefined;

/** The account's address, locked until the switch commits. */
export const lockEmail = async (tx: Tx, userId: string) =>
  (await tx.selectFrom('users').select('email').where('id', '=', userId).forUpdate().executeTakeFirstOrThrow()).email;

/** Switches to a verified address; a taken one fails on the unique email (23505). */
export const switchEmail = (tx: Tx, userId: string, email: string) =>
  tx.updateTable('users').set({ email, email_verified_at: sql<Date>`now()`, updated_at: new Date() }).where('id', '=', userId).execute();

/** Sets a password proved by the account's mailbox (which it then counts as verified); false if the address changed since. */
export const setPasswordFromMailbox = async (tx: Tx, userId: string, email: string, passwordHash: string) =>
  (await tx
    .updateTable('users')
    .set({ password_hash: passwordHash, email_verified_at: sql<Date>`coalesce(email_verified_at, now())`, updated_at: new Date() })
    .where('id', '=', userId)
    .where('email', '=', email)
    .returning('id')
    .executeTakeFirst()) !== undefined;

/** Every organization the user is a member of, archived ones too, in lock order. */
export const listMembershipOrganizations = (tx: Tx, userId: string) =>
  tx
    .selectFrom('memberships as m')
    .innerJoin('organizations as o', 'o.id', 'm.organization_id')
    .select(['m.organization_id', 'o.status'])
    .where('m.user_id', '=', userId)
    .orderBy('m.organization_id')
    .execute();

/** Deletes the user; their sessions, refresh tokens and account tokens go with it (foreign keys). */
export const deleteUser = (tx: Tx, userId: string) => tx.deleteFrom('users').where('id', '=', userId).execute();
