import type { FastifyReply } from 'fastify';
import type { App } from '../../app.js';
import { callerOf, principalOf } from '../../http/auth-plugin.js';
import { noContent } from '../../http/no-content.js';
import { bearer, errorResponses } from '../../http/schemas.js';
import { type Principal, rateKeyOf } from '../access/principal.js';
import {
  Accepted,
  DeleteMeBody,
  EmailVerified,
  NoContent,
  PasswordResetBody,
  PasswordResetRequestBody,
  VerifyEmailBody,
} from './lifecycle.schemas.js';
import {
  deleteAccount,
  emailRateKey,
  type LifecycleDeps,
  requestEmailVerification,
  requestPasswordReset,
  resetPassword,
  verifyEmail,
} from './lifecycle.service.js';

/** 202 with no body at all: the same bytes whatever was (or was not) done. */
const accepted = (reply: FastifyReply) => reply.status(202).header('cache-control', 'no-store').send();

/** The limit on checks of a signed-in user's current password, shared by every route that takes one. */
export const currentPasswordRateKey = (p: Principal) => `current-password:${rateKeyOf(p)}`;

export function lifecycleRoutes(app: App, deps: LifecycleDeps) {
  const { limiter } = app.services;
  const auth = app.services.authenticate(['user']);
  const tags = ['Account lifecycle'];

  app.post(
    '/v1/auth/verify-email/request',
    {
      onRequest: auth,
      schema: {
        tags,
        operationId: 'requestEmailVerification',
        summary: 'Email the signed-in user a link that verifies their address',
        security: bearer,
        response: { 202: Accepted, ...errorResponses(401, 429) },
      },
    },
    async (request, reply) => {
      const p = principalOf(request);
      await limiter.check([`verify-email-request:${rateKeyOf(p)}`]);
      await requestEmailVerification(deps, p);
      return accepted(reply);
    },
  );

  app.post(
    '/v1/auth/verify-email',
    {
      schema: {
        tags,
        operationId: 'verifyEmail',
        summary: 'Verify an address with its emailed token (also completes an email change)',
        body: VerifyEmailBody,
        response: { 200: EmailVerified, ...errorResponses(400, 409, 413, 415, 429) },
      },
    },
    async (request) => {
      await limiter.check([`verify-email:ip:${request.ip}`]);
      return verifyEmail(deps, request.body.token);
    },
  );

  app.post(
    '/v1/auth/password-reset/request',
    {
      schema: {
        tags,
        operationId: 'requestPasswordReset',
        summary: 'Email a password reset link; 202 whether or not an account has this address',
        body: PasswordResetRequestBody,
        response: { 202: Accepted, ...errorResponses(400, 413, 415, 429) },
      },
    },
    async (request, reply) => {
      await limiter.check([`password-reset-request:ip:${request.ip}`, `password-reset-request:${emailRateKey(request.body.email)}`]);
      await requestPasswordReset(deps, request.body.email);
      return accepted(reply);
    },
  );

  app.post(
    '/v1/auth/password-reset',
    {
      schema: {
        tags,
        operationId: 'resetPassword',
        summary: 'Set a new password with an emailed reset token; ends every session of the account',
        body: PasswordResetBody,
        response: { 204: NoContent, ...errorResponses(400, 413, 415, 429) },
      },
    },
    async (request, reply) => {
      await limiter.check([`password-reset:ip:${request.ip}`]);
      return noContent(reply, resetPassword(deps, request.body.token, request.body.password));
    },
  );

  app.delete(
    '/v1/me',
    {
      onRequest: auth,
      schema: {
        tags: ['Users'],
        operationId: 'deleteMe',
        summary: 'Delete the account: leaves every organization and ends every session',
        security: bearer,
        body: DeleteMeBody,
        response: { 204: NoContent, ...errorResponses(400, 401, 409, 413, 415, 429) },
      },
    },
    async (request, reply) => {
      const caller = callerOf(request);
      await limiter.check([currentPasswordRateKey(caller.principal)]);
      return noContent(reply, deleteAccount(deps, caller, request.body.current_password));
    },
  );
}
