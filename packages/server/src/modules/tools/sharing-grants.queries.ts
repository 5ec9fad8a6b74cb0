import { type Insertable, sql } from 'kysely';
import type { Tx } from '../../db/tenant-context.js';
import type { CatalogueScope } from './sharing-grants.rules.js';
import type { SharingGrantStatus } from './sharing-grants.schemas.js';
import type { SharingGrantsTable } from './sharing-grants.tables.js';

// Every statement runs in the organization's tenant context (tenantry_app): the policy of
// sql/policies/sharing_grants.sql confines it to that organization's grants whatever it names.

/** The status a client sees: an active grant past its expiry (database clock) is expired. */
const effectiveStatus = sql<SharingGrantStatus>`
  case when status = 'active' and expires_at <= now() then 'expired' else status end`;

const COLUMNS = [
  'id',
  'provider_tool_id',
  'consumer_tool_id',
  'scopes',
  'purpose',
  'granted_by',
  'created_at',
  'expires_at',
  'revoked_at',
] as const;

const grants = (tx: Tx) => tx.selectFrom('sharing_grants').select([...COLUMNS, effectiveStatus.as('status')]);

export type SharingGrantRow = Awaited<ReturnType<typeof findGrant>> & {};

export const findGrant = (tx: Tx, orgId: string, id: string) =>
  grants(tx).where('organization_id', '=', orgId).where('id', '=', id).executeTakeFirst();

export function listGrants(
  tx: Tx,
  orgId: string,
  f: {
    providerToolId?: string | undefined;
    consumerToolId?: string | undefined;
    status?: SharingGrantStatus | undefined;
    after?: string | undefined;
    limit: number;
  },
) {
  let q = grants(tx)
    .where('organization_id', '=', orgId)
    .orderBy('id')
    .limit(f.limit + 1);
  if (f.after) q = q.where('id', '>', f.after);
  if (f.providerToolId) q = q.where('provider_tool_id', '=', f.providerToolId);
  if (f.consumerToolId) q = q.where('consumer_tool_id', '=', f.consumerToolId);
  if (f.status) q = q.where(effectiveStatus, '=', f.status);
  return q.execute();
}

/**
 * The tools a new grant names, each with its catalogue and whether it is usable here:
 * active in the registry and enabled in the organization. A tool that does not exist has no row.
 */
export const grantParties = (tx: Tx, orgId: string, toolIds: readonly string[]) =>
  tx
    .selectFrom('tools as t')
    .leftJoin('organization_tools as ot', (j) => j.onRef('ot.tool_id', '=', 't.id').on('ot.organization_id', '=', orgId))
    .select(['t.id', sql<CatalogueScope[]>`t.scopes`.as('scopes')])
    .select(sql<boolean>`coalesce(t.status = 'active' and ot.status = 'active', false)`.as('enabled'))
    .where('t.id', 'in', [...toolIds])
    .execute();

/** A lapsed grant of this pair makes way for a new one (the one-active index). */
export const expireLapsedGrant = (tx: Tx, orgId: string, providerToolId: string, consumerToolId: string) =>
  tx
    .updateTable('sharing_grants')
    .set({ status: 'expired' })
    .where('organization_id', '=', orgId)
    .where('provider_tool_id', '=', providerToolId)
    .where('consumer_tool_id', '=', consumerToolId)
    .where('status', '=', 'active')
    .where('expires_at', '<=', sql<Date>`now()`)
    .execute();

export const insertGrant = (tx: Tx, row: Insertable<SharingGrantsTable>) =>
  tx
    .insertInto('sharing_grants')
    .values(row)
    .returning([...COLUMNS, effectiveStatus.as('status')])
    .executeTakeFirstOrThrow();

