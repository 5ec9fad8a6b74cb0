import { Type } from '@sinclair/typebox';
import { Page, ref, Timestamp, Uuid } from '../../http/schemas.js';
import { Jwk } from '../oauth/oauth.schemas.js';
import { EventTypeName } from './event-types.js';

export const Url = Type.String({ minLength: 8, maxLength: 2048 });
export const EventTypes = Type.Array(EventTypeName, { minItems: 1, maxItems: 100 });
export const Status = Type.Union([Type.Literal('enabled'), Type.Literal('disabled'), Type.Literal('failing')]);

export const Endpoint = Type.Object(
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
  { $id: 'WebhookEndpoint', title: 'WebhookEndpoint', description: 'Where events of the chosen types are sent, signed' },
);
export const Delivery = Type.Object(
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
  { $id: 'WebhookDelivery', title: 'WebhookDelivery', description: 'One event sent to one endpoint: its attempts and outcome' },
);
export const EndpointParams = Type.Object({ id: Uuid });
export const DeliveryParams = Type.Object({ id: Uuid, delivery_id: Uuid });
export const DateTime = Type.String({ format: 'date-time' });

export const CreatedWebhookEndpoint = Type.Intersect([ref(Endpoint), Type.Object({ secret: Type.String() })], {
  $id: 'CreatedWebhookEndpoint',
  title: 'CreatedWebhookEndpoint',
  description: 'A new endpoint with its signing secret, shown only in this answer',
});
export const WebhookEndpointPage = Page('WebhookEndpointPage', Endpoint);
export const WebhookDeliveryPage = Page('WebhookDeliveryPage', Delivery);
export const WebhookKeys = Type.Object(
  {
    keys: Type.Array(
      Type.Object({
        kid: Type.String(),
        alg: Type.Literal('Ed25519'),
        public_key: Type.String({ description: 'Standard Webhooks form: whpk_ and the base64 key' }),
        jwk: ref(Jwk),
        retired: Type.Boolean({ description: 'No longer signs; kept so older deliveries still verify' }),
      }),
    ),
  },
  { $id: 'WebhookKeys', title: 'WebhookKeys', description: 'Public Ed25519 keys of the v1a webhook signatures' },
);
