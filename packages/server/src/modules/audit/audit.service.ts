import type { Database } from '../../db/database.js';
import { isUuid } from '../../db/ids.js';
import { decodeCursor, page } from '../../http/pagination.js';
import type { Caller } from '../access/gate.js';
import { inOrganization } from '../access/transactions.js';

export interface AuditQuery {
  action?: string | undefined;
  actor_id?: string | undefined;
  since?: string | undefined;
  until?: string | undefined;
  limit?: number | undefined;
  cursor?: string | undefined;
}

/** Newest first; the cursor is the last event's id (UUIDv7, so time-ordered). */
export async function listAuditEvents(db: Database, caller: Caller, orgId: string, f: AuditQuery) {
  const limit = f.limit ?? 20;
  const before = decodeCursor(f.cursor, isUuid);
  return inOrganization(db, caller, orgId, 'audit:read', async (tx) => {
    let q = tx
      .selectFrom('audit_events')
      .selectAll()
      .where('organization_id', '=', orgId)
      .orderBy('id', 'desc')
      .limit(limit + 1);
    if (before) q = q.where('id', '<', before);
    if (f.action) q = q.where('action', '=', f.action);
    if (f.actor_id) q = q.where('actor_id', '=', f.actor_id);
    if (f.since) q = q.where('occurred_at', '>=', new Date(f.since) as never);
    if (f.until) q = q.where('occurred_at', '<', new Date(f.until) as never);
    const rows = await q.execute();
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
