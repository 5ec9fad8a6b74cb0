import type { Tx } from '../../db/tenant-context.js';
import type { AuditSource } from '../audit/audit.js';
import type { RevokedSession } from '../identity/sessions.js';
import { emitEvent } from './events.js';

/**
 * Emits session.revoked for each ended session scoped to the source's organization, so
 * tools drop that session's tokens at once. An event only: the change that ended the
 * sessions (a removal, a suspension) is what the audit log records. The transaction
 * must be in that organization.
 */
export async function emitSessionsRevoked(tx: Tx, by: AuditSource, sessions: RevokedSession[], reason: string): Promise<void> {
  for (const s of sessions) {
    if (s.active_organization_id !== by.organizationId) continue;
    await emitEvent(tx, by, { action: 'session.revoked', target: { type: 'session', id: s.id }, data: { user_id: s.user_id, reason } });
  }
}
