import { Type } from '@sinclair/typebox';
import type { App } from '../../app.js';
import { callerOf, principalOf } from '../../http/auth-plugin.js';
import { noContent } from '../../http/no-content.js';
import { AUTH_ERRORS, BODY_ERRORS, bearer, DB_ERRORS, NoContent, PageQuery, problems, ref } from '../../http/schemas.js';
import { toolOf } from '../access/principal.js';
import { OrgParams } from '../organizations/organizations.schemas.js';
import { disableTool, enableTool, getOrganizationTools, getToolOrganizations } from './organization-tools.service.js';
import { EnableToolBody, OrganizationTool, OrganizationToolPage, OrgToolParams, ToolOrganizationPage } from './tools.schemas.js';

/** Enablement per organization (SPEC §10) and a tool's discovery of its organizations. */
export function organizationToolRoutes(app: App) {
  const { db } = app;
  const onRequest = app.services.authenticate(['user']);
  const common = { security: bearer, tags: ['Platform tools'] };

  app.get(
    '/v1/organizations/:org_id/tools',
    {
      onRequest,
      schema: {
        ...common,
        operationId: 'listOrganizationTools',
        summary: 'The tools available to an organization, with their state in it',
        description: 'Every active tool of the registry, and every tool enabled here, with its status and granted scopes here. Any member.',
        params: OrgParams,
        querystring: Type.Object(PageQuery),
        response: {
          200: ref(OrganizationToolPage, 'A page of tools'),
          ...problems('VALIDATION_FAILED', AUTH_ERRORS, 'NOT_FOUND', DB_ERRORS),
        },
      },
    },
    async (request) => getOrganizationTools(db, callerOf(request), request.params.org_id, request.query),
  );

  app.put(
    '/v1/organizations/:org_id/tools/:tool_id',
    {
      onRequest,
      schema: {
        ...common,
        operationId: 'enableOrganizationTool',
        summary: 'Enable a tool, or change its scopes (tools:manage)',
        description:
          'Admins and owners. Scopes come from the tool’s catalogue; a Tenantry permission (e.g. `members:read`) is granted only if the caller holds it. The tool may then obtain tokens for the organization.',
        params: OrgToolParams,
        body: EnableToolBody,
        response: {
          200: ref(OrganizationTool, 'The tool’s state in the organization'),
          ...problems(BODY_ERRORS, AUTH_ERRORS, 'ORGANIZATION_SUSPENDED', 'NOT_FOUND', 'INVALID_STATE', DB_ERRORS),
        },
      },
    },
    async (request) => enableTool(db, callerOf(request), request.params.org_id, request.params.tool_id, request.body),
  );

  app.delete(
    '/v1/organizations/:org_id/tools/:tool_id',
    {
      onRequest,
      schema: {
        ...common,
        operationId: 'disableOrganizationTool',
        summary: 'Disable a tool in the organization (tools:manage)',
        description:
          'Admins and owners. The tool’s tokens for the organization stop working on Tenantry’s API at once, it gets no new ones, and its sharing grants are suspended.',
        params: OrgToolParams,
        response: {
          204: NoContent('Disabled'),
          ...problems('VALIDATION_FAILED', AUTH_ERRORS, 'ORGANIZATION_SUSPENDED', 'NOT_FOUND', DB_ERRORS),
        },
      },
    },
    async (request, reply) => noContent(reply, disableTool(db, callerOf(request), request.params.org_id, request.params.tool_id)),
  );

  app.get(
    '/v1/tool/organizations',
    {
      onRequest: app.services.authenticate(['tool']),
      schema: {
        ...common,
        operationId: 'listToolOrganizations',
        summary: 'The organizations where the calling tool is enabled (tool tokens)',
        description:
          'For a tool’s token issued without `organization_id` (client_credentials): each organization that enabled the tool, with the scopes it granted. Any other token is 403.',
        querystring: Type.Object(PageQuery),
        response: { 200: ref(ToolOrganizationPage, 'A page of organizations'), ...problems('VALIDATION_FAILED', AUTH_ERRORS, DB_ERRORS) },
      },
    },
    async (request) => getToolOrganizations(db, toolOf(principalOf(request)), request.query),
  );
}
