import { Type } from '@sinclair/typebox';
import type { App } from '../../app.js';
import { callerOf } from '../../http/auth-plugin.js';
import { noContent } from '../../http/no-content.js';
import { AUTH_ERRORS, BODY_ERRORS, bearer, closed, DB_ERRORS, NoContent, PageQuery, problems, ref, Uuid } from '../../http/schemas.js';
import { publishedWebhookKeys } from './signing.js';
import {
  CreatedWebhookEndpoint,
  DateTime,
  DeliveryParams,
  EndpointParams,
  EventTypes,
  Url,
  Delivery as WebhookDelivery,
  WebhookDeliveryPage,
  Endpoint as WebhookEndpoint,
  WebhookEndpointPage,
  WebhookKeys,
} from './webhooks.schemas.js';
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

export function webhookRoutes(app: App) {
  const deps: WebhookDeps = { db: app.db, allowPrivate: app.config.webhookAllowPrivate };
  // Platform admins manage every endpoint, a tool those bound to it.
  const auth = app.services.authenticate(['user', 'tool']);
  const common = { security: bearer, tags: ['Webhooks'] };
  /** The errors of a platform-admin route on one endpoint. */
  const onEndpoint = problems('VALIDATION_FAILED', AUTH_ERRORS, 'NOT_FOUND', DB_ERRORS);

  app.get(
    '/.well-known/webhook-keys.json',
    {
      schema: {
        tags: ['Webhooks'],
        security: [],
        operationId: 'getWebhookKeys',
        summary: 'Public Ed25519 keys of the v1a webhook signatures',
        description: 'The keys a receiver verifies `v1a` (Ed25519) webhook signatures with, newest first; retired keys stay listed.',
        response: { 200: ref(WebhookKeys, 'The webhook signing keys'), ...problems(DB_ERRORS) },
      },
    },
    async () => ({ keys: await publishedWebhookKeys(app.db.kysely) }),
  );

  app.post(
    '/v1/webhook-endpoints',
    {
      onRequest: auth,
      schema: {
        ...common,
        operationId: 'createWebhookEndpoint',
        summary: 'Register an endpoint (platform admins, tools)',
        description:
          'Registers a URL for the given event types. The signing secret is shown only in this answer. Platform admins (`tool_id` binds the endpoint to a tool), or a tool for itself: its endpoint is bound to it and gets the events of the organizations where it is enabled only.',
        body: closed({ url: Url, event_types: EventTypes, tool_id: Type.Optional(Uuid) }),
        response: {
          201: ref(CreatedWebhookEndpoint, 'The endpoint and its signing secret'),
          ...problems(BODY_ERRORS, AUTH_ERRORS, DB_ERRORS),
        },
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
        operationId: 'listWebhookEndpoints',
        summary: 'Webhook endpoints (platform admins, tools)',
        description: 'The registered webhook endpoints, a page at a time: every one for platform admins, its own for a tool.',
        querystring: Type.Object(PageQuery),
        response: {
          200: ref(WebhookEndpointPage, 'A page of webhook endpoints'),
          ...problems('VALIDATION_FAILED', AUTH_ERRORS, DB_ERRORS),
        },
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
        operationId: 'getWebhookEndpoint',
        summary: 'A webhook endpoint (platform admins, tools)',
        description:
          'One webhook endpoint, with its status and why it was disabled, if it was. Platform admins, or a tool for its own endpoints.',
        params: EndpointParams,
        response: { 200: ref(WebhookEndpoint, 'The webhook endpoint'), ...onEndpoint },
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
        operationId: 'updateWebhookEndpoint',
        summary: 'Change an endpoint (platform admins, tools)',
        description:
          'Changes the URL, the event types or the status; enabling a failing endpoint clears its failure. Platform admins, or a tool for its own endpoints.',
        params: EndpointParams,
        body: closed({
          url: Type.Optional(Url),
          event_types: Type.Optional(EventTypes),
          status: Type.Optional(Type.Union([Type.Literal('enabled'), Type.Literal('disabled')])),
        }),
        response: { 200: ref(WebhookEndpoint, 'The changed endpoint'), ...problems(BODY_ERRORS, AUTH_ERRORS, 'NOT_FOUND', DB_ERRORS) },
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
        operationId: 'deleteWebhookEndpoint',
        summary: 'Delete an endpoint (platform admins, tools)',
        description: 'Deletes the endpoint with its pending deliveries. Platform admins, or a tool for its own endpoints.',
        params: EndpointParams,
        response: { 204: NoContent('Deleted'), ...onEndpoint },
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
        operationId: 'rotateWebhookSecret',
        summary: 'A new signing secret (platform admins, tools)',
        description:
          'Issues a new signing secret; the old one keeps signing next to it for 24 hours. Platform admins, or a tool for its own endpoints.',
        params: EndpointParams,
        response: {
          200: Type.Object(
            { secret: Type.String(), previous_secret_expires_in: Type.Integer({ description: 'Seconds' }) },
            { description: 'The new secret' },
          ),
          ...onEndpoint,
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
        operationId: 'listWebhookDeliveries',
        summary: 'The endpoint’s deliveries, newest first (platform admins, tools)',
        description:
          'The delivery log of the endpoint, newest first, with each delivery’s attempts and last answer. Platform admins, or a tool for its own endpoints.',
        params: EndpointParams,
        querystring: Type.Object(PageQuery),
        response: { 200: ref(WebhookDeliveryPage, 'A page of deliveries'), ...onEndpoint },
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
        operationId: 'retryWebhookDelivery',
        summary: 'Send a delivery again now (platform admins, tools)',
        description: 'Schedules the delivery for an attempt now, whatever its status. Platform admins, or a tool for its own endpoints.',
        params: DeliveryParams,
        response: { 202: ref(WebhookDelivery, 'The delivery, due now'), ...onEndpoint },
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
        operationId: 'replayWebhookEvents',
        summary: 'Send a period’s events again (platform admins, tools)',
        description:
          'Sends the endpoint’s events of a period again, with their original `webhook-id`, so receivers can deduplicate. Platform admins, or a tool for its own endpoints.',
        params: EndpointParams,
        body: closed({ since: DateTime, until: Type.Optional(DateTime) }),
        response: {
          202: Type.Object({ replayed: Type.Integer() }, { description: 'How many deliveries were scheduled' }),
          ...problems(BODY_ERRORS, AUTH_ERRORS, 'NOT_FOUND', DB_ERRORS),
        },
      },
    },
    async (request, reply) => reply.status(202).send(await replay(deps, callerOf(request), request.params.id, request.body)),
  );
}
