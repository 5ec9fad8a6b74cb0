import { type Kysely, sql } from 'kysely';
import { uuidv7 } from '../../db/ids.js';
import type { Schema } from '../../db/schema.js';
import type { Tx } from '../../db/tenant-context.js';
import type { AuditEvent, AuditSource } from './audit.js';
import type { PlatformAuditEvent, PlatformAuditSource } from './platform.js';

/** The columns of a logged act, in an organization's log or the platform's. */
const actColumns = (by: PlatformAuditSource, e: PlatformAuditEvent | AuditEvent) => ({
  id: uuidv7(),
  actor_type: by.actor.type,
  actor_id: by.actor.id,
  action: e.action,
  target_type: e.target?.type ?? null,
  target_id: e.target?.id ?? null,
  data: JSON.stringify(e.data ?? {}),
  ip: by.meta.ip,
  request_id: by.meta.requestId,
});

export async function insertAuditEvent(tx: Tx, by: AuditSource, e: AuditEvent): Promise<void> {
  await tx
    .insertInto('audit_events')
    .values({ organization_id: by.organizationId, ...actColumns(by, e) })
    .execute();
}

export async function insertPlatformAuditEvent(tx: Tx, by: PlatformAuditSource, e: PlatformAuditEvent): Promise<void> {
  await tx.insertInto('platform_audit_events').values(actColumns(by, e)).execute();
}

/** A page of the platform log, newest first, before `before` (a UUIDv7 id). */
export function listPlatformAuditEvents(tx: Tx, f: { before?: string | undefined; action?: string | undefined; limit: number }) {
  let q = tx
    .selectFrom('platform_audit_events')
    .selectAll()
    .orderBy('id', 'desc')
    .limit(f.limit + 1);
  if (f.before) q = q.where('id', '<', f.before);
  if (f.action) q = q.where('action', '=', f.action);
  return q.execute();
}

/** A page of an organization's events, newest first, before `before` (an event id: UUIDv7, so time-ordered). */
export function listAuditEvents(
  tx: Tx,
  orgId: string,
  f: {
    before?: string | undefined;
    action?: string | undefined;
    actorId?: string | undefined;
    since?: Date | undefined;
    until?: Date | undefined;
    limit: number;
  },
) {
  let q = tx
    .selectFrom('audit_events')
    .selectAll()
    .where('organization_id', '=', orgId)
    .orderBy('id', 'desc')
    .limit(f.limit + 1);
  if (f.before) q = q.where('id', '<', f.before);
  if (f.action) q = q.where('action', '=', f.action);
  if (f.actorId) q = q.where('actor_id', '=', f.actorId);
  if (f.since) q = q.where('occurred_at', '>=', f.since);
  if (f.until) q = q.where('occurred_at', '<', f.until);
  return q.execute();
}

// The chain (sql/audit-chain.sql). Hashes travel as lower-case hex and places in the
// chain as text, so both engines return the same thing.

export interface ChainHead {
  seq: number;
  last_event_id: string | null;
  hash: string | null;
}

/** Where the organization's chain ends now; undefined before its first event. */
export async function chainHead(tx: Tx, orgId: string): Promise<ChainHead | undefined> {
  const { rows } = await sql<{ seq: string; last_event_id: string | null; hash: string | null }>`
    select seq::text as seq, last_event_id, encode(hash, 'hex') as hash
    from audit_chain_heads where organization_id = ${orgId}`.execute(tx);
  const r = rows[0];
  return r && { seq: Number(r.seq), last_event_id: r.last_event_id, hash: r.hash };
}

export interface ChainLink {
  id: string;
  seq: number;
  prev_hash: string | null;
  hash: string | null;
  /** Whether the hash stored is the hash of the event's content and stored predecessor. */
  intact: boolean;
}

/** The next `limit` events after place `after`, up to place `upTo`, with their hashes recomputed. */
export async function chainLinks(tx: Tx, orgId: string, after: number, upTo: number, limit: number): Promise<ChainLink[]> {
  const { rows } = await sql<Omit<ChainLink, 'seq'> & { seq: string }>`
    select e.id, e.chain_seq::text as seq, encode(e.prev_hash, 'hex') as prev_hash, encode(e.hash, 'hex') as hash,
           coalesce(tenantry_audit_event_hash(e.prev_hash, e) = e.hash, false) as intact
    from audit_events e
    where e.organization_id = ${orgId} and e.chain_seq > ${after} and e.chain_seq <= ${upTo}
    order by e.chain_seq limit ${limit}`.execute(tx);
  return rows.map((r) => ({ ...r, seq: Number(r.seq) }));
}

