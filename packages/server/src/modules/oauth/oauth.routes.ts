import formBody from '@fastify/formbody';
import { Type } from '@sinclair/typebox';
import type { App } from '../../app.js';
import { isUuid } from '../../db/ids.js';
import { OAuthError } from '../../http/errors.js';
import { OAuthErrorBody, RevokeRequest, TokenRequest, TokenResponse } from '../identity/identity.schemas.js';
import { type AuthDeps, refresh, revoke } from '../identity/identity.service.js';

export async function oauthRoutes(app: App, deps: AuthDeps) {
  const { config } = deps;
  const tags = ['OAuth 2.0'];

  app.get('/.well-known/jwks.json', { schema: { tags, summary: 'Public keys that verify access tokens' } }, async (_req, reply) => {
    reply.header('cache-control', 'public, max-age=300');
    return app.services.keys.jwks();
  });

  app.get(
    '/.well-known/oauth-authorization-server',
    { schema: { tags, summary: 'Authorization server metadata (RFC 8414)' } },
    async () => ({
      issuer: config.tokenIssuer,
      token_endpoint: `${config.publicUrl}/oauth/token`,
      revocation_endpoint: `${config.publicUrl}/oauth/revoke`,
      jwks_uri: `${config.publicUrl}/.well-known/jwks.json`,
      grant_types_supported: ['refresh_token'],
      response_types_supported: [],
      token_endpoint_auth_methods_supported: ['none'],
      revocation_endpoint_auth_methods_supported: ['none'],
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
      {
        config: { oauth: true },
        schema: {
          tags,
          summary: 'Refresh (and optionally switch organization); rotates the refresh token',
          consumes: ['application/x-www-form-urlencoded', 'application/json'],
          body: TokenRequest,
          response: { 200: TokenResponse, 400: OAuthErrorBody, 429: OAuthErrorBody },
        },
      },
      async (request, reply) => {
        const b = request.body;
        reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
        await app.services.limiter.check([`refresh:ip:${request.ip}`]);
        if (b.grant_type !== 'refresh_token') throw new OAuthError('unsupported_grant_type', 'Only grant_type=refresh_token is supported');
        if (!b.refresh_token) throw new OAuthError('invalid_request', 'refresh_token is required');
        if (b.organization_id !== undefined && !isUuid(b.organization_id))
          throw new OAuthError('invalid_request', 'organization_id must be a UUID');
        return refresh(
          deps,
          { refreshToken: b.refresh_token, organizationId: b.organization_id, clientId: b.client_id },
          { ip: request.ip, requestId: request.id },
        );
      },
    );

    s.post(
      '/oauth/revoke',
      {
        config: { oauth: true },
        schema: {
          tags,
          summary: 'End the session of a refresh or access token (RFC 7009)',
          consumes: ['application/x-www-form-urlencoded', 'application/json'],
          body: RevokeRequest,
          response: { 200: Type.Object({}), 400: OAuthErrorBody },
        },
      },
      async (request) => {
        await revoke(deps, request.body.token);
        return {};
      },
    );
  });
}
