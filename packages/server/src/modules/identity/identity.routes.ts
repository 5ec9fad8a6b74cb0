import type { TSchema } from '@sinclair/typebox';
import type { App } from '../../app.js';
import { principalOf } from '../../http/auth-plugin.js';
import { AUTH_ERRORS, BODY_ERRORS, bearer, DB_ERRORS, problems, ref } from '../../http/schemas.js';
import { userOf } from '../access/principal.js';
import { acceptOnSignup } from '../invitations/invitations.service.js';
import { TokenResponse } from '../oauth/oauth.schemas.js';
import type { AuthDeps } from '../oauth/oauth.service.js';
import { LoginBody, Me, PatchMeBody, SignupBody, SignupResponse } from './identity.schemas.js';
import { getMe, login, signup, signupLimits, updateMe } from './identity.service.js';
import { lifecycleRoutes } from './lifecycle.routes.js';
import { verifiedByInvitation } from './lifecycle.service.js';

/** The options of a route that takes an email and a password instead of a token. */
const credentialsEndpoint = <B extends TSchema, R extends Record<number, TSchema>>(
  doc: { operationId: string; summary: string; description: string },
  body: B,
  response: R,
) => ({
  schema: { tags: ['Authentication'], security: [], ...doc, body, response },
});

export function identityRoutes(app: App, deps: AuthDeps) {
  const { limits, credentialLimits } = app.services;
  const auth = app.services.authenticate(['user']);

  app.post(
    '/v1/auth/signup',
    credentialsEndpoint(
      {
        operationId: 'signup',
        summary: 'Create an account',
        description:
          'Creates the account and signs it in. With `invitation_token` it joins the inviting organization in the same step (the email must be the invited one) and the tokens are scoped to it. Rate limited per IP and per email.',
      },
      SignupBody,
      {
        201: ref(SignupResponse, 'The account, signed in'),
        ...problems(BODY_ERRORS, 'EMAIL_TAKEN', 'INVITATION_INVALID', 'ORGANIZATION_SUSPENDED', 'RATE_LIMITED', DB_ERRORS),
      },
    ),
    async (request, reply) => {
      await limits.check(signupLimits(app.config, request.ip, request.body.email));
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
    credentialsEndpoint(
      {
        operationId: 'login',
        summary: 'Sign in with email and password',
        description:
          'Answers an access token and a refresh token; with `organization_id` the access token is scoped to that organization. Rate limited per IP and per email.',
      },
      LoginBody,
      {
        200: ref(TokenResponse, 'Signed in'),
        ...problems(BODY_ERRORS, 'INVALID_CREDENTIALS', 'ORGANIZATION_SUSPENDED', 'NOT_FOUND', 'RATE_LIMITED', DB_ERRORS),
      },
    ),
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
        operationId: 'getMe',
        summary: 'The signed-in user and their memberships',
        description: 'The caller’s account, platform role and every organization they belong to, with their role in each.',
        security: bearer,
        response: { 200: ref(Me, 'The signed-in user'), ...problems(AUTH_ERRORS, DB_ERRORS) },
      },
    },
    async (request) => getMe(deps, userOf(principalOf(request))),
  );

  app.patch(
    '/v1/me',
    {
      onRequest: auth,
      schema: {
        tags: ['Users'],
        operationId: 'updateMe',
        summary: 'Change name or password (a password change ends all other sessions), or start an email change',
        description:
          'Renames the caller, changes their password or starts an email change. A new password or email needs `current_password` (limited as login is). A new password ends every other session of the user; a new email receives a link, and the account switches to it once the link is used (`POST /v1/auth/verify-email`).',
        security: bearer,
        body: PatchMeBody,
        response: {
          200: ref(Me, 'The updated user'),
          ...problems(BODY_ERRORS, AUTH_ERRORS, 'INVALID_CREDENTIALS', 'EMAIL_TAKEN', 'RATE_LIMITED', DB_ERRORS),
        },
      },
    },
    async (request) => updateMe(deps, credentialLimits, userOf(principalOf(request)), request.ip, request.body),
  );

  lifecycleRoutes(app, deps);
}
