import { Type } from '@sinclair/typebox';
import type { App } from '../../app.js';
import { callerOf } from '../../http/auth-plugin.js';
import { sendRawJson } from '../../http/raw-json.js';
import { bearer, closed, errorResponses, Page, PageQuery, Timestamp, Uuid } from '../../http/schemas.js';
import { listAuditEvents } from '../audit/audit.service.js';
import { Member, RoleName } from '../members/members.schemas.js';
import { changeRole, getMembers, removeMember } from '../members/members.service.js';
import {
  CreateOrganizationBody,
  ListOrganizationsQuery,
  Organization,
  OrganizationList,
  OrgParams,
  UpdateOrganizationBody,
} from './organizations.schemas.js';
import {
  createOrganization,
  getOrganization,
  listVisibleOrganizations,
  patchOrganization,
  transitionOrganization,
} from './organizations.service.js';

const MemberParams = Type.Object({ org_id: Uuid, user_id: Uuid });
const AuditEvent = Type.Object(
  {
    id: Uuid,
    organization_id: Uuid,
    actor: Type.Object({ type: Type.String(), id: Type.Union([Uuid, Type.Null()]) }),
    action: Type.String(),
    target: Type.Union([Type.Object({ type: Type.String(), id: Type.Union([Type.String(), Type.Null()]) }), Type.Null()]),
    data: Type.Record(Type.String(), Type.Unknown()),
    ip: Type.Union([Type.String(), Type.Null()]),
    request_id: Type.Union([Type.String(), Type.Null()]),
    occurred_at: Timestamp,
  },
  { title: 'AuditEvent' },
);
const AuditQuery = Type.Object({
  ...PageQuery,
  action: Type.Optional(Type.String({ maxLength: 100 })),
  actor_id: Type.Optional(Uuid),
  since: Type.Optional(Type.String({ format: 'date-time' })),
  until: Type.Optional(Type.String({ format: 'date-time' })),
});

export function organizationRoutes(app: App) {
  const { db } = app;
  const onRequest = app.services.authenticate;
  const tags = ['Organizations'];
  const common = { security: bearer };

  app.post(
    '/v1/organizations',
    {
      onRequest,
      schema: {
        ...common,
        tags,
        summary: 'Create an organization; the caller becomes its owner',
        body: CreateOrganizationBody,
        response: { 201: Organization, ...errorResponses(400, 401, 409) },
      },
    },
    async (request, reply) => reply.status(201).send(await createOrganization(db, callerOf(request), request.body)),
  );

  app.get(
    '/v1/organizations',
    {
      onRequest,
      schema: {
        ...common,
        tags,
        summary: "The caller's organizations; every organization for platform admins",
        querystring: ListOrganizationsQuery,
        response: { 200: OrganizationList, ...errorResponses(400, 401) },
      },
    },
    async (request) => listVisibleOrganizations(db, callerOf(request), request.query),
  );

  app.get(
    '/v1/organizations/:org_id',
    {
      onRequest,
      schema: {
        ...common,
        tags,
        summary: 'Get an organization',
        params: OrgParams,
        response: { 200: Organization, ...errorResponses(400, 401, 404) },
      },
    },
    async (request) => getOrganization(db, callerOf(request), request.params.org_id),
  );

  app.patch(
    '/v1/organizations/:org_id',
    {
      onRequest,
      schema: {
        ...common,
        tags,
        summary: 'Update the profile (admin+)',
        params: OrgParams,
        body: UpdateOrganizationBody,
        response: { 200: Organization, ...errorResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request) => patchOrganization(db, callerOf(request), request.params.org_id, request.body),
  );

  app.delete(
    '/v1/organizations/:org_id',
    {
      onRequest,
      schema: {
        ...common,
        tags,
        summary: 'Archive the organization (owner, platform admin)',
        params: OrgParams,
        response: { 204: Type.Null(), ...errorResponses(401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      await transitionOrganization(db, callerOf(request), request.params.org_id, 'archive');
      return reply.status(204).send(null);
    },
  );

  for (const kind of ['suspend', 'reactivate'] as const) {
    app.post(
      `/v1/organizations/:org_id/${kind}`,
      {
        onRequest,
        schema: {
          ...common,
          tags: ['Platform administration'],
          summary: `${kind === 'suspend' ? 'Suspend' : 'Reactivate'} the organization (platform admins)`,
          params: OrgParams,
          response: { 200: Organization, ...errorResponses(401, 403, 404, 409) },
        },
      },
      async (request) => transitionOrganization(db, callerOf(request), request.params.org_id, kind),
    );
  }

  const memberTags = ['Members'];
  app.get(
    '/v1/organizations/:org_id/members',
    {
      onRequest,
      schema: {
        ...common,
        tags: memberTags,
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
        tags: memberTags,
        summary: "Change a member's role",
        params: MemberParams,
        body: closed({ role: RoleName }),
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
        tags: memberTags,
        summary: 'Remove a member, or leave (your own user id)',
        params: MemberParams,
        response: { 204: Type.Null(), ...errorResponses(401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      await removeMember(db, callerOf(request), request.params.org_id, request.params.user_id);
      return reply.status(204).send(null);
    },
  );

  app.get(
    '/v1/organizations/:org_id/audit-events',
    {
      onRequest,
      schema: {
        ...common,
        tags: ['Audit log'],
        summary: 'The organization’s audit log, newest first (admin+)',
        params: OrgParams,
        querystring: AuditQuery,
        response: { 200: Page(AuditEvent), ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request) => listAuditEvents(db, callerOf(request), request.params.org_id, request.query),
  );
}
