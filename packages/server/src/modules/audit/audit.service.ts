import type { Database } from '../../db/database.js';
import { isUuid } from '../../db/ids.js';
import { decodeCursor, page } from '../../http/pagination.js';
import type { Caller } from '../access/gate.js';
import { inOrganization } from '../access/transactions.js';
import { listAuditEvents } from './audit.queries.js';

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
      data: result.data.map((r) => ({
        id: r.id,
        organization_id: r.organization_id,
        actor: { type: r.actor_type, id: r.actor_id },
        action: r.action,
        target: r.target_type ? { type: r.target_type, id: r.target_id } : null,
        data: r.data,
        ip: r.ip,
        request_id: r.request_id,
        occurred_at: r.occurred_at,
      })),
    };
  });
}
