import type { FastifyReply } from 'fastify';
import type { App } from '../../app.js';
import { callerOf, principalOf } from '../../http/auth-plugin.js';
import { noContent } from '../../http/no-content.js';
import { AUTH_ERRORS, BODY_ERRORS, bearer, DB_ERRORS, NoContent, problems, ref } from '../../http/schemas.js';
import { rateKeyOf, userOf } from '../access/principal.js';
import {
  Accepted,
  DeleteMeBody,
  EmailVerified,
  PasswordResetBody,
  PasswordResetRequestBody,
  VerifyEmailBody,
} from './lifecycle.schemas.js';
import {
  deleteAccount,
  type LifecycleDeps,
  passwordResetRequestLimits,
  requestEmailVerification,
  requestPasswordReset,
  resetPassword,
  verifyEmail,
} from './lifecycle.service.js';

/** 202 with no body at all: the same bytes whatever was (or was not) done. */
const accepted = (reply: FastifyReply) => reply.status(202).header('cache-control', 'no-store').send();

export function lifecycleRoutes(app: App, deps: LifecycleDeps) {
  const { limits, credentialLimits } = app.services;
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
        description:
          'Emails a verification link (valid 24 hours, usable once) to the caller’s address; nothing is sent when it is verified already. Rate limited per user.',
        security: bearer,
        response: { 202: Accepted('Accepted; the response has no body'), ...problems(AUTH_ERRORS, 'RATE_LIMITED', DB_ERRORS) },
      },
    },
    async (request, reply) => {
      const p = userOf(principalOf(request));
      await limits.check([{ key: `verify-email-request:${rateKeyOf(p)}`, ...app.config.rateLimit }]);
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
        description:
          'Uses a verification or email-change token once. A verification token marks the account’s address verified; an email-change token switches the account to the new address (409 `EMAIL_TAKEN` if another account took it meanwhile) and tells the old one. Rate limited per address.',
        security: [],
        body: VerifyEmailBody,
        response: {
          200: ref(EmailVerified, 'The address, verified'),
          ...problems(BODY_ERRORS, 'TOKEN_INVALID', 'EMAIL_TAKEN', 'RATE_LIMITED', DB_ERRORS),
        },
      },
    },
    async (request) => {
      await credentialLimits.attempt('verify_email', request.ip);
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
        description:
          'Emails a reset link (valid 1 hour, usable once) if an account has this address. The answer is the same for known and unknown addresses. Rate limited per IP, then per email.',
        security: [],
        body: PasswordResetRequestBody,
        response: { 202: Accepted('Accepted; the response has no body'), ...problems(BODY_ERRORS, 'RATE_LIMITED', DB_ERRORS) },
      },
    },
    async (request, reply) => {
      await limits.check(passwordResetRequestLimits(app.config, request.ip, request.body.email));
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
        description:
          'Uses a reset token once: sets the new password, ends every session and every other reset link of the account, and counts its address as verified. Rate limited per address.',
        security: [],
        body: PasswordResetBody,
        response: { 204: NoContent('Password set'), ...problems(BODY_ERRORS, 'TOKEN_INVALID', 'RATE_LIMITED', DB_ERRORS) },
      },
    },
    async (request, reply) => {
      await credentialLimits.attempt('password_reset', request.ip);
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
        description:
          'Needs `current_password` (limited as login is). Leaves every organization, refused with 409 `LAST_OWNER` while the caller is the last owner of one that is not archived, then deletes the user with their sessions.',
        security: bearer,
        body: DeleteMeBody,
        response: {
          204: NoContent('Account deleted'),
          ...problems(BODY_ERRORS, AUTH_ERRORS, 'INVALID_CREDENTIALS', 'LAST_OWNER', 'RATE_LIMITED', DB_ERRORS),
        },
      },
    },
    async (request, reply) => {
      const caller = callerOf(request);
      return noContent(reply, deleteAccount(deps, credentialLimits, caller, request.ip, request.body.current_password));
    },
  );
}
