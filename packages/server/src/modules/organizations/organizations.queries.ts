import { sql } from 'kysely';
import type { OrganizationStatus, Role } from '../../db/schema.js';
import type { ApiKeyEnteredRow, EnteredRow, TenantContext, Tx } from '../../db/tenant-context.js';

export const ORGANIZATION_COLUMNS = [
  'id',
  'name',
  'slug',
  'industry',
  'size',
  'domains',
  'status',
  'metadata',
  'created_at',
  'updated_at',
] as const;

export const findOrganization = (tx: Tx, id: string) =>
  tx.selectFrom('organizations').select(ORGANIZATION_COLUMNS).where('id', '=', id).executeTakeFirst();

type OrganizationRow = NonNullable<Awaited<ReturnType<typeof findOrganization>>>;

/** The organization as one statement that also enters the tenant context (tenantry_organization, sql/reads.sql). */
export const organizationRead = (ctx: TenantContext) =>
  sql<
    EnteredRow & { may_see: boolean } & OrganizationRow
  >`select * from tenantry_organization(${ctx.orgId}::uuid, ${ctx.userId}::uuid, ${ctx.sessionId}::uuid)`;

/** The same as one statement in an API key's context (tenantry_organization_as_key, sql/reads.sql). */
export const organizationReadAsKey = (ctx: TenantContext) =>
  sql<
    ApiKeyEnteredRow & { may_see: boolean } & OrganizationRow
  >`select * from tenantry_organization_as_key(${ctx.orgId}::uuid, ${ctx.apiKeyId}::uuid)`;

/**
 * Inserts the organization with `ownerId` as its owner, in one statement (one round trip),
 * unless the slug is taken (in any tenant: the unique index sees through RLS); undefined
 * then, and no membership either. The owner's membership is written as insertMember
 * writes one (its trigger renders the member-list entry).
 */
export const insertOrganizationWithOwner = (
  tx: Tx,
  row: { id: string; name: string; slug: string; industry: string; size: string | null; domains: string[]; metadata: string },
  ownerId: string,
) =>
  tx
    .with('org', (db) =>
      db
        .insertInto('organizations')
        .values(row)
        .onConflict((oc) => oc.column('slug').doNothing())
        .returning(ORGANIZATION_COLUMNS),
    )
    .with('owner', (db) =>
      db
        .insertInto('memberships')
        .columns(['organization_id', 'user_id', 'role'])
        .expression(db.selectFrom('org').select(['org.id', sql<string>`${ownerId}::uuid`.as('user_id'), sql<Role>`'owner'`.as('role')])),
    )
    .selectFrom('org')
    .select(ORGANIZATION_COLUMNS)
    .executeTakeFirst();

export const updateOrganization = (tx: Tx, id: string, set: Record<string, unknown>) =>
  tx
    .updateTable('organizations')
    .set({ ...set, updated_at: sql<Date>`now()` })
    .where('id', '=', id)
    .returning(ORGANIZATION_COLUMNS)
    .executeTakeFirstOrThrow();

export const setOrganizationStatus = (tx: Tx, id: string, status: OrganizationStatus) => updateOrganization(tx, id, { status });

/** Organizations visible in the transaction's context: a user's own, or (platform role) all of them. */
export function listOrganizations(
  tx: Tx,
  f: {
    after?: string | undefined;
    limit: number;
    q?: string | undefined;
    industry?: string | undefined;
    status?: string | undefined;
    memberOnly: boolean;
  },
) {
  let query = tx
    .selectFrom('organizations')
    .select(ORGANIZATION_COLUMNS)
    .orderBy('id')
    .limit(f.limit + 1);
  if (f.after) query = query.where('id', '>', f.after);
  if (f.memberOnly) query = query.where('status', '<>', 'archived');
  if (f.status) query = query.where('status', '=', f.status as OrganizationStatus);
  if (f.industry) query = query.where('industry', '=', f.industry);
  if (f.q) {
    const prefix = `${f.q.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    query = query.where((eb) => eb.or([eb(sql`lower(name)`, 'like', prefix), eb('slug', 'like', prefix)]));
  }
  return query.execute();
}
