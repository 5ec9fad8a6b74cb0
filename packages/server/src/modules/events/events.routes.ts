import { Type } from '@sinclair/typebox';
import type { App } from '../../app.js';
import { callerOf } from '../../http/auth-plugin.js';
import { bearer, errorResponses } from '../../http/schemas.js';
import { OrgParams } from '../organizations/organizations.schemas.js';
import { EVENT_TYPE_NAMES, EVENT_TYPES, EventEnvelope, EventTypeEntry, eventTypeList } from './event-types.js';
import { getAllEvents, getOrganizationEvents } from './events.service.js';

const EventsQuery = Type.Object({
  after: Type.Optional(Type.String({ maxLength: 64, description: 'An event id, or the next_after of the previous page' })),
  types: Type.Optional(Type.String({ maxLength: 2000, description: 'Comma-separated event types' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })),
});

const EventPage = Type.Object(
  {
    data: Type.Array(EventEnvelope),
    has_more: Type.Boolean(),
    next_after: Type.Union([Type.String(), Type.Null()], { description: 'Pass as `after` to read on; null before any event' }),
  },
  { title: 'EventPage' },
);

export function eventRoutes(app: App) {
  const { db } = app;
  const types = eventTypeList();
  // The same schemas in the OpenAPI document's components, one per event type.
  for (const t of EVENT_TYPE_NAMES) {
    app.addSchema({ ...EVENT_TYPES[t].schema, $id: `event.${t}`, title: `${t} data`, description: EVENT_TYPES[t].description });
  }

  app.get(
    '/v1/event-types',
    {
      schema: {
        tags: ['Events'],
        summary: 'Every event type with the JSON Schema of its data',
        response: { 200: Type.Object({ data: Type.Array(EventTypeEntry) }) },
      },
    },
    async () => ({ data: types }),
  );

  app.get(
    '/v1/events',
    {
      onRequest: app.services.authenticate(['user']),
      schema: {
        security: bearer,
        tags: ['Events'],
        summary: 'Events of every organization, oldest first (platform admins)',
        querystring: EventsQuery,
        response: { 200: EventPage, ...errorResponses(400, 401, 403) },
      },
    },
    async (request) => getAllEvents(db, callerOf(request), request.query),
  );

  app.get(
    '/v1/organizations/:org_id/events',
    {
      onRequest: app.services.authenticate(['user']),
      schema: {
        security: bearer,
        tags: ['Events'],
        summary: 'The organization’s events, oldest first (admin+)',
        params: OrgParams,
        querystring: EventsQuery,
        response: { 200: EventPage, ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request) => getOrganizationEvents(db, callerOf(request), request.params.org_id, request.query),
  );
}
