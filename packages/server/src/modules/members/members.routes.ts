import { Type } from '@sinclair/typebox';
import type { App } from '../../app.js';
import { callerOf } from '../../http/auth-plugin.js';
import { noContent } from '../../http/no-content.js';
import { sendRawJson } from '../../http/raw-json.js';
import { bearer, errorResponses, Page, PageQuery } from '../../http/schemas.js';
import { OrgParams } from '../organizations/organizations.schemas.js';
import { ChangeRoleBody, Member, MemberParams } from './members.schemas.js';
import { changeRole, getMembers, removeMember } from './members.service.js';

export function memberRoutes(app: App) {
  const { db } = app;
  const onRequest = app.services.authenticate(['user']);
  const common = { security: bearer, tags: ['Members'] };

  app.get(
    '/v1/organizations/:org_id/members',
    {
      onRequest,
      schema: {
        ...common,
        summary: 'List members',
        params: OrgParams,
        querystring: Type.Object(PageQuery),
        response: { 200: Page(Member), ...errorResponses(400, 401, 403, 404) },
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
        summary: "Change a member's role",
        params: MemberParams,
        body: ChangeRoleBody,
        response: { 200: Member, ...errorResponses(400, 401, 403, 404, 409) },
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
        summary: 'Remove a member, or leave (your own user id)',
        params: MemberParams,
        response: { 204: Type.Null(), ...errorResponses(401, 403, 404, 409) },
      },
    },
    async (request, reply) => noContent(reply, removeMember(db, callerOf(request), request.params.org_id, request.params.user_id)),
  );
}
