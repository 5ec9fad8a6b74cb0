import formBody from '@fastify/formbody';
import { Type } from '@sinclair/typebox';
import type { App } from '../../app.js';
import { OAuthError } from '../../http/errors.js';
import { ref } from '../../http/schemas.js';
import { ASSERTION_ALGS, CLIENT_AUTH_METHODS, type ClientAuthDeps } from './client-auth.js';
import { clientCredentialsGrant } from './grants/client-credentials.js';
import type { Grant, GrantDeps } from './grants/grant.js';
import { refreshTokenGrant } from './grants/refresh-token.js';
import { TOKEN_EXCHANGE_GRANT, tokenExchangeGrant } from './grants/token-exchange.js';
import { introspectionRoute } from './introspection.routes.js';
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

/** The token endpoint's grants by grant_type. */
const GRANTS: ReadonlyMap<string, Grant> = new Map([
  ['refresh_token', refreshTokenGrant],
  ['client_credentials', clientCredentialsGrant],
  [TOKEN_EXCHANGE_GRANT, tokenExchangeGrant],
]);

export async function oauthRoutes(app: App, authDeps: AuthDeps) {
  const { config } = authDeps;
  const tokenEndpoint = `${config.publicUrl}/oauth/token`;
  const clientAuth: ClientAuthDeps = {
    db: authDeps.db,
    credentialLimits: app.services.credentialLimits,
    assertionAudiences: [tokenEndpoint, config.tokenIssuer],
  };
  const deps: GrantDeps = { ...authDeps, clientAuth };

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
      token_endpoint: tokenEndpoint,
      revocation_endpoint: `${config.publicUrl}/oauth/revoke`,
      introspection_endpoint: `${config.publicUrl}/oauth/introspect`,
      jwks_uri: `${config.publicUrl}/.well-known/jwks.json`,
      grant_types_supported: [...GRANTS.keys()],
      response_types_supported: [],
      // `none` is the first-party client's (sessions); tools authenticate with the others.
      token_endpoint_auth_methods_supported: ['none', ...CLIENT_AUTH_METHODS],
      revocation_endpoint_auth_methods_supported: ['none'],
      // Only tools introspect, authenticated as at the token endpoint.
      introspection_endpoint_auth_methods_supported: [...CLIENT_AUTH_METHODS],
      introspection_endpoint_auth_signing_alg_values_supported: [...ASSERTION_ALGS],
      token_endpoint_auth_signing_alg_values_supported: [...ASSERTION_ALGS],
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
          summary: 'Issue tokens: refresh a session, a tool’s client_credentials token, or a token exchange',
          description:
            '`grant_type=refresh_token`: a new access token and a new refresh token that replaces the one sent (which stops working); `organization_id` scopes the new access token to that organization; `resource` = a tool’s audience makes it a token for that tool (RFC 8707). Rate limited per session.\n\n`grant_type=client_credentials` (platform tools): client authentication by `client_secret_basic`, `client_secret_post` or `private_key_jwt` (RFC 7523), `organization_id`, optional `scope` and `resource`. A 600 s token with `principal: tool`, no refresh token. Failed client authentication is rate limited per address.\n\nWith `resource` = another tool’s audience, a client_credentials token under a sharing grant: `aud` = that tool, `grant_id`, scopes ⊆ the grant, ≤ 300 s (`invalid_target` without a covering grant, `invalid_scope` for scopes it does not cover).\n\n`grant_type=urn:ietf:params:oauth:grant-type:token-exchange` (RFC 8693, delegation): a client-authenticated tool sends a user’s access token issued for it as `subject_token` (`subject_token_type` access_token) and `resource` = another tool; the token names the user as `sub` and the tool as `act`, with the grant’s scopes ∩ `scope` that the user’s current role allows.',
        },
        TokenRequest,
        { 200: ref(TokenResponse, 'New tokens'), ...oauthErrors(400, 401, 413, 415, 429, 503) },
      ),
      async (request, reply) => {
        const b = request.body;
        reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
        const grant = GRANTS.get(b.grant_type);
        if (!grant) throw new OAuthError('unsupported_grant_type', `Supported grant types: ${[...GRANTS.keys()].join(', ')}`);
        return grant(deps, b, {
          meta: { ip: request.ip, requestId: request.id },
          ip: request.ip,
          authorization: request.headers.authorization,
        });
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

    introspectionRoute(s, { db: deps.db, tokens: deps.tokens, apiKeys: app.services.apiKeys }, clientAuth);
  });
}
