import { sql } from 'kysely';
import type { Role } from '../../db/schema.js';
import type { ApiKeyEnteredRow, EnteredRow, TenantContext, Tx } from '../../db/tenant-context.js';
import { RawJson } from '../../http/raw-json.js';

type MembersPage = { data: string; next_after: string | null };

/**
 * A page of an organization's members by user id, as one statement that also enters
 * the tenant context (tenantry_members_page, sql/reads.sql). The page is the JSON array
 * of the memberships' stored entries, which the database renders when a membership or
 * its user's name changes (sql/member-entry.sql).
 */
export const membersPage = (after: string | undefined, limit: number) => (ctx: TenantContext) =>
  sql<
    EnteredRow & { may_see: boolean } & MembersPage
  >`select * from tenantry_members_page(${ctx.orgId}::uuid, ${ctx.userId}::uuid, ${ctx.sessionId}::uuid, ${after ?? null}::uuid, ${limit}::int)`;

/** The same page as one statement in an API key's context (tenantry_members_page_as_key, sql/reads.sql). */
export const membersPageAsKey = (after: string | undefined, limit: number) => (ctx: TenantContext) =>
  sql<
    ApiKeyEnteredRow & { may_see: boolean } & MembersPage
  >`select * from tenantry_members_page_as_key(${ctx.orgId}::uuid, ${ctx.apiKeyId}::uuid, ${after ?? null}::uuid, ${limit}::int)`;

/** The same page read inside a transaction already in the organization's context (a tool's read). */
export async function membersPageIn(tx: Tx, orgId: string, after: string | undefined, limit: number): Promise<MembersPage> {
  let q = tx
    .selectFrom('memberships')
    .select(['user_id', sql<string>`entry`.as('entry')])
    .where('organization_id', '=', orgId)
    .orderBy('user_id')
    .limit(limit + 1);
  if (after) q = q.where('user_id', '>', after);
  const rows = await q.execute();
  const next_after = rows.length > limit ? rows[limit - 1]!.user_id : null;
  return {
    data: `[${rows
      .slice(0, limit)
      .map((r) => r.entry)
      .join(',')}]`,
    next_after,
  };
}

/** The member's stored entry (sql/member-entry.sql): the same rendering as the list's. */
export const memberEntry = async (tx: Tx, orgId: string, userId: string): Promise<RawJson> => {
  const row = await tx
    .selectFrom('memberships')
    .select(sql<string>`entry`.as('entry'))
    .where('organization_id', '=', orgId)
    .where('user_id', '=', userId)
    .executeTakeFirstOrThrow();
  return new RawJson(row.entry);
};

/**
 * Locks, in one order, the organization's owner rows and the rows of the people
 * involved, and returns their current roles. Two concurrent role changes queue here,
 * so each sees the other's result: the last-owner rule holds under concurrency.
 */
export const lockMembers = (tx: Tx, orgId: string, userIds: string[]) =>
  tx
    .selectFrom('memberships')
    .select(['user_id', 'role'])
    .where('organization_id', '=', orgId)
    .where((eb) => eb.or([eb('role', '=', 'owner'), eb('user_id', 'in', userIds)]))
    .orderBy('user_id')
    .forUpdate()
    .execute();

export const updateRole = (tx: Tx, orgId: string, userId: string, role: Role) =>
  tx
    .updateTable('memberships')
    .set({ role, updated_at: new Date() })
    .where('organization_id', '=', orgId)
    .where('user_id', '=', userId)
    .execute();

export const deleteMember = (tx: Tx, orgId: string, userId: string) =>
  tx.deleteFrom('memberships').where('organization_id', '=', orgId).where('user_id', '=', userId).execute();

export const insertMember = (tx: Tx, orgId: string, userId: string, role: Role) =>
  tx
    .insertInto('memberships')
    .values({ organization_id: orgId, user_id: userId, role })
    .onConflict((oc) => oc.columns(['organization_id', 'user_id']).doNothing())
    .returning('user_id')
    .executeTakeFirst();