/** Revokes a grant that is active (not lapsed) or suspended; undefined when it is neither. */
export const markGrantRevoked = (tx: Tx, orgId: string, id: string) =>
  tx
    .updateTable('sharing_grants')
    .set({ status: 'revoked', revoked_at: sql<Date>`now()` })
    .where('organization_id', '=', orgId)
    .where('id', '=', id)
    .where(effectiveStatus, 'in', ['active', 'suspended'])
    .returning([...COLUMNS, effectiveStatus.as('status')])
    .executeTakeFirst();

/** Suspends the active grants where the tool is provider or consumer; returns what it suspended. */
export const suspendGrantsOfTool = (tx: Tx, orgId: string, toolId: string) =>
  tx
    .updateTable('sharing_grants')
    .set({ status: 'suspended', suspended_at: sql<Date>`now()` })
    .where('organization_id', '=', orgId)
    .where(effectiveStatus, '=', 'active')
    .where((eb) => eb.or([eb('provider_tool_id', '=', toolId), eb('consumer_tool_id', '=', toolId)]))
    .returning(['id', 'provider_tool_id', 'consumer_tool_id', 'scopes'])
    .execute();

/** What a token under a grant needs, read in one statement (see coveringGrant). */
export interface GrantForToken {
  /** Null when no tool has the audience asked for. */
  provider_tool_id: string | null;
  provider_scopes: CatalogueScope[] | null;
  /** The organization is active and the consumer active in the registry and enabled in it. */
  consumer_usable: boolean;
  /** The provider is active in the registry and enabled in the organization. */
  provider_usable: boolean;
  grant_id: string | null;
  grant_scopes: string[] | null;
  /** Seconds until the grant expires; null when it does not. */
  seconds_left: number | null;
}

/**
 * The one read behind a grant-bound or delegated token: the provider named by its audience,
 * the organization, both tools' registry status and enablements, and the consumer's active,
 * unexpired grant from that provider. Always one row, so the consumer's own standing is known
 * whatever the audience.
 */
export async function coveringGrant(tx: Tx, orgId: string, consumerToolId: string, audience: string): Promise<GrantForToken> {
  const { rows } = await sql<GrantForToken>`
    select p.id as provider_tool_id, p.scopes as provider_scopes,
           coalesce(o.status = 'active' and c.status = 'active' and ce.status = 'active', false) as consumer_usable,
           coalesce(p.status = 'active' and pe.status = 'active', false) as provider_usable,
           g.id as grant_id, g.scopes as grant_scopes,
           extract(epoch from g.expires_at - now())::float8 as seconds_left
    from (select 1) as one
    left join tools c on c.id = ${consumerToolId}::uuid
    left join organizations o on o.id = ${orgId}::uuid
    left join organization_tools ce on ce.organization_id = o.id and ce.tool_id = c.id
    left join tools p on p.audience = ${audience}
    left join organization_tools pe on pe.organization_id = o.id and pe.tool_id = p.id
    left join sharing_grants g on g.organization_id = o.id and g.provider_tool_id = p.id and g.consumer_tool_id = c.id
          and g.status = 'active' and (g.expires_at is null or g.expires_at > now())`.execute(tx);
  return rows[0]!;
}

/**
 * Claims the grant's token-issuance audit for this window: true for exactly one of any
 * number of concurrent issuances (a conditional update: the others wait for its row lock,
 * then find the claim taken), and false again until the window has passed.
 */
export const claimTokenAudit = async (tx: Tx, orgId: string, grantId: string, windowSeconds: number): Promise<boolean> =>
  (
    await tx
      .updateTable('sharing_grants')
      .set({ token_audited_at: sql<Date>`now()` })
      .where('organization_id', '=', orgId)
      .where('id', '=', grantId)
      .where((eb) =>
        eb.or([
          eb('token_audited_at', 'is', null),
          eb('token_audited_at', '<=', sql<Date>`now() - make_interval(secs => ${windowSeconds})`),
        ]),
      )
      .executeTakeFirst()
  ).numUpdatedRows > 0n;
