import { type Kysely, sql } from 'kysely';
import type { Schema } from '../../db/schema.js';
import type { Tx } from '../../db/tenant-context.js';

/** Inserts unless the email is taken; undefined then. */
export const insertUser = (tx: Tx, row: { id: string; email: string; name: string; password_hash: string }) =>
  tx
    .insertInto('users')
    .values(row)
    .onConflict((oc) => oc.column('email').doNothing())
    .returning('id')
    .executeTakeFirst();

/** What a login checks, by canonical email (sql/credentials.sql: no request role reads password_hash otherwise). */
export const findCredentials = async (tx: Tx, email: string) =>
  (await sql<{ id: string; password_hash: string | null }>`select * from tenantry_password_hash(${email})`.execute(tx)).rows[0];

/** The signed-in user's own email and password hash (sql/credentials.sql). */
export const findOwnPasswordHash = async (tx: Tx) => {
  const row = (await sql<{ email: string; password_hash: string | null }>`select * from tenantry_own_password_hash()`.execute(tx)).rows[0];
  if (!row) throw new Error('the signed-in user has no row');
  return row;
};

/** How a user is addressed and named to others (invitations). */
export const findUserContact = (tx: Tx, userId: string) =>
  tx.selectFrom('users').select(['id', 'name', 'email']).where('id', '=', userId).executeTakeFirstOrThrow();

export const updateUser = (tx: Tx, userId: string, set: { name?: string; password_hash?: string }) =>
  tx
    .updateTable('users')
    .set({ ...set, updated_at: new Date() })
    .where('id', '=', userId)
    .execute();

export const findProfile = (tx: Tx, userId: string) =>
  tx
    .selectFrom('users')
    .select(['id', 'email', 'name', 'platform_role', sql<boolean>`email_verified_at is not null`.as('email_verified')])
    .where('id', '=', userId)
    .executeTakeFirstOrThrow();

/** The user's memberships in organizations that are not archived, by organization name. */
export const listOwnMemberships = (tx: Tx, userId: string) =>
  tx
    .selectFrom('memberships as m')
    .innerJoin('organizations as o', 'o.id', 'm.organization_id')
    .select(['m.organization_id', 'o.name', 'o.slug', 'm.role'])
    .where('m.user_id', '=', userId)
    .where('o.status', '<>', 'archived')
    .orderBy('o.name')
    .orderBy('o.id')
    .execute();

/** What decides whether making `email` a platform admin changes anything. */
export const findAdminStanding = (tx: Kysely<Schema>, email: string) =>
  tx.selectFrom('users').select(['id', 'password_hash', 'platform_role']).where('email', '=', email).executeTakeFirst();

/** Creates a platform admin, or makes the user with this email one, with this password. */
export const upsertPlatformAdmin = (tx: Kysely<Schema>, row: { id: string; email: string; name: string; password_hash: string }) =>
  tx
    .insertInto('users')
    .values({ ...row, platform_role: 'platform_admin' })
    .onConflict((oc) =>
      oc.column('email').doUpdateSet({ password_hash: row.password_hash, platform_role: 'platform_admin', updated_at: new Date() }),
    )
    .returning('id')
    .executeTakeFirstOrThrow();
