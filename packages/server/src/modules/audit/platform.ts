// The platform's own audit log: registry acts (tool.*), which happen in no organization.
// Written in the act's transaction, as tenantry_platform (a platform admin's role).
import type { Tx } from '../../db/tenant-context.js';
import type { Actor, RequestMeta } from './audit.js';
import { insertPlatformAuditEvent } from './audit.queries.js';

export type PlatformAuditAction =
  | 'tool.created'
  | 'tool.updated'
  | 'tool.disabled'
  | 'tool.enabled'
  | 'tool.credential_created'
  | 'tool.credential_revoked';

export interface PlatformAuditSource {
  actor: Actor;
  meta: RequestMeta;
}

export interface PlatformAuditEvent {
  action: PlatformAuditAction;
  target: { type: string; id: string } | null;
  /** Never secrets: no client secrets or hashes. */
  data?: Record<string, unknown>;
}

export const recordPlatform = (tx: Tx, by: PlatformAuditSource, e: PlatformAuditEvent): Promise<void> =>
  insertPlatformAuditEvent(tx, by, e);
