import { uuidv7 } from '../../db/ids.js';
import type { Tx } from '../../db/tenant-context.js';
import type { AuditEvent, AuditSource } from './audit.js';

export async function insertAuditEvent(tx: Tx, by: AuditSource, e: AuditEvent): Promise<void> {
  await tx
    .insertInto('audit_events')
    .values({
      organization_id: by.organizationId,
      id: uuidv7(),
      actor_type: by.actor.type,
      actor_id: by.actor.id,
      action: e.action,
      target_type: e.target?.type ?? null,
      target_id: e.target?.id ?? null,
      data: JSON.stringify(e.data ?? {}),
      ip: by.meta.ip,
      request_id: by.meta.requestId,
    })
    .execute();
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
