import { Type } from '@sinclair/typebox';
import type { App } from '../../app.js';
import { callerOf } from '../../http/auth-plugin.js';
import { noContent } from '../../http/no-content.js';
import { bearer, closed, errorResponses, Page, PageQuery, Timestamp, Uuid } from '../../http/schemas.js';
import { EventTypeName } from './event-types.js';
import { publishedWebhookKeys } from './signing.js';
import {
  createEndpoint,
  getDeliveries,
  getEndpoint,
  getEndpoints,
  patchEndpoint,
  removeEndpoint,
  replay,
  retry,
  rotateSecret,
  type WebhookDeps,
} from './webhooks.service.js';

const Url = Type.String({ minLength: 8, maxLength: 2048 });
const EventTypes = Type.Array(EventTypeName, { minItems: 1, maxItems: 100 });
const Status = Type.Union([Type.Literal('enabled'), Type.Literal('disabled'), Type.Literal('failing')]);

const Endpoint = Type.Object(
  {
    id: Uuid,
    url: Type.String(),
    event_types: Type.Array(Type.String()),
    tool_id: Type.Union([Uuid, Type.Null()]),
    status: Status,
    disabled_reason: Type.Union([Type.String(), Type.Null()]),
    created_at: Timestamp,
    updated_at: Timestamp,
  },
  { title: 'WebhookEndpoint' },
);
const Delivery = Type.Object(
  {
    id: Uuid,
    organization_id: Uuid,
    event_id: Uuid,
    status: Type.Union([Type.Literal('pending'), Type.Literal('delivered'), Type.Literal('failed')]),
    attempts: Type.Integer(),
    last_status_code: Type.Union([Type.Integer(), Type.Null()]),
    last_error: Type.Union([Type.String(), Type.Null()]),
    next_attempt_at: Timestamp,
    last_attempt_at: Type.Union([Timestamp, Type.Null()]),
    delivered_at: Type.Union([Timestamp, Type.Null()]),
    created_at: Timestamp,
  },
  { title: 'WebhookDelivery' },
);
const EndpointParams = Type.Object({ id: Uuid });
const DeliveryParams = Type.Object({ id: Uuid, delivery_id: Uuid });
const DateTime = Type.String({ format: 'date-time' });

export function webhookRoutes(app: App) {
  const deps: WebhookDeps = { db: app.db, allowPrivate: app.config.webhookAllowPrivate };
  const auth = app.services.authenticate(['user']);
  const common = { security: bearer, tags: ['Webhooks'] };

  app.get(
    '/.well-known/webhook-keys.json',
    { schema: { tags: ['Webhooks'], summary: 'Public Ed25519 keys of the v1a webhook signatures' } },
    async () => ({ keys: await publishedWebhookKeys(app.db.kysely) }),
  );

  app.post(
    '/v1/webhook-endpoints',
    {
      onRequest: auth,
      schema: {
        ...common,
        summary: 'Register an endpoint; the signing secret is shown only in this answer (platform admins)',
        body: closed({ url: Url, event_types: EventTypes, tool_id: Type.Optional(Uuid) }),
        response: { 201: Type.Intersect([Endpoint, Type.Object({ secret: Type.String() })]), ...errorResponses(400, 401, 403) },
      },
    },
    async (request, reply) => reply.status(201).send(await createEndpoint(deps, callerOf(request), request.body)),
  );

  app.get(
    '/v1/webhook-endpoints',
    {
      onRequest: auth,
      schema: {
        ...common,
        summary: 'Webhook endpoints',
        querystring: Type.Object(PageQuery),
        response: { 200: Page(Endpoint), ...errorResponses(400, 401, 403) },
      },
    },
    async (request) => getEndpoints(deps, callerOf(request), request.query),
  );

  app.get(
    '/v1/webhook-endpoints/:id',
    {
      onRequest: auth,
      schema: {
        ...common,
        summary: 'A webhook endpoint',
        params: EndpointParams,
        response: { 200: Endpoint, ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request) => getEndpoint(deps, callerOf(request), request.params.id),
  );

  app.patch(
    '/v1/webhook-endpoints/:id',
    {
      onRequest: auth,
      schema: {
        ...common,
        summary: 'Change an endpoint’s URL, event types or status (enabling clears a failure)',
        params: EndpointParams,
        body: closed({
          url: Type.Optional(Url),
          event_types: Type.Optional(EventTypes),
          status: Type.Optional(Type.Union([Type.Literal('enabled'), Type.Literal('disabled')])),
        }),
        response: { 200: Endpoint, ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request) => patchEndpoint(deps, callerOf(request), request.params.id, request.body),
  );

  app.delete(
    '/v1/webhook-endpoints/:id',
    {
      onRequest: auth,
      schema: {
        ...common,
        summary: 'Delete an endpoint',
        params: EndpointParams,
        response: { 204: Type.Null(), ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request, reply) => noContent(reply, removeEndpoint(deps, callerOf(request), request.params.id)),
  );

  app.post(
    '/v1/webhook-endpoints/:id/rotate-secret',
    {
      onRequest: auth,
      schema: {
        ...common,
        summary: 'A new signing secret; the old one keeps signing for 24 hours',
        params: EndpointParams,
        response: {
          200: Type.Object({ secret: Type.String(), previous_secret_expires_in: Type.Integer() }),
          ...errorResponses(400, 401, 403, 404),
        },
      },
    },
    async (request) => rotateSecret(deps, callerOf(request), request.params.id),
  );

  app.get(
    '/v1/webhook-endpoints/:id/deliveries',
    {
      onRequest: auth,
      schema: {
        ...common,
        summary: 'The endpoint’s deliveries, newest first',
        params: EndpointParams,
        querystring: Type.Object(PageQuery),
        response: { 200: Page(Delivery), ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request) => getDeliveries(deps, callerOf(request), request.params.id, request.query),
  );

  app.post(
    '/v1/webhook-endpoints/:id/deliveries/:delivery_id/retry',
    {
      onRequest: auth,
      schema: {
        ...common,
        summary: 'Send a delivery again now',
        params: DeliveryParams,
        response: { 202: Delivery, ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request, reply) => reply.status(202).send(await retry(deps, callerOf(request), request.params.id, request.params.delivery_id)),
  );

  app.post(
    '/v1/webhook-endpoints/:id/replay',
    {
      onRequest: auth,
      schema: {
        ...common,
        summary: 'Send the endpoint’s events of a period again, with their original webhook-id',
        params: EndpointParams,
        body: closed({ since: DateTime, until: Type.Optional(DateTime) }),
        response: { 202: Type.Object({ replayed: Type.Integer() }), ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request, reply) => reply.status(202).send(await replay(deps, callerOf(request), request.params.id, request.body)),
  );
}
