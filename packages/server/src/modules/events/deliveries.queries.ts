// The worker's SQL: fan-out of events to deliveries, the leased claim, the outcome.
import { sql } from 'kysely';
import type { Tx } from '../../db/tenant-context.js';
import './tables.js';

/**
 * Fans the next events out to deliveries, one per event and matching endpoint, and moves
 * the cursor past them, in one transaction. It reads the same safe prefix as the pull
 * API (transactions below the event horizon, read just before), so an event that
 * commits late is never passed over. An endpoint bound to a tool gets only events the tool
 * may have as enablements stand now (sql/tool-events.sql). The cursor row is locked with SKIP LOCKED: one instance fans out
 * at a time and the others go on delivering.
 */
export async function fanOut(tx: Tx, horizon: string, batch: number): Promise<{ events: number; deliveries: number }> {
  const { rows } = await sql<{ events: string; deliveries: string }>`
    with c as (select tx, pos from webhook_dispatch_cursor for update skip locked),
    batch as (
      select e.organization_id, e.id, e.tx, e.pos, e.type, e.data, e.occurred_at
      from events e, c
      where (e.tx, e.pos) > (c.tx, c.pos) and e.tx < ${horizon}::xid8
      order by e.tx, e.pos
      limit ${batch}),
    ins as (
      insert into webhook_deliveries (organization_id, id, endpoint_id, event_id, event_tx, event_pos)
      select b.organization_id, gen_random_uuid(), w.id, b.id, b.tx, b.pos
      from batch b
      join webhook_endpoints w on b.type = any (w.event_types) and w.status <> 'disabled' and w.created_at <= b.occurred_at
        and (w.tool_id is null or tenantry_tool_receives(w.tool_id, b.organization_id, b.type, b.data, b.occurred_at))
      returning 1),
    last as (select tx, pos from batch order by tx desc, pos desc limit 1),
    moved as (update webhook_dispatch_cursor set tx = last.tx, pos = last.pos from last returning 1)
    select (select count(*) from batch) as events, (select count(*) from ins) + 0 * (select count(*) from moved) as deliveries`.execute(tx);
  return { events: Number(rows[0]!.events), deliveries: Number(rows[0]!.deliveries) };
}

export interface ClaimedDelivery {
  id: string;
  organization_id: string;
  endpoint_id: string;
  attempts: number;
  event_tx: string;
  event_pos: string;
  event_id: string;
  type: string;
  actor_type: string;
  actor_id: string | null;
  data: Record<string, unknown>;
  occurred_at: Date;
  url: string;
  secret: string;
  previous_secret: string | null;
}

/** Claims serialize on this lock, so the check that no delivery of a pair is in flight holds. */
const CLAIM_LOCK = 7_263_517_020;

/**
 * Leases due deliveries until `leaseSeconds` from now, oldest event first. A pair of
 * endpoint and organization with a delivery in flight is left alone, so one
 * organization's events reach an endpoint one at a time and, on first attempt, in order.
 * The lease is committed before anything is sent: no connection is held during the
 * HTTP call, and a lease that runs out (an instance that died) makes the delivery due again.
 */
export async function claimDue(tx: Tx, batch: number, leaseSeconds: number, lease: string): Promise<ClaimedDelivery[]> {
  await sql`select pg_advisory_xact_lock(${CLAIM_LOCK})`.execute(tx);
  await dropWithdrawnToolDeliveries(tx);
  const { rows } = await sql<ClaimedDelivery>`
    with due as (
      select d.organization_id, d.id
      from webhook_deliveries d
      join webhook_endpoints w on w.id = d.endpoint_id and w.status <> 'disabled'
      where d.status = 'pending' and d.next_attempt_at <= now()
        and (d.leased_until is null or d.leased_until < now())
        and not exists (
          select 1 from webhook_deliveries o
          where o.endpoint_id = d.endpoint_id and o.organization_id = d.organization_id
            and o.status = 'pending' and o.leased_until >= now())
      order by d.event_tx, d.event_pos
      limit ${batch}
      for update of d skip locked)
    update webhook_deliveries d
    set leased_until = now() + make_interval(secs => ${leaseSeconds}), lease = ${lease}::uuid,
        attempts = d.attempts + 1, last_attempt_at = now()
    from due, events e, webhook_endpoints w
    where d.organization_id = due.organization_id and d.id = due.id
      and e.organization_id = d.organization_id and e.id = d.event_id and w.id = d.endpoint_id
    returning d.id, d.organization_id, d.endpoint_id, d.attempts, d.event_tx::text as event_tx, d.event_pos::text as event_pos,
      e.id as event_id, e.type, e.actor_type, e.actor_id, e.data, e.occurred_at, w.url, w.secret,
      case when w.previous_secret_expires_at > now() then w.previous_secret end as previous_secret`.execute(tx);
  return rows;
}

