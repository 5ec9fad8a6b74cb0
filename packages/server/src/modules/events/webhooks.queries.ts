import { sql } from 'kysely';
import type { Tx } from '../../db/tenant-context.js';
import '../tools/tables.js';
import './tables.js';

export const ENDPOINT_COLUMNS = ['id', 'url', 'event_types', 'tool_id', 'status', 'disabled_reason', 'created_at', 'updated_at'] as const;

export const insertEndpoint = (tx: Tx, row: { id: string; url: string; event_types: string[]; tool_id: string | null; secret: string }) =>
  tx.insertInto('webhook_endpoints').values(row).returning(ENDPOINT_COLUMNS).executeTakeFirstOrThrow();

export const toolExists = async (tx: Tx, id: string) =>
  (await tx.selectFrom('tools').select('id').where('id', '=', id).executeTakeFirst()) !== undefined;

export const listEndpoints = (tx: Tx, after: string | undefined, limit: number) => {
  let q = tx
    .selectFrom('webhook_endpoints')
    .select(ENDPOINT_COLUMNS)
    .orderBy('id')
    .limit(limit + 1);
  if (after) q = q.where('id', '>', after);
  return q.execute();
};

export const findEndpoint = (tx: Tx, id: string) =>
  tx.selectFrom('webhook_endpoints').select(ENDPOINT_COLUMNS).where('id', '=', id).executeTakeFirst();

export const updateEndpoint = (
  tx: Tx,
  id: string,
  set: { url?: string; event_types?: string[]; status?: 'enabled' | 'disabled'; disabled_reason?: string | null; failing_since?: null },
) =>
  tx
    .updateTable('webhook_endpoints')
    .set({ ...set, updated_at: sql<Date>`now()` })
    .where('id', '=', id)
    .returning(ENDPOINT_COLUMNS)
    .executeTakeFirst();

export const deleteEndpoint = (tx: Tx, id: string) => tx.deleteFrom('webhook_endpoints').where('id', '=', id).executeTakeFirst();

/** The old secret keeps signing (next to the new one) for `graceSeconds`; false for no such endpoint (sql/webhook-secrets.sql). */
export const rotateEndpointSecret = async (tx: Tx, id: string, secret: string, graceSeconds: number) =>
  (await sql<{ ok: boolean }>`select tenantry_rotate_webhook_secret(${id}::uuid, ${secret}, ${graceSeconds}) as ok`.execute(tx)).rows[0]!
    .ok;

export const DELIVERY_COLUMNS = [
  'id',
  'organization_id',
  'event_id',
  'status',
  'attempts',
  'last_status_code',
  'last_error',
  'next_attempt_at',
  'last_attempt_at',
  'delivered_at',
  'created_at',
] as const;

/** Newest first, keyed by (created_at to the millisecond, as the cursor carries it, and id). */
export const listDeliveries = (tx: Tx, endpointId: string, before: { at: string; id: string } | undefined, limit: number) => {
  const at = sql`date_trunc('milliseconds', created_at)`;
  let q = tx
    .selectFrom('webhook_deliveries')
    .select(DELIVERY_COLUMNS)
    .where('endpoint_id', '=', endpointId)
    .orderBy(sql`${at} desc`)
    .orderBy('id', 'desc')
    .limit(limit + 1);
  if (before) q = q.where(sql<boolean>`(${at}, id) < (${before.at}::timestamptz, ${before.id}::uuid)`);
  return q.execute();
};

/** Makes a delivery due now again, whatever its state (a lease in flight is left to finish). */
export const retryDelivery = (tx: Tx, endpointId: string, id: string) =>
  tx
    .updateTable('webhook_deliveries')
    .set({ status: 'pending', next_attempt_at: sql<Date>`now()` })
    .where('endpoint_id', '=', endpointId)
    .where('id', '=', id)
    .returning(DELIVERY_COLUMNS)
    .executeTakeFirst();

/**
 * New deliveries of the endpoint's types of events in [since, until): the same events, so
 * the same webhook-id. An endpoint bound to a tool gets only the events the tool may have
 * (sql/tool-events.sql).
 */
export async function insertReplay(tx: Tx, endpointId: string, since: string, until: string | null): Promise<number> {
  const r = await sql`
    insert into webhook_deliveries (organization_id, id, endpoint_id, event_id, event_tx, event_pos)
    select e.organization_id, gen_random_uuid(), w.id, e.id, e.tx, e.pos
    from webhook_endpoints w
    join events e on e.type = any (w.event_types)
    where w.id = ${endpointId} and e.occurred_at >= ${since}::timestamptz
      and (w.tool_id is null or tenantry_tool_receives(w.tool_id, e.organization_id, e.type, e.data, e.occurred_at))
      and (${until}::timestamptz is null or e.occurred_at < ${until}::timestamptz)`.execute(tx);
  return Number(r.numAffectedRows ?? 0);
}
