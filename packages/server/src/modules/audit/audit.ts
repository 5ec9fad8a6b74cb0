import { uuidv7 } from '../../db/ids.js';
import type { Tx } from '../../db/tenant-context.js';

export type ActorType = 'user' | 'platform_admin' | 'system';

export interface Actor {
  type: ActorType;
  id: string | null;
}

/** Where a change came from, carried from the route into the audit event. */
export interface RequestMeta {
  ip: string | null;
  requestId: string | null;
}

export type AuditAction =
  | 'organization.created'
  | 'organization.updated'
  | 'organization.archived'
  | 'organization.suspended'
  | 'organization.reactivated'
  | 'member.added'
  | 'member.role_changed'
  | 'member.removed'
  | 'invitation.created'
  | 'invitation.revoked'
  | 'invitation.accepted'
  | 'session.refresh_reuse_detected';

export interface AuditEvent {
  organizationId: string;
  actor: Actor;
  action: AuditAction;
  target: { type: string; id: string } | null;
  /** Never secrets: no passwords, tokens or hashes. */
  data?: Record<string, unknown>;
  meta: RequestMeta;
}

/**
 * Records an event inside the caller's transaction, so a rolled-back change leaves
 * no event and a committed change always has one. The transaction must be in the
 * event's organization (RLS refuses anything else).
 */
export async function record(tx: Tx, e: AuditEvent): Promise<void> {
  await tx
    .insertInto('audit_events')
    .values({
      organization_id: e.organizationId,
      id: uuidv7(),
      actor_type: e.actor.type,
      actor_id: e.actor.id,
      action: e.action,
      target_type: e.target?.type ?? null,
      target_id: e.target?.id ?? null,
      data: JSON.stringify(e.data ?? {}),
      ip: e.meta.ip,
      request_id: e.meta.requestId,
    })
    .execute();
}
