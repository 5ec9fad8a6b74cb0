import { Type } from '@sinclair/typebox';
import type { App } from '../../app.js';
import { callerOf } from '../../http/auth-plugin.js';
import { noContent } from '../../http/no-content.js';
import { sendRawJson } from '../../http/raw-json.js';
import { AUTH_ERRORS, BODY_ERRORS, bearer, DB_ERRORS, NoContent, PageQuery, problems, ref } from '../../http/schemas.js';
import { OrgParams } from '../organizations/organizations.schemas.js';
import { ChangeRoleBody, Member, MemberPage, MemberParams } from './members.schemas.js';
import { changeRole, getMembers, removeMember } from './members.service.js';

export function memberRoutes(app: App) {
  const { db } = app;
  const onRequest = app.services.authenticate(['user']);
  const common = { security: bearer, tags: ['Members'] };

  app.get(
    '/v1/organizations/:org_id/members',
    {
      onRequest: app.services.authenticate(['user', 'tool', 'api_key']),
      schema: {
        ...common,
        operationId: 'listMembers',
        summary: 'List members',
        description: 'Every member with their role. Any member, and platform admins; a tool enabled here with `members:read`.',
        params: OrgParams,
        querystring: Type.Object(PageQuery),
        response: { 200: ref(MemberPage, 'A page of members'), ...problems('VALIDATION_FAILED', AUTH_ERRORS, 'NOT_FOUND', DB_ERRORS) },
      },
    },
    async (request, reply) => sendRawJson(reply, await getMembers(db, callerOf(request), request.params.org_id, request.query)),
  );

  app.patch(
    '/v1/organizations/:org_id/members/:user_id',
    {
      onRequest,
      schema: {
        ...common,
        operationId: 'changeMemberRole',
        summary: "Change a member's role",
        description: 'Admin+. Nobody grants a role above their own; only owners change owners; the last owner stays an owner.',
        params: MemberParams,
        body: ChangeRoleBody,
        response: {
          200: ref(Member, 'The member with the new role'),
          ...problems(BODY_ERRORS, AUTH_ERRORS, 'ORGANIZATION_SUSPENDED', 'NOT_FOUND', 'LAST_OWNER', DB_ERRORS),
        },
      },
    },
    async (request, reply) =>
      sendRawJson(reply, await changeRole(db, callerOf(request), request.params.org_id, request.params.user_id, request.body.role)),
  );

  app.delete(
    '/v1/organizations/:org_id/members/:user_id',
    {
      onRequest,
      schema: {
        ...common,
        operationId: 'removeMember',
        summary: 'Remove a member, or leave (your own user id)',
        description: 'Admin+ removes members up to their own role; anyone may leave. The last owner cannot be removed or leave.',
        params: MemberParams,
        response: {
          204: NoContent('Removed'),
          ...problems('VALIDATION_FAILED', AUTH_ERRORS, 'ORGANIZATION_SUSPENDED', 'NOT_FOUND', 'LAST_OWNER', DB_ERRORS),
        },
      },
    },
    async (request, reply) => noContent(reply, removeMember(db, callerOf(request), request.params.org_id, request.params.user_id)),
  );
}
