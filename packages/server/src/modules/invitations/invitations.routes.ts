import { Type } from '@sinclair/typebox';
import type { App } from '../../app.js';
import { callerOf } from '../../http/auth-plugin.js';
import { noContent } from '../../http/no-content.js';
import { bearer, errorResponses, Page } from '../../http/schemas.js';
import { rateKeyOf } from '../access/principal.js';
import { requireVerifiedEmail } from '../identity/lifecycle.service.js';
import { OrgParams } from '../organizations/organizations.schemas.js';
import {
  AcceptedInvitation,
  AcceptInvitationBody,
  CreatedInvitation,
  CreateInvitationBody,
  Invitation,
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
        summary: 'Invite someone by email (admin+, role not above your own); token and accept_url are shown only here',
        params: OrgParams,
        body: CreateInvitationBody,
        response: { 201: CreatedInvitation, ...errorResponses(400, 401, 403, 404, 409) },
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
        summary: 'List invitations (admin+)',
        params: OrgParams,
        querystring: ListInvitationsQuery,
        response: { 200: Page(Invitation), ...errorResponses(400, 401, 403, 404) },
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
        summary: 'Revoke a pending invitation (admin+)',
        params: InvitationParams,
        response: { 204: Type.Null(), ...errorResponses(401, 403, 404, 409) },
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
        summary: 'Accept an invitation addressed to your email',
        body: AcceptInvitationBody,
        response: { 200: AcceptedInvitation, ...errorResponses(400, 401, 403, 409, 429) },
      },
    },
    async (request) => {
      const caller = callerOf(request);
      await app.services.limiter.check([`accept:ip:${request.ip}`, `accept:${rateKeyOf(caller.principal)}`]);
      await requireVerifiedEmail(app, caller.principal);
      return acceptInvitation(deps, caller, request.body.token);
    },
  );
}