export const TOOL_WITHDRAWN = 'not sent: the tool is no longer enabled in the organization';

/**
 * Deliveries due to a tool's endpoint of events the tool may no longer have (it was
 * disabled in the organization since they were fanned out) fail without being sent,
 * saying why, just before the claim: disabling a tool stops its deliveries at once.
 */
async function dropWithdrawnToolDeliveries(tx: Tx): Promise<void> {
  await sql`
    update webhook_deliveries d
    set status = 'failed', last_error = ${TOOL_WITHDRAWN}, leased_until = null, lease = null
    from webhook_endpoints w, events e
    where d.status = 'pending' and d.next_attempt_at <= now() and (d.leased_until is null or d.leased_until < now())
      and w.id = d.endpoint_id and w.tool_id is not null
      and e.organization_id = d.organization_id and e.id = d.event_id
      and not tenantry_tool_receives(w.tool_id, e.organization_id, e.type, e.data, e.occurred_at)`.execute(tx);
}

/**
 * Records the successful deliveries of a batch in two statements, whatever their number:
 * each still under the lease it was claimed with (a delivery whose lease was lost to
 * another instance is left to it).
 */
export async function markDelivered(tx: Tx, delivered: ReadonlyArray<{ d: ClaimedDelivery; statusCode: number }>, lease: string) {
  if (delivered.length === 0) return;
  await sql`
    update webhook_deliveries d
    set status = 'delivered', delivered_at = now(), leased_until = null, lease = null, last_status_code = v.code, last_error = null
    from unnest(${delivered.map((x) => x.d.organization_id)}::uuid[], ${delivered.map((x) => x.d.id)}::uuid[], ${delivered.map((x) => x.statusCode)}::int[])
      as v (organization_id, id, code)
    where d.organization_id = v.organization_id and d.id = v.id and d.lease = ${lease}::uuid`.execute(tx);
  // A success ends a failing streak.
  await sql`
    update webhook_endpoints set status = 'enabled', failing_since = null, updated_at = now()
    where id = any (${[...new Set(delivered.map((x) => x.d.endpoint_id))]}::uuid[]) and status = 'failing'`.execute(tx);
}

/** A failed attempt: due again after `retryInSeconds`, or failed for good when that is null. */
export async function markFailed(
  tx: Tx,
  d: ClaimedDelivery,
  lease: string,
  f: { statusCode: number | null; error: string; retryInSeconds: number | null },
): Promise<void> {
  await sql`
    update webhook_deliveries
    set status = ${f.retryInSeconds === null ? 'failed' : 'pending'},
        next_attempt_at = now() + make_interval(secs => ${f.retryInSeconds ?? 0}),
        leased_until = null, lease = null, last_status_code = ${f.statusCode}, last_error = ${f.error.slice(0, 500)}
    where organization_id = ${d.organization_id} and id = ${d.id} and lease = ${lease}::uuid`.execute(tx);
}

/**
 * The endpoint's side of a failure: 410 Gone disables it at once; otherwise it is
 * failing, and disabled once it has been failing for `disableAfterSeconds` with no success.
 */
export async function recordEndpointFailure(tx: Tx, endpointId: string, gone: boolean, disableAfterSeconds: number, error: string) {
  if (gone) {
    await sql`
      update webhook_endpoints set status = 'disabled', disabled_reason = 'the endpoint answered 410 Gone', updated_at = now()
      where id = ${endpointId}`.execute(tx);
    return;
  }
  await sql`
    update webhook_endpoints
    set failing_since = coalesce(failing_since, now()),
        status = case when coalesce(failing_since, now()) < now() - make_interval(secs => ${disableAfterSeconds}) then 'disabled' else 'failing' end,
        disabled_reason = case when coalesce(failing_since, now()) < now() - make_interval(secs => ${disableAfterSeconds})
          then ${`every delivery failed for ${Math.round(disableAfterSeconds / 86_400)} days; last error: ${error.slice(0, 200)}`} end,
        updated_at = now()
    where id = ${endpointId} and status <> 'disabled'`.execute(tx);
}

/** Age in seconds of the oldest due, undelivered delivery, or of the oldest event not fanned out yet. */
export async function outboxLagSeconds(tx: Tx): Promise<number> {
  const { rows } = await sql<{ lag: string | null }>`
    select greatest(
      (select extract(epoch from now() - min(next_attempt_at)) from webhook_deliveries where status = 'pending' and next_attempt_at <= now()),
      (select extract(epoch from now() - min(e.occurred_at)) from events e, webhook_dispatch_cursor c where (e.tx, e.pos) > (c.tx, c.pos))
    )::text as lag`.execute(tx);
  return rows[0]?.lag ? Math.max(0, Number(rows[0].lag)) : 0;
}
