import type { Database } from '../../db/database.js';
import { isUuid } from '../../db/ids.js';
import { decodeCursor, page } from '../../http/pagination.js';
import type { Caller } from '../access/gate.js';
import { asOperatorInOrganization, asPlatformAdmin, inOrganization } from '../access/transactions.js';
import { type ExportFormat, exportStream, toAct, toAuditEvent } from './audit.export.js';
import { type InOrganization, verifyChain } from './audit.integrity.js';
import { listAuditEvents, listPlatformAuditEvents } from './audit.queries.js';

export interface AuditQuery {
  action?: string | undefined;
  actor_id?: string | undefined;
  since?: string | undefined;
  until?: string | undefined;
  limit?: number | undefined;
  cursor?: string | undefined;
}

/** Newest first; the cursor is the last event's id (UUIDv7, so time-ordered). */
export async function getAuditEvents(db: Database, caller: Caller, orgId: string, f: AuditQuery) {
  const limit = f.limit ?? 20;
  const before = decodeCursor(f.cursor, isUuid);
  return inOrganization(db, caller, orgId, 'audit:read', async (tx) => {
    const rows = await listAuditEvents(tx, orgId, {
      before,
      action: f.action,
      actorId: f.actor_id,
      since: f.since ? new Date(f.since) : undefined,
      until: f.until ? new Date(f.until) : undefined,
      limit,
    });
    const result = page(rows, limit, (r) => r.id);
    return {
      next_cursor: result.next_cursor,
      data: result.data.map(toAuditEvent),
    };
  });
}

/** The platform log (platform admins), newest first. */
export async function getPlatformAuditEvents(
  db: Database,
  caller: Caller,
  f: { action?: string | undefined; limit?: number | undefined; cursor?: string | undefined },
) {
  const limit = f.limit ?? 20;
  const before = decodeCursor(f.cursor, isUuid);
  return asPlatformAdmin(db, caller, 'Only platform admins read the platform audit log', async (tx) => {
    const rows = await listPlatformAuditEvents(tx, { before, action: f.action, limit });
    const result = page(rows, limit, (r) => r.id);
    return {
      next_cursor: result.next_cursor,
      data: result.data.map(toAct),
    };
  });
}

/** Each call is one short transaction that admits the caller afresh. */
const asReader =
  (db: Database, caller: Caller, orgId: string): InOrganization =>
  (fn) =>
    inOrganization(db, caller, orgId, 'audit:read', (tx) => fn(tx));

/** Recomputes the organization's chain (admin+); see verifyChain. */
export const verifyAuditLog = (db: Database, caller: Caller, orgId: string) => verifyChain(db, asReader(db, caller, orgId), orgId);

/** `tenantry audit verify`: the same verification, by the operator. */
export const verifyAuditLogAsOperator = (db: Database, orgId: string) =>
  verifyChain(db, (fn) => asOperatorInOrganization(db, orgId, fn), orgId);

/** The organization's log as a stream (admin+); see exportStream. */
export function exportAuditLog(db: Database, caller: Caller, orgId: string, q: { format?: ExportFormat; since?: string; until?: string }) {
  return exportStream(asReader(db, caller, orgId), orgId, {
    format: q.format ?? 'ndjson',
    since: q.since ? new Date(q.since) : undefined,
    until: q.until ? new Date(q.until) : undefined,
  });
}
