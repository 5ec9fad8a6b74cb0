import { type Kysely, sql } from 'kysely';
import { uuidv7 } from '../../db/ids.js';
import type { OrganizationStatus, Schema } from '../../db/schema.js';
import type { ApiKeyEnteredRow, EnteredRow, TenantContext, Tx } from '../../db/tenant-context.js';
import type { AuditEvent, AuditSource } from '../audit/audit.js';
import type { NewEvent } from '../events/events.queries.js';

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
 * Creates the organization with its creator as owner, their membership, the audit event and
 * its event row, in one statement (tenantry_create_organization, sql/create-organization.sql)
 * that enters the new organization itself. Writes nothing when the session has ended
 * (session_live false) or when the slug is taken in any tenant (the unique index sees
 * through RLS): no organization then.
 */
export async function createOrganizationWithOwner(
  q: Kysely<Schema> | Tx,
  row: { id: string; name: string; slug: string; industry: string; size: string | null; domains: string[]; metadata: string },
  creator: { userId: string; sessionId: string },
  by: AuditSource,
  audit: AuditEvent,
  event: NewEvent,
): Promise<{ sessionLive: boolean; organization: OrganizationRow | undefined }> {
  const { rows } = await sql<{ session_live: boolean } & { [K in keyof OrganizationRow]: OrganizationRow[K] | null }>`
    select * from tenantry_create_organization(${creator.userId}::uuid, ${creator.sessionId}::uuid,
      ${row.id}::uuid, ${row.name}, ${row.slug}, ${row.industry}, ${row.size}, ${row.domains}::text[], ${row.metadata}::jsonb,
      ${uuidv7()}::uuid, ${by.actor.type}, ${by.actor.id}::uuid, ${JSON.stringify(audit.data ?? {})}::jsonb, ${by.meta.ip}, ${by.meta.requestId},
      ${event.id}::uuid, ${JSON.stringify(event.data)}::jsonb)`.execute(q);
  const { session_live, ...organization } = rows[0]!;
  return { sessionLive: session_live, organization: organization.id === null ? undefined : (organization as OrganizationRow) };
}

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
