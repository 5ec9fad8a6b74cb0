import { Type } from '@sinclair/typebox';
import { Page, PageQuery, Timestamp, Uuid } from '../../http/schemas.js';

/** What every logged act says, in an organization's log or the platform's. */
const ACT = {
  actor: Type.Object({ type: Type.String(), id: Type.Union([Uuid, Type.Null()]) }),
  action: Type.String(),
  target: Type.Union([Type.Object({ type: Type.String(), id: Type.Union([Type.String(), Type.Null()]) }), Type.Null()]),
  data: Type.Record(Type.String(), Type.Unknown()),
  ip: Type.Union([Type.String(), Type.Null()]),
  request_id: Type.Union([Type.String(), Type.Null()]),
  occurred_at: Timestamp,
};

export const AuditEvent = Type.Object(
  {
    id: Uuid,
    organization_id: Uuid,
    ...ACT,
    /** The chain (README, "Audit log integrity"): the hash of the event before it, null for the first. */
    prev_hash: Type.Union([Type.String(), Type.Null()]),
    hash: Type.Union([Type.String(), Type.Null()]),
  },
  { $id: 'AuditEvent', title: 'AuditEvent' },
);
export const AuditEventPage = Page('AuditEventPage', AuditEvent);

/** An event of the platform log (registry acts, `tool.*`): no organization, no chain. */
export const PlatformAuditEvent = Type.Object({ id: Uuid, ...ACT }, { $id: 'PlatformAuditEvent', title: 'PlatformAuditEvent' });
export const PlatformAuditEventPage = Page('PlatformAuditEventPage', PlatformAuditEvent);

export const PlatformAuditQuery = Type.Object({ ...PageQuery, action: Type.Optional(Type.String({ maxLength: 100 })) });

export const AuditQuery = Type.Object({
  ...PageQuery,
  action: Type.Optional(Type.String({ maxLength: 100 })),
  actor_id: Type.Optional(Uuid),
  since: Type.Optional(Type.String({ format: 'date-time' })),
  until: Type.Optional(Type.String({ format: 'date-time' })),
});

export const AuditExportQuery = Type.Object({
  format: Type.Optional(Type.Union([Type.Literal('ndjson'), Type.Literal('csv')], { default: 'ndjson' })),
  since: Type.Optional(Type.String({ format: 'date-time' })),
  until: Type.Optional(Type.String({ format: 'date-time' })),
});

export const AuditVerification = Type.Object(
  {
    ok: Type.Boolean(),
    checked: Type.Integer({ description: 'Events whose hash and link were checked' }),
    first_mismatch: Type.Union([
      Type.Object({ id: Uuid, reason: Type.String() }, { description: 'The first event that does not match, and why' }),
      Type.Null(),
    ]),
    checkpoint: Type.Union([
      Type.Object(
        { chain_seq: Type.Integer(), last_event_id: Uuid, hash: Type.String(), signed_at: Timestamp, kid: Type.String() },
        { description: 'The latest signed checkpoint (Ed25519)' },
      ),
      Type.Null(),
    ]),
  },
  { $id: 'AuditVerification', title: 'AuditVerification' },
);
