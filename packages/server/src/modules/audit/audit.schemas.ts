import { Type } from '@sinclair/typebox';
import { Page, PageQuery, Timestamp, Uuid } from '../../http/schemas.js';

export const AuditEvent = Type.Object(
  {
    id: Uuid,
    organization_id: Uuid,
    actor: Type.Object({ type: Type.String(), id: Type.Union([Uuid, Type.Null()]) }),
    action: Type.String(),
    target: Type.Union([Type.Object({ type: Type.String(), id: Type.Union([Type.String(), Type.Null()]) }), Type.Null()]),
    data: Type.Record(Type.String(), Type.Unknown()),
    ip: Type.Union([Type.String(), Type.Null()]),
    request_id: Type.Union([Type.String(), Type.Null()]),
    occurred_at: Timestamp,
  },
  { $id: 'AuditEvent', title: 'AuditEvent' },
);
export const AuditEventPage = Page('AuditEventPage', AuditEvent);

export const AuditQuery = Type.Object({
  ...PageQuery,
  action: Type.Optional(Type.String({ maxLength: 100 })),
  actor_id: Type.Optional(Uuid),
  since: Type.Optional(Type.String({ format: 'date-time' })),
  until: Type.Optional(Type.String({ format: 'date-time' })),
});
