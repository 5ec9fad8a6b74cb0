import type { FastifyDynamicSwaggerOptions } from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';
import { ApiKey, ApiKeyPage, CreatedApiKey } from '../modules/api-keys/api-keys.schemas.js';
import {
  AuditEvent,
  AuditEventPage,
  AuditVerification,
  PlatformAuditEvent,
  PlatformAuditEventPage,
} from '../modules/audit/audit.schemas.js';
import { EVENT_TYPE_NAMES, EVENT_TYPES, EventEnvelope, EventTypeEntry } from '../modules/events/event-types.js';
import { EventPage } from '../modules/events/events.schemas.js';
import {
  CreatedWebhookEndpoint,
  Delivery as WebhookDelivery,
  WebhookDeliveryPage,
  Endpoint as WebhookEndpoint,
  WebhookEndpointPage,
  WebhookKeys,
} from '../modules/events/webhooks.schemas.js';
import { Me, Membership, SignupResponse, User } from '../modules/identity/identity.schemas.js';
import { EmailVerified } from '../modules/identity/lifecycle.schemas.js';
import { AcceptedInvitation, CreatedInvitation, Invitation, InvitationPage } from '../modules/invitations/invitations.schemas.js';
import { Member, MemberPage } from '../modules/members/members.schemas.js';
import { Introspection } from '../modules/oauth/introspection.schemas.js';
import { AuthorizationServerMetadata, Jwk, Jwks, OAuthErrorBody, TokenResponse } from '../modules/oauth/oauth.schemas.js';
import { Organization, OrganizationPage } from '../modules/organizations/organizations.schemas.js';
import { SharingGrant, SharingGrantPage } from '../modules/tools/sharing-grants.schemas.js';
import {
  CreatedCredential,
  CreatedTool,
  OrganizationTool,
  OrganizationToolPage,
  Tool,
  Credential as ToolCredential,
  CredentialList as ToolCredentialList,
  ToolOrganization,
  ToolOrganizationPage,
  ToolPage,
  ToolScope,
} from '../modules/tools/tools.schemas.js';
import { Health } from './ops.schemas.js';
import { ErrorCodeSchema, FieldError, Problem } from './schemas.js';

/**
 * The named schemas of the API: each is `components.schemas.<$id>` in the OpenAPI document, and
 * the response serializer resolves the routes' `ref`s to them, so a response is shaped (and
 * stripped of unknown fields) exactly as if the schema were written inline.
 */
const COMPONENT_SCHEMAS = [
  ErrorCodeSchema,
  FieldError,
  Problem,
  OAuthErrorBody,
  User,
  Membership,
  Me,
  EmailVerified,
  TokenResponse,
  SignupResponse,
  Organization,
  OrganizationPage,
  Member,
  MemberPage,
  Invitation,
  InvitationPage,
  CreatedInvitation,
  AcceptedInvitation,
  ApiKey,
  ApiKeyPage,
  CreatedApiKey,
  AuditEvent,
  AuditEventPage,
  AuditVerification,
  PlatformAuditEvent,
  PlatformAuditEventPage,
  EventEnvelope,
  EventPage,
  EventTypeEntry,
  WebhookEndpoint,
  CreatedWebhookEndpoint,
  WebhookEndpointPage,
  WebhookDelivery,
  WebhookDeliveryPage,
  SharingGrant,
  SharingGrantPage,
  Jwk,
  WebhookKeys,
  Jwks,
  AuthorizationServerMetadata,
  Introspection,
  ToolScope,
  Tool,
  ToolPage,
  CreatedTool,
  ToolCredential,
  ToolCredentialList,
  CreatedCredential,
  OrganizationTool,
  OrganizationToolPage,
  ToolOrganization,
  ToolOrganizationPage,
  Health,
];

export function registerComponentSchemas(app: FastifyInstance) {
  for (const schema of COMPONENT_SCHEMAS) app.addSchema(schema);
}

const TAGS = [
  { name: 'Authentication', description: 'Accounts: sign up and sign in with email and password' },
  { name: 'OAuth 2.0', description: 'Token refresh and revocation (RFC 6749, RFC 7009), keys and metadata' },
  { name: 'Users', description: 'The signed-in user' },
  { name: 'Account lifecycle', description: 'Email verification, password reset and email change, each through an emailed link' },
  { name: 'Organizations', description: 'Client organizations and their profile' },
  { name: 'Platform administration', description: 'Suspending and reactivating organizations; the platform audit log' },
  { name: 'Platform tools', description: 'The tool registry, tools enabled per organization, and what tools call' },
  { name: 'Members', description: 'Who belongs to an organization, with which role' },
  { name: 'Invitations', description: 'Inviting people by email, and accepting' },
  { name: 'API keys', description: 'Organization API keys for scripts and tools, shown once, stored as a keyed hash' },
  { name: 'Audit log', description: 'What happened in an organization' },
  { name: 'Events', description: 'What changed in organizations, in the order it was written, to pull' },
  { name: 'Webhooks', description: 'Events pushed to registered endpoints, signed, with a delivery log' },
  { name: 'Sharing grants', description: 'Which tool may use which shareable scopes of another tool in an organization' },
  { name: 'Operations', description: 'Liveness, readiness, metrics and this document' },
];

/** What a receiver gets: one POST per event, the envelope with that type's data (the `data` components of /v1/event-types). */
const WEBHOOKS = Object.fromEntries(
  EVENT_TYPE_NAMES.map((type) => [
    type,
    {
      post: {
        operationId: `${type.replace(/[._](\w)/g, (_, c: string) => c.toUpperCase())}Webhook`,
        summary: `The ${type} event`,
        description: EVENT_TYPES[type].description,
        tags: ['Webhooks'],
        security: [],
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: {
                allOf: [
                  { $ref: '#/components/schemas/Event' },
                  { type: 'object' as const, properties: { type: { const: type }, data: { $ref: `#/components/schemas/event.${type}` } } },
                ],
              },
            },
          },
        },
        responses: { '2XX': { description: 'Received; any other answer is retried' } },
      },
    },
  ]),
);

/** @fastify/swagger options that make the document name its components and carry the API's tags and license. */
export const documentOptions: Pick<FastifyDynamicSwaggerOptions, 'refResolver' | 'transformObject'> = {
  // Components are named after their `$id` (Organization, Problem…), not def-0, def-1…
  refResolver: {
    buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`),
  },
  transformObject: (doc) =>
    'openapiObject' in doc
      ? {
          ...doc.openapiObject,
          info: { ...doc.openapiObject.info!, license: { name: 'MIT', identifier: 'MIT' } },
          tags: TAGS,
          webhooks: WEBHOOKS,
        }
      : doc.swaggerObject,
};
