import { Type } from '@sinclair/typebox';
import type { App } from '../../app.js';
import { callerOf } from '../../http/auth-plugin.js';
import { noContent } from '../../http/no-content.js';
import { bearer, errorResponses } from '../../http/schemas.js';
import { requireVerifiedEmail } from '../identity/lifecycle.service.js';
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

export function organizationRoutes(app: App) {
  const { db } = app;
  const onRequest = app.services.authenticate(['user']);
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
        response: { 201: Organization, ...errorResponses(400, 401, 403, 409) },
      },
    },
    async (request, reply) => {
      const caller = callerOf(request);
      await requireVerifiedEmail(app, caller.principal);
      return reply.status(201).send(await createOrganization(db, caller, request.body));
    },
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
    async (request, reply) => noContent(reply, transitionOrganization(db, callerOf(request), request.params.org_id, 'archive')),
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
}
