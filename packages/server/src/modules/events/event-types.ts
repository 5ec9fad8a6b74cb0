// The event catalogue: one TypeBox schema per event type's `data`. GET /v1/event-types,
// the OpenAPI document and the tests' validation all read these.
import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { RoleName } from '../access/access.schemas.js';

const Uuid = Type.String({ format: 'uuid' });
const OrgStatus = Type.Union([Type.Literal('active'), Type.Literal('suspended'), Type.Literal('archived')]);
const data = (props: Parameters<typeof Type.Object>[0]) => Type.Object(props, { additionalProperties: false });
const transition = data({ from: OrgStatus, to: OrgStatus });

const Change = Type.Object({ from: Type.Unknown(), to: Type.Unknown() });

/** What every sharing_grant.* event says about its grant. */
const grantFields = { grant_id: Uuid, provider_tool_id: Uuid, consumer_tool_id: Uuid, scopes: Type.Array(Type.String()) };

export const EVENT_TYPES = {
  'organization.created': {
    description: 'An organization was created; its creator is its first owner.',
    schema: data({ name: Type.String(), slug: Type.String(), owner_id: Uuid }),
  },
  'organization.updated': {
    description: 'Profile fields of an organization changed: each changed field with its value before and after.',
    schema: data({ fields: Type.Array(Type.String()), changes: Type.Record(Type.String(), Change) }),
  },
  'organization.archived': { description: 'An organization was archived; its scoped sessions ended.', schema: transition },
  'organization.suspended': { description: 'A platform admin suspended an organization; its scoped sessions ended.', schema: transition },
  'organization.reactivated': { description: 'A suspended or archived organization is active again.', schema: transition },
  'member.added': {
    description: 'A user joined the organization (by invitation, or as its creator).',
    schema: data({ user_id: Uuid, role: RoleName, invitation_id: Type.Optional(Uuid) }),
  },
  'member.role_changed': {
    description: 'A member’s role changed from one role to another.',
    schema: data({ user_id: Uuid, from: RoleName, to: RoleName }),
  },
  'member.removed': {
    description: 'A member was removed or left (`left`); their sessions scoped to the organization ended.',
    schema: data({ user_id: Uuid, role: RoleName, left: Type.Boolean() }),
  },
  'invitation.created': {
    description: 'An invitation was sent.',
    schema: data({ invitation_id: Uuid, email: Type.String(), role: RoleName }),
  },
  'invitation.revoked': {
    description: 'A pending invitation was revoked.',
    schema: data({ invitation_id: Uuid, email: Type.String(), role: RoleName }),
  },
  'invitation.accepted': {
    description: 'An invitation was accepted; a member.added event follows.',
    schema: data({ invitation_id: Uuid, email: Type.String(), role: RoleName, user_id: Uuid }),
  },
  'sharing_grant.created': {
    description: 'An owner allowed one tool (the consumer) to use some shareable scopes of another (the provider) in the organization.',
    schema: data({ ...grantFields, purpose: Type.String(), expires_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]) }),
  },
  'sharing_grant.revoked': {
    description: 'A sharing grant was revoked: no token is issued under it any more; tokens already issued live at most 300 s.',
    schema: data(grantFields),
  },
  'sharing_grant.suspended': {
    description:
      'A sharing grant was suspended because its provider or consumer (`disabled_tool_id`) was disabled in the organization; enabling the tool again does not resume it.',
    schema: data({ ...grantFields, disabled_tool_id: Uuid }),
  },
  'sharing_grant.token_issued': {
    description:
      'The consumer obtained tokens under a sharing grant (client_credentials at the provider’s audience). Told at most once per grant every 5 minutes, with the scopes of the first token of that window.',
    schema: data(grantFields),
  },
  'organization_tool.enabled': {
    description: 'A platform tool was enabled in the organization (or enabled again), with the scopes it is granted.',
    schema: data({ tool_id: Uuid, scopes: Type.Array(Type.String()) }),
  },
  'organization_tool.updated': {
    description: 'The scopes granted to an enabled tool changed.',
    schema: data({ tool_id: Uuid, scopes: Type.Array(Type.String()), previous_scopes: Type.Array(Type.String()) }),
  },
  'organization_tool.disabled': {
    description:
      'A platform tool was disabled in the organization: its tokens for it stop working at once, and its sharing grants are suspended.',
    schema: data({ tool_id: Uuid }),
  },
  'api_key.created': {
    description: 'An organization API key was created (its secret is never part of an event).',
    schema: data({
      api_key_id: Uuid,
      name: Type.String(),
      scopes: Type.Array(Type.String()),
      audience: Type.Union([Type.String(), Type.Null()]),
      expires_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    }),
  },
  'api_key.revoked': {
    description: 'An organization API key was revoked: it is refused from now on.',
    schema: data({ api_key_id: Uuid, name: Type.String() }),
  },
  'api_key.rotated': {
    description: 'An organization API key was rotated: a new key replaces it, and it ends at `old_expires_at`.',
    schema: data({ api_key_id: Uuid, name: Type.String(), new_api_key_id: Uuid, old_expires_at: Type.String({ format: 'date-time' }) }),
  },
  'session.revoked': {
    description:
      'A session scoped to the organization ended (logout, refresh-token reuse, suspension or archiving): tokens issued to it are no longer valid.',
    schema: data({ session_id: Uuid, user_id: Uuid, reason: Type.String() }),
  },
} as const satisfies Record<string, { description: string; schema: TSchema }>;

export type EventType = keyof typeof EVENT_TYPES;
export type EventData<T extends EventType> = Static<(typeof EVENT_TYPES)[T]['schema']>;
export const EVENT_TYPE_NAMES = Object.keys(EVENT_TYPES) as EventType[];
export const isEventType = (t: string): t is EventType => Object.hasOwn(EVENT_TYPES, t);

export const EventTypeName = Type.Unsafe<EventType>({ type: 'string', enum: EVENT_TYPE_NAMES });

/** The envelope every event has, on the pull API and in webhook bodies (Standard Webhooks). */
export const EventEnvelope = Type.Object(
  {
    id: Uuid,
    type: Type.String(),
    timestamp: Type.String({ format: 'date-time' }),
    organization_id: Uuid,
    actor: Type.Object({ type: Type.String(), id: Type.Union([Uuid, Type.Null()]) }),
    data: Type.Record(Type.String(), Type.Unknown()),
  },
  { $id: 'Event', title: 'Event', description: 'An event: what changed in an organization, who changed it and when' },
);

export const EventTypeEntry = Type.Object(
  { type: Type.String(), description: Type.String(), schema: Type.Record(Type.String(), Type.Unknown()) },
  { $id: 'EventType', title: 'EventType', description: 'An event type and the JSON Schema of its data' },
);

/** The catalogue as GET /v1/event-types answers it: plain JSON Schemas. */
export const eventTypeList = () =>
  EVENT_TYPE_NAMES.map((type) => ({
    type,
    description: EVENT_TYPES[type].description,
    schema: JSON.parse(JSON.stringify(EVENT_TYPES[type].schema)) as Record<string, unknown>,
  }));
