import type { App } from '../../app.js';
import { callerOf } from '../../http/auth-plugin.js';
import { noContent } from '../../http/no-content.js';
import { addressKey } from '../../http/rate-limit.js';
import { AUTH_ERRORS, BODY_ERRORS, bearer, DB_ERRORS, NoContent, problems, ref } from '../../http/schemas.js';
import { rateKeyOf, userOf } from '../access/principal.js';
import { requireVerifiedEmail } from '../identity/lifecycle.service.js';
import { OrgParams } from '../organizations/organizations.schemas.js';
import {
  AcceptedInvitation,
  AcceptInvitationBody,
  CreatedInvitation,
  CreateInvitationBody,
  InvitationPage,
  InvitationParams,
  ListInvitationsQuery,
} from './invitations.schemas.js';
import { acceptInvitation, createInvitation, getInvitations, type InvitationDeps, revokeInvitation } from './invitations.service.js';

export function invitationRoutes(app: App, deps: InvitationDeps) {
  const onRequest = app.services.authenticate(['user']);
  const tags = ['Invitations'];
  const security = bearer;

  app.post(
    '/v1/organizations/:org_id/invitations',
    {
      onRequest,
      schema: {
        tags,
        security,
        operationId: 'createInvitation',
        summary: 'Invite someone by email (admin+, role not above your own); token and accept_url are shown only here',
        description: 'Creates a pending invitation and emails its link. The token is answered only here; one pending invitation per email.',
        params: OrgParams,
        body: CreateInvitationBody,
        response: {
          201: ref(CreatedInvitation, 'The invitation, with its token'),
          ...problems(BODY_ERRORS, AUTH_ERRORS, 'ORGANIZATION_SUSPENDED', 'NOT_FOUND', 'ALREADY_MEMBER', 'INVITATION_PENDING', DB_ERRORS),
        },
      },
    },
    async (request, reply) => {
      const created = await createInvitation(deps, callerOf(request), request.params.org_id, request.body);
      return reply.status(201).header('cache-control', 'no-store').send(created);
    },
  );

  app.get(
    '/v1/organizations/:org_id/invitations',
    {
      onRequest,
      schema: {
        tags,
        security,
        operationId: 'listInvitations',
        summary: 'List invitations (admin+)',
        description: 'Filter by `status`.',
        params: OrgParams,
        querystring: ListInvitationsQuery,
        response: {
          200: ref(InvitationPage, 'A page of invitations'),
          ...problems('VALIDATION_FAILED', AUTH_ERRORS, 'NOT_FOUND', DB_ERRORS),
        },
      },
    },
    async (request) => getInvitations(deps, callerOf(request), request.params.org_id, request.query),
  );

  app.delete(
    '/v1/organizations/:org_id/invitations/:invitation_id',
    {
      onRequest,
      schema: {
        tags,
        security,
        operationId: 'revokeInvitation',
        summary: 'Revoke a pending invitation (admin+)',
        description: 'Its token stops working at once. Only a pending invitation can be revoked.',
        params: InvitationParams,
        response: {
          204: NoContent('Revoked'),
          ...problems('VALIDATION_FAILED', AUTH_ERRORS, 'ORGANIZATION_SUSPENDED', 'NOT_FOUND', 'INVALID_STATE', DB_ERRORS),
        },
      },
    },
    async (request, reply) =>
      noContent(reply, revokeInvitation(deps, callerOf(request), request.params.org_id, request.params.invitation_id)),
  );

  app.post(
    '/v1/invitations/accept',
    {
      onRequest,
      schema: {
        tags,
        security,
        operationId: 'acceptInvitation',
        summary: 'Accept an invitation addressed to your email',
        description:
          'Joins the organization with the invited role. Signed in with another email: 403 INVITATION_EMAIL_MISMATCH. A token that is unknown, expired, revoked or used: 400 INVITATION_INVALID.',
        body: AcceptInvitationBody,
        response: {
          200: ref(AcceptedInvitation, 'Joined'),
          ...problems(
            BODY_ERRORS,
            AUTH_ERRORS,
            'INVITATION_INVALID',
            'INVITATION_EMAIL_MISMATCH',
            'EMAIL_NOT_VERIFIED',
            'ORGANIZATION_SUSPENDED',
            'ALREADY_MEMBER',
            'RATE_LIMITED',
            DB_ERRORS,
          ),
        },
      },
    },
    async (request) => {
      const caller = callerOf(request);
      await app.services.limiter.check([`accept:ip:${addressKey(request.ip)}`, `accept:${rateKeyOf(caller.principal)}`]);
      await requireVerifiedEmail(app, userOf(caller.principal));
      return acceptInvitation(deps, caller, request.body.token);
    },
  );
}
