import { Type } from '@sinclair/typebox';

// RFC 7662: standard parameters accepted, unknown ones ignored (as on /oauth/token).
export const IntrospectionRequest = Type.Object({
  token: Type.String({ maxLength: 8192 }),
  token_type_hint: Type.Optional(Type.String({ maxLength: 100 })),
  client_id: Type.Optional(Type.String({ maxLength: 200 })),
  client_secret: Type.Optional(Type.String({ maxLength: 1000 })),
  client_assertion_type: Type.Optional(Type.String({ maxLength: 200 })),
  client_assertion: Type.Optional(Type.String({ maxLength: 8192 })),
});

const PRINCIPALS = ['user', 'tool', 'api_key'] as const;

/** RFC 7662 §2.2. Inactive: `{active: false}` and nothing else. */
export const Introspection = Type.Object(
  {
    active: Type.Boolean({ description: 'False for a token that is unknown, expired, revoked, or not meant for the calling tool' }),
    principal: Type.Optional(Type.Unsafe<(typeof PRINCIPALS)[number]>({ type: 'string', enum: [...PRINCIPALS] })),
    sub: Type.Optional(Type.String({ description: 'The user, the tool (its client id) or the API key (its id)' })),
    client_id: Type.Optional(Type.String()),
    org_id: Type.Optional(Type.Union([Type.String({ format: 'uuid' }), Type.Null()])),
    scope: Type.Optional(Type.String({ description: 'Space-separated; for an API key, the scopes of the calling tool it carries' })),
    exp: Type.Optional(
      Type.Union([Type.Integer(), Type.Null()], { description: 'Seconds since the epoch; null for a key that never expires' }),
    ),
    iat: Type.Optional(Type.Integer()),
    aud: Type.Optional(Type.String()),
    token_type: Type.Optional(Type.Literal('Bearer')),
    grant_id: Type.Optional(Type.String({ format: 'uuid', description: 'The sharing grant a tool token is bound to' })),
  },
  { $id: 'Introspection', title: 'Introspection', description: 'Token introspection response (RFC 7662)' },
);
