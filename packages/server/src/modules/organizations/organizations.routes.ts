import type { App } from '../../app.js';
import { callerOf } from '../../http/auth-plugin.js';
import { noContent } from '../../http/no-content.js';
import { AUTH_ERRORS, BODY_ERRORS, bearer, DB_ERRORS, NoContent, problems, ref } from '../../http/schemas.js';
import { userOf } from '../access/principal.js';
import { requireVerifiedEmail } from '../identity/lifecycle.service.js';
import {
  CreateOrganizationBody,
  ListOrganizationsQuery,
  Organization,
  OrganizationPage,
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
        operationId: 'createOrganization',
        summary: 'Create an organization; the caller becomes its owner',
        description:
          'Creates an active organization with the caller as its owner. `name` and `industry` are required; the slug is derived from the name when not given.',
        body: CreateOrganizationBody,
        response: {
          201: ref(Organization, 'The organization created'),
          ...problems(BODY_ERRORS, AUTH_ERRORS, 'EMAIL_NOT_VERIFIED', 'SLUG_TAKEN', DB_ERRORS),
        },
      },
    },
    async (request, reply) => {
      const caller = callerOf(request);
      await requireVerifiedEmail(app, userOf(caller.principal));
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
        operationId: 'listOrganizations',
        summary: "The caller's organizations; every organization for platform admins",
        description: 'Platform admins see every organization and may filter by `q` (name or slug prefix) and `status`.',
        querystring: ListOrganizationsQuery,
        response: { 200: ref(OrganizationPage, 'A page of organizations'), ...problems('VALIDATION_FAILED', AUTH_ERRORS, DB_ERRORS) },
      },
    },
    async (request) => listVisibleOrganizations(db, callerOf(request), request.query),
  );

  app.get(
    '/v1/organizations/:org_id',
    {
      onRequest: app.services.authenticate(['user', 'tool', 'api_key']),
      schema: {
        ...common,
        tags,
        operationId: 'getOrganization',
        summary: 'Get an organization',
        description:
          'Any member, and platform admins; a tool enabled here with `organization:read`. Another tenant’s id answers 404, like a missing one.',
        params: OrgParams,
        response: { 200: ref(Organization, 'The organization'), ...problems('VALIDATION_FAILED', AUTH_ERRORS, 'NOT_FOUND', DB_ERRORS) },
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
        operationId: 'updateOrganization',
        summary: 'Update the profile (admin+)',
        description: 'Changes the fields given (at least one).',
        params: OrgParams,
        body: UpdateOrganizationBody,
        response: {
          200: ref(Organization, 'The updated organization'),
          ...problems(BODY_ERRORS, AUTH_ERRORS, 'ORGANIZATION_SUSPENDED', 'NOT_FOUND', 'SLUG_TAKEN', DB_ERRORS),
        },
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
        operationId: 'archiveOrganization',
        summary: 'Archive the organization (owner, platform admin)',
        description: 'Archives the organization; its members no longer see it.',
        params: OrgParams,
        response: {
          204: NoContent('Archived'),
          ...problems('VALIDATION_FAILED', AUTH_ERRORS, 'ORGANIZATION_SUSPENDED', 'NOT_FOUND', 'INVALID_STATE', DB_ERRORS),
        },
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
          operationId: `${kind}Organization`,
          summary: `${kind === 'suspend' ? 'Suspend' : 'Reactivate'} the organization (platform admins)`,
          description:
            kind === 'suspend'
              ? 'A suspended organization can still be read; everything else answers 403 ORGANIZATION_SUSPENDED and no token can be scoped to it.'
              : 'Makes a suspended organization active again.',
          params: OrgParams,
          response: {
            200: ref(Organization, `The ${kind === 'suspend' ? 'suspended' : 'reactivated'} organization`),
            ...problems('VALIDATION_FAILED', AUTH_ERRORS, 'NOT_FOUND', 'INVALID_STATE', DB_ERRORS),
          },
        },
      },
      async (request) => transitionOrganization(db, callerOf(request), request.params.org_id, kind),
    );
  }
}
