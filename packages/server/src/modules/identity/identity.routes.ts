import type { TSchema } from '@sinclair/typebox';
import type { App } from '../../app.js';
import { principalOf } from '../../http/auth-plugin.js';
import { bearer, errorResponses } from '../../http/schemas.js';
import { acceptOnSignup } from '../invitations/invitations.service.js';
import { TokenResponse } from '../oauth/oauth.schemas.js';
import type { AuthDeps } from '../oauth/oauth.service.js';
import { LoginBody, Me, PatchMeBody, SignupBody, SignupResponse } from './identity.schemas.js';
import { getMe, login, signup, updateMe } from './identity.service.js';
import { currentPasswordRateKey, lifecycleRoutes } from './lifecycle.routes.js';
import { requestEmailChange, verifiedByInvitation } from './lifecycle.service.js';
import { canonicalEmail } from './users.js';

/** The options of a route that takes an email and a password instead of a token. */
const credentialsEndpoint = <B extends TSchema, R extends Record<number, TSchema>>(summary: string, body: B, response: R) => ({
  schema: { tags: ['Authentication'], summary, body, response },
});

export function identityRoutes(app: App, deps: AuthDeps) {
  const { limiter } = app.services;
  const auth = app.services.authenticate(['user']);

  app.post(
    '/v1/auth/signup',
    credentialsEndpoint('Create an account', SignupBody, { 201: SignupResponse, ...errorResponses(400, 409, 413, 415, 429) }),
    async (request, reply) => {
      await limiter.check([`signup:ip:${request.ip}`, `signup:email:${canonicalEmail(request.body.email)}`]);
      const { invitation_token: invitation, ...input } = request.body;
      const meta = { ip: request.ip, requestId: request.id };
      const { tokens, user } = await signup(deps, input, invitation ? verifiedByInvitation(acceptOnSignup(invitation, meta)) : undefined);
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
      await limiter.check([`login:ip:${request.ip}`, `login:email:${canonicalEmail(request.body.email)}`]);
      reply.header('cache-control', 'no-store');
      return login(deps, request.body);
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
        summary: 'Change name or password (a password change ends all other sessions), or start an email change',
        security: bearer,
        body: PatchMeBody,
        response: { 200: Me, ...errorResponses(400, 401) },
      },
    },
    async (request) => {
      const p = principalOf(request);
      const { email, ...rest } = request.body;
      if (request.body.current_password !== undefined) await limiter.check([currentPasswordRateKey(p)]);
      // The address changes only once the new one is verified (POST /v1/auth/verify-email).
      if (email !== undefined) await requestEmailChange(deps, p, email, request.body.current_password);
      return updateMe(deps, p, rest);
    },
  );

  lifecycleRoutes(app, deps);
}
