import { Type } from '@sinclair/typebox';
import { ref } from '../../http/schemas.js';
import { EventEnvelope } from './event-types.js';

export const EventsQuery = Type.Object({
  after: Type.Optional(Type.String({ maxLength: 64, description: 'An event id, or the next_after of the previous page' })),
  types: Type.Optional(Type.String({ maxLength: 2000, description: 'Comma-separated event types' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })),
});

export const EventPage = Type.Object(
  {
    data: Type.Array(ref(EventEnvelope)),
    has_more: Type.Boolean(),
    next_after: Type.Union([Type.String(), Type.Null()], { description: 'Pass as `after` to read on; null before any event' }),
  },
  { $id: 'EventPage', title: 'EventPage', description: 'A page of events, oldest first' },
);
