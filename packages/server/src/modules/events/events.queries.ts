import { type QueryCreator, sql } from 'kysely';
import type { Schema } from '../../db/schema.js';
import type { Tx } from '../../db/tenant-context.js';
import type { Actor } from '../audit/audit.js';
import './tables.js';

/** An event row as written: the change's event, in the change's organization. */
export interface NewEvent {
  organization_id: string;
  id: string;
  type: string;
  actor: Actor;
  data: Record<string, unknown>;
}

/** The INSERT of an event, to run on its own or after another statement's CTE (audit.queries). */
export const eventInsert = <DB extends Schema>(db: QueryCreator<DB>, e: NewEvent) =>
  (db as unknown as QueryCreator<Schema>).insertInto('events').values({
    organization_id: e.organization_id,
    id: e.id,
    type: e.type,
    actor_type: e.actor.type,
    actor_id: e.actor.id,
    data: JSON.stringify(e.data),
  });

export async function insertEvent(tx: Tx, e: NewEvent): Promise<void> {
  await eventInsert(tx, e).execute();
}

/** A position in the event order: the writing transaction, then the order within it. */
export interface EventPosition {
  tx: string;
  pos: string;
}

/**
 * The event horizon (sql/events.sql): read in a statement of its own, before the events,
 * so that every transaction below it has ended before the events are read.
 */
export async function eventHorizon(tx: Tx): Promise<string> {
  const { rows } = await sql<{ h: string }>`select tenantry_events_horizon()::text as h`.execute(tx);
  return rows[0]!.h;
}

/**
 * A page of events after `after`, in (tx, pos) order, only from transactions below
 * `horizon`. A transaction that commits later has an id at or above it, so it can only
 * add events after the page's end: a reader that resumes from the last position it saw
 * never skips one. The cost is that events wait for older transactions still open.
 * With `toolId`, only the events that tool may have (sql/tool-events.sql).
 */
export function listEvents(
  tx: Tx,
  horizon: string,
  f: { organizationId?: string; toolId?: string; after?: EventPosition; types?: string[]; limit: number },
) {
  let q = tx
    .selectFrom('events')
    .select(['id', 'type', 'organization_id', 'actor_type', 'actor_id', 'data', 'occurred_at', 'tx', 'pos'])
    .where(sql<boolean>`tx < ${horizon}::xid8`)
    .orderBy('tx')
    .orderBy('pos')
    .limit(f.limit + 1);
  if (f.organizationId) q = q.where('organization_id', '=', f.organizationId);
  // A tool: the organizations where it is enabled, during its enablement (the events policy says the same).
  if (f.toolId) q = q.where(sql<boolean>`tenantry_tool_receives(${f.toolId}::uuid, organization_id, type, data, occurred_at)`);
  if (f.after) q = q.where(sql<boolean>`(tx, pos) > (${f.after.tx}::xid8, ${f.after.pos}::bigint)`);
  if (f.types && f.types.length > 0) q = q.where('type', 'in', f.types);
  return q.execute();
}

/** Where an event visible to this transaction stands in the order. */
export const positionOfEvent = (tx: Tx, id: string) =>
  tx.selectFrom('events').select(['tx', 'pos']).where('id', '=', id).executeTakeFirst();

export type EventRow = Awaited<ReturnType<typeof listEvents>>[number];

/** The envelope of a stored event (the webhook body and the pull API item). */
export const envelopeOf = (r: Pick<EventRow, 'id' | 'type' | 'organization_id' | 'actor_type' | 'actor_id' | 'data' | 'occurred_at'>) => ({
  id: r.id,
  type: r.type,
  timestamp: new Date(r.occurred_at).toISOString(),
  organization_id: r.organization_id,
  actor: { type: r.actor_type, id: r.actor_id },
  data: r.data,
});

/** Deletes up to `batch` events older than `days` days; returns how many. */
export async function deleteExpiredEvents(tx: Tx, days: number, batch: number): Promise<number> {
  const r = await sql`
    delete from events where (organization_id, id) in (
      select organization_id, id from events
      where occurred_at < now() - make_interval(days => ${days}) limit ${batch})`.execute(tx);
  return Number(r.numAffectedRows ?? 0);
}
