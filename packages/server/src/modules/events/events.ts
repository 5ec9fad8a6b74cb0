// The outbox side of the audit log: record() calls emitEvent in the same transaction.
import { uuidv7 } from '../../db/ids.js';
import type { Tx } from '../../db/tenant-context.js';
import type { AuditEvent, AuditSource } from '../audit/audit.js';
import type { EventType } from './event-types.js';
import { isEventType } from './event-types.js';
import { insertEvent } from './events.queries.js';
import './tables.js';

/** The id field an event's data names its target by. */
const TARGET_FIELD: Readonly<Record<string, string>> = {
  user: 'user_id',
  invitation: 'invitation_id',
  session: 'session_id',
  sharing_grant: 'grant_id',
  tool: 'tool_id',
  api_key: 'api_key_id',
};

/**
 * Writes the event of an audited change, in the change's transaction (and so in its
 * organization): it commits or rolls back with the change. An audit action that is not
 * an event type (refresh-token reuse, told by its session.revoked) emits nothing.
 */
export async function emitEvent(
  tx: Tx,
  by: AuditSource,
  e: AuditEvent | (Omit<AuditEvent, 'action'> & { action: EventType }),
): Promise<void> {
  if (!isEventType(e.action)) return;
  const field = e.target ? TARGET_FIELD[e.target.type] : undefined;
  const data = { ...(field && e.target ? { [field]: e.target.id } : {}), ...e.data };
  await insertEvent(tx, { organization_id: by.organizationId, id: uuidv7(), type: e.action, actor: by.actor, data });
}
