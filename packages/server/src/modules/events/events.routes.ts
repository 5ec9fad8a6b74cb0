import { Type } from '@sinclair/typebox';
import type { App } from '../../app.js';
import { callerOf } from '../../http/auth-plugin.js';
import { AUTH_ERRORS, bearer, DB_ERRORS, problems, ref } from '../../http/schemas.js';
import { OrgParams } from '../organizations/organizations.schemas.js';
import { EVENT_TYPE_NAMES, EVENT_TYPES, EventTypeEntry, eventTypeList } from './event-types.js';
import { EventPage, EventsQuery } from './events.schemas.js';
import { getAllEvents, getOrganizationEvents } from './events.service.js';

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
        security: [],
        operationId: 'listEventTypes',
        summary: 'Every event type with the JSON Schema of its data',
        description: 'The event types the events API and webhooks carry, each with the JSON Schema of its `data`.',
        response: { 200: Type.Object({ data: Type.Array(ref(EventTypeEntry)) }, { description: 'The event types' }) },
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
        operationId: 'listAllEvents',
        summary: 'Events of every organization, oldest first (platform admins)',
        description:
          'Events of every organization in the order their transactions wrote them, oldest first; page on with `after`, filter with `types`. Platform admins.',
        querystring: EventsQuery,
        response: { 200: ref(EventPage, 'A page of events'), ...problems('VALIDATION_FAILED', AUTH_ERRORS, DB_ERRORS) },
      },
    },
    async (request) => getAllEvents(db, callerOf(request), request.query),
  );

  app.get(
    '/v1/organizations/:org_id/events',
    {
      onRequest: app.services.authenticate(['user', 'api_key']),
      schema: {
        security: bearer,
        tags: ['Events'],
        operationId: 'listOrganizationEvents',
        summary: 'The organization’s events, oldest first (admin+)',
        description:
          'The organization’s events in the order their transactions wrote them, oldest first; page on with `after`, filter with `types`. Admins, owners and platform admins.',
        params: OrgParams,
        querystring: EventsQuery,
        response: {
          200: ref(EventPage, 'A page of events'),
          ...problems('VALIDATION_FAILED', AUTH_ERRORS, 'NOT_FOUND', DB_ERRORS),
        },
      },
    },
    async (request) => getOrganizationEvents(db, callerOf(request), request.params.org_id, request.query),
  );
}
