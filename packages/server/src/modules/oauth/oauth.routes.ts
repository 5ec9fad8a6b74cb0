import formBody from '@fastify/formbody';
import { Type } from '@sinclair/typebox';
import type { App } from '../../app.js';
import { OAuthError } from '../../http/errors.js';
import { ref } from '../../http/schemas.js';
import type { Grant } from './grants/grant.js';
import { refreshTokenGrant } from './grants/refresh-token.js';
import {
  AuthorizationServerMetadata,
  Jwks,
  oauthEndpoint,
  oauthErrors,
  RevokeRequest,
  TokenRequest,
  TokenResponse,
  OAUTH_TAGS as tags,
} from './oauth.schemas.js';
import { type AuthDeps, revoke } from './oauth.service.js';

/** The token endpoint's grants by grant_type; client_credentials and token exchange join here. */
const GRANTS: ReadonlyMap<string, Grant> = new Map([['refresh_token', refreshTokenGrant]]);

export async function oauthRoutes(app: App, deps: AuthDeps) {
  const { config } = deps;

  const jwksSchema = {
    tags,
    security: [],
    operationId: 'getJwks',
    summary: 'Public keys that verify access tokens',
    description: 'The JWK Set of the Ed25519 keys that sign access tokens, including retired keys still within a token lifetime.',
    response: { 200: ref(Jwks, 'The public keys') },
  };
  app.get('/.well-known/jwks.json', { schema: jwksSchema }, async (_req, reply) => {
    reply.header('cache-control', 'public, max-age=300');
    return app.services.keys.jwks();
  });

  app.get(
    '/.well-known/oauth-authorization-server',
    {
      schema: {
        tags,
        security: [],
        operationId: 'getAuthorizationServerMetadata',
        summary: 'Authorization server metadata (RFC 8414)',
        description: 'The issuer, endpoints, grant types and algorithms of this authorization server.',
        response: { 200: ref(AuthorizationServerMetadata, 'The metadata') },
      },
    },
    async () => ({
      issuer: config.tokenIssuer,
      token_endpoint: `${config.publicUrl}/oauth/token`,
      revocation_endpoint: `${config.publicUrl}/oauth/revoke`,
      introspection_endpoint: `${config.publicUrl}/oauth/introspect`,
      jwks_uri: `${config.publicUrl}/.well-known/jwks.json`,
      grant_types_supported: [...GRANTS.keys()],
      response_types_supported: [],
      token_endpoint_auth_methods_supported: ['none'],
      revocation_endpoint_auth_methods_supported: ['none'],
      // Only tools introspect, authenticated as at the token endpoint (tools' client authentication).
      introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'private_key_jwt'],
      introspection_endpoint_auth_signing_alg_values_supported: ['EdDSA', 'ES256', 'RS256'],
      token_endpoint_auth_signing_alg_values_supported: ['EdDSA'],
      id_token_signing_alg_values_supported: [],
      access_token_signing_alg_values_supported: ['EdDSA'],
    }),
  );

  // Form bodies (RFC 6749) as well as JSON, on these routes only.
  await app.register(async (scope) => {
    await scope.register(formBody, { bodyLimit: 64 * 1024 });
    const s = scope as App;

    s.post(
      '/oauth/token',
      oauthEndpoint(
        {
          operationId: 'refreshToken',
          summary: 'Refresh (and optionally switch organization); rotates the refresh token',
          description:
            'grant_type=refresh_token. Answers a new access token and a new refresh token that replaces the one sent (which stops working); `organization_id` scopes the new access token to that organization. Rate limited per IP.',
        },
        TokenRequest,
        { 200: ref(TokenResponse, 'New tokens'), ...oauthErrors(400, 413, 415, 429, 503) },
      ),
      async (request, reply) => {
        const b = request.body;
        reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
        const grant = GRANTS.get(b.grant_type);
        if (!grant) throw new OAuthError('unsupported_grant_type', 'Only grant_type=refresh_token is supported');
        return grant(deps, b, { ip: request.ip, requestId: request.id });
      },
    );

    s.post(
      '/oauth/revoke',
      oauthEndpoint(
        {
          operationId: 'revokeToken',
          summary: 'End the session of a refresh or access token (RFC 7009)',
          description: 'Ends the session the token belongs to. An unknown or already revoked token is answered 200 too (RFC 7009).',
        },
        RevokeRequest,
        { 200: Type.Object({}, { description: 'Revoked' }), ...oauthErrors(400, 413, 415, 503) },
      ),
      async (request) => {
        await revoke(deps, request.body.token);
        return {};
      },
    );
  });
}
