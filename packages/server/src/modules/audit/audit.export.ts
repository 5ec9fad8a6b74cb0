// The audit log as a download: NDJSON or CSV, streamed in keyset batches.
import { Readable } from 'node:stream';
import type { Selectable } from 'kysely';
import type { AuditEventsTable } from '../../db/schema.js';
import type { PlatformAuditEventsTable } from '../tools/tables.js';
import type { InOrganization } from './audit.integrity.js';
import { chainHead, exportBatch } from './audit.queries.js';

export type ExportFormat = 'ndjson' | 'csv';

export const EXPORT_CONTENT_TYPES: Record<ExportFormat, string> = {
  ndjson: 'application/x-ndjson',
  csv: 'text/csv; charset=utf-8',
};

/** Events per batch: each batch is its own short transaction, so an export never holds a connection for long. */
const BATCH = 1000;

const hex = (b: Uint8Array | null) => (b === null ? null : Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex'));

/** A logged act in the API's form, from a row of an organization's log or the platform's. */
export const toAct = (r: Omit<Selectable<PlatformAuditEventsTable>, 'actor_type'> & { actor_type: string }) => ({
  id: r.id,
  actor: { type: r.actor_type, id: r.actor_id },
  action: r.action,
  target: r.target_type ? { type: r.target_type, id: r.target_id } : null,
  data: r.data,
  ip: r.ip,
  request_id: r.request_id,
  occurred_at: r.occurred_at,
});

/** An audit event row in the API's form (AuditEvent in audit.schemas.ts). */
export function toAuditEvent(r: Selectable<AuditEventsTable>) {
  // In the schema's order, as the list answers it: the export's lines are written by JSON.stringify.
  const { id, ...act } = toAct(r);
  return { id, organization_id: r.organization_id, ...act, prev_hash: hex(r.prev_hash), hash: hex(r.hash) };
}

const CSV_COLUMNS = [
  'id',
  'organization_id',
  'actor_type',
  'actor_id',
  'action',
  'target_type',
  'target_id',
  'data',
  'ip',
  'request_id',
  'occurred_at',
  'prev_hash',
  'hash',
] as const;

/**
 * One CSV field (RFC 4180): quoted when it holds a quote, comma or line break, quotes
 * doubled. A field a spreadsheet would run as a formula (starting with = + - @, or a tab or
 * carriage return) gets a leading apostrophe, so opening the file runs nothing.
 */
export function csvField(value: string | null): string {
  if (value === null) return '';
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

const csvRecord = (fields: ReadonlyArray<string | null>) => `${fields.map(csvField).join(',')}\r\n`;

function csvLine(r: Selectable<AuditEventsTable>): string {
  const e = toAuditEvent(r);
  return csvRecord([
    e.id,
    e.organization_id,
    e.actor.type,
    e.actor.id,
    e.action,
    e.target?.type ?? null,
    e.target?.id ?? null,
    JSON.stringify(e.data),
    e.ip,
    e.request_id,
    e.occurred_at.toISOString(),
    e.prev_hash,
    e.hash,
  ]);
}

const ndjsonLine = (r: Selectable<AuditEventsTable>) => `${JSON.stringify(toAuditEvent(r))}\n`;

/**
 * The organization's events in chain order, `since` ≤ occurred_at < `until`, as a stream.
 * The export ends at the head of the chain as it was when the export began. Each batch
 * is read in a transaction of its own, yet the export is exactly the log as committed at
 * that moment: events are never changed or deleted, and a place in the chain is taken
 * only after the one before it has committed (the trigger's head lock), so any snapshot
 * holds an unbroken prefix of the chain and the batches neither skip nor repeat an event.
 * The first batch is read before the stream is returned, so a refused caller gets an
 * error response rather than a broken download; the database is read only as fast as
 * the client takes the stream.
 */
export async function exportStream(
  inOrg: InOrganization,
  orgId: string,
  f: { format: ExportFormat; since?: Date | undefined; until?: Date | undefined },
): Promise<Readable> {
  const line = f.format === 'csv' ? csvLine : ndjsonLine;
  const read = (after: number, upTo: number) => inOrg((tx) => exportBatch(tx, orgId, { ...f, after, upTo, limit: BATCH }));
  const first = await inOrg(async (tx) => {
    const upTo = (await chainHead(tx, orgId))?.seq ?? 0;
    return { upTo, rows: await exportBatch(tx, orgId, { ...f, after: 0, upTo, limit: BATCH }) };
  });
  async function* chunks() {
    if (f.format === 'csv') yield csvRecord(CSV_COLUMNS);
    let rows = first.rows;
    while (rows.length > 0) {
      yield rows.map(line).join('');
      if (rows.length < BATCH) return;
      rows = await read(Number(rows.at(-1)!.seq), first.upTo);
    }
  }
  return Readable.from(chunks(), { objectMode: false });
}