/**
 * Organizations whose chain has grown past their latest checkpoint (or has none), after
 * `after` in id order (tenantry_worker: the checkpoint job).
 */
export async function organizationsToCheckpoint(tx: Tx, after: string | null, limit: number): Promise<string[]> {
  const { rows } = await sql<{ organization_id: string }>`
    select h.organization_id from audit_chain_heads h
    where h.seq > coalesce((select max(c.chain_seq) from audit_checkpoints c where c.organization_id = h.organization_id), 0)
      and (${after}::uuid is null or h.organization_id > ${after}::uuid)
    order by h.organization_id limit ${limit}`.execute(tx);
  return rows.map((r) => r.organization_id);
}

/** An event outside the chain (written with the chain trigger disabled), if any. */
export async function unchainedEvent(tx: Tx, orgId: string): Promise<string | undefined> {
  const row = await tx
    .selectFrom('audit_events')
    .select('id')
    .where('organization_id', '=', orgId)
    .where('chain_seq', 'is', null)
    .orderBy('id')
    .limit(1)
    .executeTakeFirst();
  return row?.id;
}

/** The events of the export: after place `after`, up to place `upTo`, in chain order. */
export function exportBatch(
  tx: Tx,
  orgId: string,
  f: { after: number; upTo: number; since?: Date | undefined; until?: Date | undefined; limit: number },
) {
  let q = tx
    .selectFrom('audit_events')
    .selectAll()
    .select(sql<string>`chain_seq::text`.as('seq'))
    .where('organization_id', '=', orgId)
    .where('chain_seq', '>', sql<string>`${f.after}`)
    .where('chain_seq', '<=', sql<string>`${f.upTo}`)
    .orderBy('chain_seq')
    .limit(f.limit);
  if (f.since) q = q.where('occurred_at', '>=', f.since);
  if (f.until) q = q.where('occurred_at', '<', f.until);
  return q.execute();
}

export interface CheckpointRow {
  seq: number;
  last_event_id: string;
  hash: string;
  signed_at: Date;
  kid: string;
  signature: string;
}

/** The organization's latest checkpoint (the one furthest along its chain). */
export async function latestCheckpoint(tx: Tx, orgId: string): Promise<CheckpointRow | undefined> {
  const { rows } = await sql<Omit<CheckpointRow, 'seq'> & { seq: string }>`
    select chain_seq::text as seq, last_event_id, encode(hash, 'hex') as hash, signed_at, kid, encode(signature, 'hex') as signature
    from audit_checkpoints where organization_id = ${orgId} order by chain_seq desc limit 1`.execute(tx);
  const r = rows[0];
  return r && { ...r, seq: Number(r.seq), signed_at: new Date(r.signed_at) };
}

/** Stores a checkpoint; a concurrent verification that stored the same place first wins. */
export async function insertCheckpoint(tx: Tx, orgId: string, c: CheckpointRow): Promise<void> {
  await sql`
    insert into audit_checkpoints (organization_id, chain_seq, last_event_id, hash, signed_at, kid, signature)
    values (${orgId}, ${c.seq}, ${c.last_event_id}, decode(${c.hash}, 'hex'), ${c.signed_at}, ${c.kid}, decode(${c.signature}, 'hex'))
    on conflict do nothing`.execute(tx);
}

// Checkpoint keys are read and written as the connecting user: the application role has no grant on them.

export const currentCheckpointKey = (db: Kysely<Schema>) =>
  db.selectFrom('audit_signing_keys').select(['kid', 'private_pkcs8']).where('retired_at', 'is', null).executeTakeFirst();

export const checkpointPublicKey = (db: Kysely<Schema>, kid: string) =>
  db.selectFrom('audit_signing_keys').select('public_jwk').where('kid', '=', kid).executeTakeFirst();

/** Retires the current checkpoint key: it signs no more, and the checkpoints it signed still verify by its kid. */
export const retireCheckpointKey = (db: Kysely<Schema>) =>
  db.updateTable('audit_signing_keys').set({ retired_at: sql<Date>`now()` }).where('retired_at', 'is', null).execute();

/** Adds the first checkpoint key; false when another process added one first. */
export const insertCheckpointKey = async (db: Kysely<Schema>, row: { kid: string; public_jwk: string; private_pkcs8: string }) => {
  const r = await db
    .insertInto('audit_signing_keys')
    .values(row)
    .onConflict((oc) => oc.doNothing())
    .executeTakeFirst();
  return Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
};
