import type { Tx } from '../../db/tenant-context.js';
import { emitEvent } from '../events/events.js';
import { insertAuditEvent } from './audit.queries.js';

export type ActorType = 'user' | 'platform_admin' | 'system' | 'tool' | 'api_key';

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
  | 'session.refresh_reuse_detected'
  | 'sharing_grant.created'
  | 'sharing_grant.revoked'
  | 'sharing_grant.suspended'
  | 'sharing_grant.token_issued'
  | 'token.exchanged'
  | 'organization_tool.enabled'
  | 'organization_tool.updated'
  | 'organization_tool.disabled'
  | 'api_key.created'
  | 'api_key.revoked'
  | 'api_key.rotated';

/** Where an event happens and who does it: an admitted caller (OrgCaller) is one. */
export interface AuditSource {
  organizationId: string;
  actor: Actor;
  meta: RequestMeta;
}

export interface AuditEvent {
  action: AuditAction;
  target: { type: string; id: string } | null;
  /** Never secrets: no passwords, tokens or hashes. */
  data?: Record<string, unknown>;
}

/**
 * Records an event inside the caller's transaction, so a rolled-back change leaves
 * no event and a committed change always has one. The transaction must be in the
 * event's organization (RLS refuses anything else). The change's event (the outbox of
 * webhooks and the pull API) is written with it.
 */
export async function record(tx: Tx, by: AuditSource, e: AuditEvent): Promise<void> {
  await insertAuditEvent(tx, by, e);
  await emitEvent(tx, by, e);
}
