import { type TSchema, Type } from '@sinclair/typebox';
import { ref, Uuid } from '../../http/schemas.js';

export const TokenResponse = Type.Object(
  {
    access_token: Type.String({ description: 'An RFC 9068 JWT' }),
    token_type: Type.Literal('Bearer'),
    expires_in: Type.Integer({ description: 'Seconds until the access token expires' }),
    refresh_token: Type.Optional(
      Type.String({ description: 'Single use: each refresh returns a new one that replaces it. None for client_credentials' }),
    ),
    scope: Type.Optional(Type.String({ description: 'The scopes granted (client_credentials, token exchange), space-separated' })),
    issued_token_type: Type.Optional(
      Type.String({ description: 'Token exchange (RFC 8693): urn:ietf:params:oauth:token-type:access_token' }),
    ),
    organization_id: Type.Union([Uuid, Type.Null()], { description: 'The organization the access token is scoped to' }),
  },
  { $id: 'TokenResponse', title: 'TokenResponse' },
);

// /oauth/* follow RFC 6749: standard parameters are accepted and unknown ones ignored.
export const TokenRequest = Type.Object({
  grant_type: Type.String({ maxLength: 100 }),
  refresh_token: Type.Optional(Type.String({ maxLength: 1000 })),
  organization_id: Type.Optional(Type.String({ maxLength: 100 })),
  client_id: Type.Optional(Type.String({ maxLength: 200 })),
  scope: Type.Optional(Type.String({ maxLength: 1000 })),
  /** RFC 8707: the audience the token is for (a tool's); Tenantry's API when absent. */
  resource: Type.Optional(Type.String({ maxLength: 500 })),
  client_secret: Type.Optional(Type.String({ maxLength: 500 })),
  client_assertion_type: Type.Optional(Type.String({ maxLength: 200 })),
  client_assertion: Type.Optional(Type.String({ maxLength: 8192 })),
  // RFC 8693 token exchange (delegation).
  subject_token: Type.Optional(Type.String({ maxLength: 8192 })),
  subject_token_type: Type.Optional(Type.String({ maxLength: 200 })),
  requested_token_type: Type.Optional(Type.String({ maxLength: 200 })),
  actor_token: Type.Optional(Type.String({ maxLength: 8192 })),
  actor_token_type: Type.Optional(Type.String({ maxLength: 200 })),
});

export const RevokeRequest = Type.Object({
  token: Type.String({ maxLength: 8192 }),
  token_type_hint: Type.Optional(Type.String({ maxLength: 100 })),
  client_id: Type.Optional(Type.String({ maxLength: 200 })),
});

const OAUTH_ERRORS = [
  'invalid_request',
  'invalid_grant',
  'unsupported_grant_type',
  'invalid_client',
  'unsupported_token_type',
  'invalid_target',
  'invalid_scope',
  'temporarily_unavailable',
  'server_error',
] as const;

/** RFC 6749 §5.2 error body, used on /oauth/* instead of problem+json. */
export const OAuthErrorBody = Type.Object(
  {
    error: Type.Unsafe<(typeof OAUTH_ERRORS)[number]>({ type: 'string', enum: [...OAUTH_ERRORS] }),
    error_description: Type.Optional(Type.String()),
  },
  { $id: 'OAuthError', title: 'OAuthError', description: 'OAuth 2.0 error response (RFC 6749 §5.2)' },
);

/** A public Ed25519 key (RFC 8037) that verifies access tokens. */
export const Jwk = Type.Object(
  {
    kty: Type.Optional(Type.String({ description: 'OKP' })),
    crv: Type.Optional(Type.String({ description: 'Ed25519' })),
    x: Type.Optional(Type.String({ description: 'The public key, base64url' })),
    kid: Type.Optional(Type.String({ description: 'RFC 7638 thumbprint; the `kid` of the tokens it verifies' })),
    alg: Type.Optional(Type.String({ description: 'EdDSA' })),
    use: Type.Optional(Type.String({ description: 'sig' })),
  },
  // JWK members beyond these are sent as they are.
  { $id: 'JWK', title: 'JWK', additionalProperties: true },
);

export const Jwks = Type.Object({ keys: Type.Array(ref(Jwk)) }, { $id: 'JWKS', title: 'JWKS', description: 'RFC 7517 JWK Set' });

const Strings = Type.Array(Type.String());

/** RFC 8414 authorization server metadata. */
export const AuthorizationServerMetadata = Type.Object(
  {
    issuer: Type.String(),
    token_endpoint: Type.String(),
    revocation_endpoint: Type.String(),
    introspection_endpoint: Type.String(),
    jwks_uri: Type.String(),
    grant_types_supported: Strings,
    response_types_supported: Strings,
    token_endpoint_auth_methods_supported: Strings,
    revocation_endpoint_auth_methods_supported: Strings,
    introspection_endpoint_auth_methods_supported: Strings,
    introspection_endpoint_auth_signing_alg_values_supported: Strings,
    token_endpoint_auth_signing_alg_values_supported: Strings,
    id_token_signing_alg_values_supported: Strings,
    access_token_signing_alg_values_supported: Strings,
  },
  { $id: 'AuthorizationServerMetadata', title: 'AuthorizationServerMetadata' },
);

const OAUTH_STATUS_DESCRIPTIONS: Record<number, string> = {
  400: 'The request or the grant is invalid (invalid_request, invalid_grant, invalid_scope, invalid_target, unsupported_grant_type)',
  401: 'Client authentication failed, or the tool is disabled (invalid_client)',
  413: 'The body is larger than 64 KiB (invalid_request)',
  415: 'The body is neither form-encoded nor JSON (invalid_request)',
  429: 'Too many attempts (invalid_request); retry after Retry-After seconds',
  503: 'A dependency is unavailable (temporarily_unavailable); retry after Retry-After seconds',
};

/** The RFC 6749 error responses of an /oauth/* route, by status. */
export const oauthErrors = (...statuses: number[]): Record<number, TSchema> =>
  Object.fromEntries(
    statuses.map((status) => [
      status,
      {
        ...ref(OAuthErrorBody, OAUTH_STATUS_DESCRIPTIONS[status] ?? 'OAuth error'),
        ...(status === 429 || status === 503
          ? { headers: { 'Retry-After': { type: 'integer', minimum: 1, description: 'Seconds to wait before retrying' } } }
          : {}),
      },
    ]),
  );

export const OAUTH_TAGS = ['OAuth 2.0'];

/** The options of an RFC 6749 endpoint: OAuth error bodies, and form bodies as well as JSON. */
export const oauthEndpoint = <B extends TSchema, R extends Record<number, TSchema>>(
  doc: { operationId: string; summary: string; description: string },
  body: B,
  response: R,
) => ({
  config: { oauth: true },
  schema: {
    tags: OAUTH_TAGS,
    security: [],
    ...doc,
    consumes: ['application/x-www-form-urlencoded', 'application/json'],
    body,
    response,
  },
});
