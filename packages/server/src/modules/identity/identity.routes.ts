import type { TSchema } from '@sinclair/typebox';
import type { App } from '../../app.js';
import { principalOf } from '../../http/auth-plugin.js';
import { bearer, errorResponses } from '../../http/schemas.js';
import { acceptOnSignup } from '../invitations/invitations.service.js';
import { TokenResponse } from '../oauth/oauth.schemas.js';
import type { AuthDeps } from '../oauth/oauth.service.js';
import { LoginBody, Me, PatchMeBody, SignupBody, SignupResponse } from './identity.schemas.js';
import { getMe, login, signup, signupLimits, updateMe } from './identity.service.js';

/** The options of a route that takes an email and a password instead of a token. */
const credentialsEndpoint = <B extends TSchema, R extends Record<number, TSchema>>(summary: string, body: B, response: R) => ({
  schema: { tags: ['Authentication'], summary, body, response },
});

export function identityRoutes(app: App, deps: AuthDeps) {
  const { limits, credentialLimits } = app.services;
  const auth = app.services.authenticate(['user']);

  app.post(
    '/v1/auth/signup',
    credentialsEndpoint('Create an account', SignupBody, { 201: SignupResponse, ...errorResponses(400, 409, 413, 415, 429) }),
    async (request, reply) => {
      await limits.check(signupLimits(app.config, request.ip, request.body.email));
      const { invitation_token: invitation, ...input } = request.body;
      const meta = { ip: request.ip, requestId: request.id };
      const { tokens, user } = await signup(deps, input, invitation ? acceptOnSignup(invitation, meta) : undefined);
      return reply
        .status(201)
        .header('cache-control', 'no-store')
        .send({ ...tokens, user });
    },
  );

  app.post(
    '/v1/auth/login',
    credentialsEndpoint('Sign in with email and password', LoginBody, { 200: TokenResponse, ...errorResponses(400, 401, 403, 404, 429) }),
    async (request, reply) => {
      reply.header('cache-control', 'no-store');
      return login(deps, credentialLimits, request.ip, request.body);
    },
  );

  app.get(
    '/v1/me',
    {
      onRequest: auth,
      schema: {
        tags: ['Users'],
        summary: 'The signed-in user and their memberships',
        security: bearer,
        response: { 200: Me, ...errorResponses(401) },
      },
    },
    async (request) => getMe(deps, principalOf(request)),
  );

  app.patch(
    '/v1/me',
    {
      onRequest: auth,
      schema: {
        tags: ['Users'],
        summary: 'Change name or password (a password change ends all other sessions)',
        security: bearer,
        body: PatchMeBody,
        response: { 200: Me, ...errorResponses(400, 401, 429) },
      },
    },
    async (request) => updateMe(deps, credentialLimits, principalOf(request), request.ip, request.body),
  );
}
