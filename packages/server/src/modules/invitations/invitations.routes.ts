import { Type } from '@sinclair/typebox';
import type { App } from '../../app.js';
import { callerOf } from '../../http/auth-plugin.js';
import { bearer, closed, errorResponses, Page, PageQuery, Timestamp, Uuid } from '../../http/schemas.js';
import { rateKeyOf } from '../access/principal.js';
import { ROLES } from '../access/roles.js';
import { acceptInvitation, createInvitation, getInvitations, type InvitationDeps, revokeInvitation } from './invitations.service.js';

const RoleName = Type.Unsafe<(typeof ROLES)[number]>({ type: 'string', enum: [...ROLES] });
const Status = Type.Unsafe<'pending' | 'accepted' | 'revoked' | 'expired'>({
  type: 'string',
  enum: ['pending', 'accepted', 'revoked', 'expired'],
});
const Invitation = Type.Object(
  {
    id: Uuid,
    email: Type.String(),
    role: RoleName,
    status: Status,
    invited_by: Type.Union([Uuid, Type.Null()]),
    expires_at: Timestamp,
    created_at: Timestamp,
  },
  { title: 'Invitation' },
);
const CreatedInvitation = Type.Composite([Invitation, Type.Object({ token: Type.String(), accept_url: Type.String() })]);
const OrgParams = Type.Object({ org_id: Uuid });

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
        body: closed({ email: Type.String({ minLength: 3, maxLength: 320 }), role: RoleName }),
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
        querystring: Type.Object({ ...PageQuery, status: Type.Optional(Status) }),
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
        params: Type.Object({ org_id: Uuid, invitation_id: Uuid }),
        response: { 204: Type.Null(), ...errorResponses(401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      await revokeInvitation(deps, callerOf(request), request.params.org_id, request.params.invitation_id);
      return reply.status(204).send(null);
    },
  );

  app.post(
    '/v1/invitations/accept',
    {
      onRequest,
      schema: {
        tags,
        security,
        summary: 'Accept an invitation addressed to your email',
        body: closed({ token: Type.String({ minLength: 1, maxLength: 200 }) }),
        response: { 200: Type.Object({ organization_id: Uuid, role: RoleName }), ...errorResponses(400, 401, 403, 409, 429) },
      },
    },
    async (request) => {
      const caller = callerOf(request);
      await app.services.limiter.check([`accept:ip:${request.ip}`, `accept:${rateKeyOf(caller.principal)}`]);
      return acceptInvitation(deps, caller, request.body.token);
    },
  );
}
