import { Type } from '@sinclair/typebox';
import { closed, Page, PageQuery, Timestamp, Uuid } from '../../http/schemas.js';

/** The longest an API key may live: five years. */
export const MAX_EXPIRES_IN = 5 * 365 * 86_400;
/** The longest grace a rotated key keeps working: a day. */
export const MAX_GRACE_SECONDS = 86_400;

const Scope = Type.String({ minLength: 1, maxLength: 200, pattern: '^[a-z0-9_.-]+(:[a-z0-9_.-]+)+$' });

export const ApiKey = Type.Object(
  {
    id: Uuid,
    name: Type.String(),
    start: Type.String({ description: 'The first characters of the key, to recognise it; the key itself is shown only once' }),
    scopes: Type.Array(Type.String()),
    audience: Type.Union([Type.String(), Type.Null()], {
      description: "The tool the key is for (its audience); null: Tenantry's API and any tool enabled in the organization",
    }),
    created_by: Type.Union([Uuid, Type.Null()]),
    created_at: Timestamp,
    expires_at: Type.Union([Timestamp, Type.Null()]),
    last_used_at: Type.Union([Timestamp, Type.Null()], { description: 'Updated at most once a minute' }),
    revoked_at: Type.Union([Timestamp, Type.Null()]),
    replaced_by: Type.Union([Uuid, Type.Null()], { description: 'The key that replaced this one by rotation' }),
  },
  { $id: 'ApiKey', title: 'ApiKey', description: 'An organization API key, without its secret' },
);
export const ApiKeyPage = Page('ApiKeyPage', ApiKey);
export const CreatedApiKey = Type.Composite(
  [
    ApiKey,
    Type.Object({
      key: Type.String({ description: 'The key, `tnty_…`: shown only here; send it as `Authorization: Bearer <key>`' }),
    }),
  ],
  { $id: 'CreatedApiKey', title: 'CreatedApiKey' },
);

export const CreateApiKeyBody = closed({
  name: Type.String({ minLength: 1, maxLength: 120 }),
  scopes: Type.Array(Scope, {
    minItems: 1,
    maxItems: 100,
    uniqueItems: true,
    description: 'Tenantry permissions the creator holds, and scopes of tools enabled in the organization',
  }),
  expires_in: Type.Optional(Type.Integer({ minimum: 60, maximum: MAX_EXPIRES_IN, description: 'Seconds; never expires when absent' })),
  audience: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 2000,
      description: 'The audience of a tool enabled in the organization: the key is for that tool only',
    }),
  ),
});
export const RotateApiKeyBody = closed({
  grace_seconds: Type.Integer({
    minimum: 0,
    maximum: MAX_GRACE_SECONDS,
    description: 'How long the old key keeps working (at most a day); 0 ends it at once',
  }),
});
export const ListApiKeysQuery = Type.Object({ ...PageQuery });
export const ApiKeyParams = Type.Object({ org_id: Uuid, api_key_id: Uuid });
