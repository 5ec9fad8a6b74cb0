import type { App } from '../../app.js';
import { ref } from '../../http/schemas.js';
import type { ClientAuthDeps } from './client-auth.js';
import { type IntrospectionDeps, introspectAsTool } from './introspection.js';
import { Introspection, IntrospectionRequest } from './introspection.schemas.js';
import { oauthEndpoint, oauthErrors } from './oauth.schemas.js';

/**
 * POST /oauth/introspect; registered inside the scope that parses form bodies (oauthRoutes).
 * The caller authenticates as a tool exactly as at the token endpoint (client-auth.ts).
 */
export function introspectionRoute(app: App, deps: IntrospectionDeps, clientAuth: ClientAuthDeps) {
  app.post(
    '/oauth/introspect',
    oauthEndpoint(
      {
        operationId: 'introspectToken',
        summary: 'Introspect an API key or access token (RFC 7662), as a tool',
        description:
          "The caller authenticates as a tool (client_secret_basic, client_secret_post or private_key_jwt). Answers `active: true` only for a live token meant for the caller: an access token whose `aud` is the caller's audience, or an API key for the caller (or for no tool, in an organization where the caller is enabled). Revocation shows at once. Anything else is `{active: false}`.",
      },
      IntrospectionRequest,
      { 200: ref(Introspection, 'What the token is, or active: false'), ...oauthErrors(400, 401, 413, 415, 429, 503) },
    ),
    async (request, reply) => {
      const answer = await introspectAsTool(
        deps,
        clientAuth,
        { ...request.body, authorization: request.headers.authorization, ip: request.ip },
        request.body.token,
      );
      reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
      return answer;
    },
  );
}
