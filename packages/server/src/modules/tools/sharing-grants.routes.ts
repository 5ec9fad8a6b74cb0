import type { App } from '../../app.js';
import { callerOf } from '../../http/auth-plugin.js';
import { noContent } from '../../http/no-content.js';
import { AUTH_ERRORS, BODY_ERRORS, bearer, DB_ERRORS, NoContent, problems, ref } from '../../http/schemas.js';
import { OrgParams } from '../organizations/organizations.schemas.js';
import {
  CreateSharingGrantBody,
  ListSharingGrantsQuery,
  SharingGrant,
  SharingGrantPage,
  SharingGrantParams,
} from './sharing-grants.schemas.js';
import {
  createSharingGrant,
  getSharingGrant,
  getSharingGrants,
  revokeSharingGrant,
  type SharingGrantDeps,
} from './sharing-grants.service.js';

export function sharingGrantRoutes(app: App, deps: SharingGrantDeps) {
  const onRequest = app.services.authenticate(['user']);
  const tags = ['Sharing grants'];
  const security = bearer;

  app.post(
    '/v1/organizations/:org_id/sharing-grants',
    {
      onRequest,
      schema: {
        tags,
        security,
        operationId: 'createSharingGrant',
        summary: 'Let one tool use another tool’s shareable scopes in the organization (owners)',
        description:
          'Both tools must be enabled in the organization, they must differ, and every scope must be a shareable scope of the provider; otherwise 400 GRANT_SCOPE_INVALID with one entry per problem in `errors`. One active grant per provider and consumer (409 SHARING_GRANT_EXISTS): to change its scopes, revoke it and create another.',
        params: OrgParams,
        body: CreateSharingGrantBody,
        response: {
          201: ref(SharingGrant, 'The grant'),
          ...problems(
            BODY_ERRORS,
            AUTH_ERRORS,
            'GRANT_SCOPE_INVALID',
            'ORGANIZATION_SUSPENDED',
            'NOT_FOUND',
            'SHARING_GRANT_EXISTS',
            DB_ERRORS,
          ),
        },
      },
    },
    async (request, reply) =>
      reply.status(201).send(await createSharingGrant(deps, callerOf(request), request.params.org_id, request.body)),
  );

  app.get(
    '/v1/organizations/:org_id/sharing-grants',
    {
      onRequest,
      schema: {
        tags,
        security,
        operationId: 'listSharingGrants',
        summary: 'List the organization’s sharing grants (owners)',
        description: 'Filter by `provider_tool_id`, `consumer_tool_id` and `status`; oldest first, cursor-paged.',
        params: OrgParams,
        querystring: ListSharingGrantsQuery,
        response: {
          200: ref(SharingGrantPage, 'A page of grants'),
          ...problems('VALIDATION_FAILED', AUTH_ERRORS, 'NOT_FOUND', DB_ERRORS),
        },
      },
    },
    async (request) => getSharingGrants(deps, callerOf(request), request.params.org_id, request.query),
  );

  app.get(
    '/v1/organizations/:org_id/sharing-grants/:grant_id',
    {
      onRequest,
      schema: {
        tags,
        security,
        operationId: 'getSharingGrant',
        summary: 'One sharing grant (owners)',
        description: 'A grant of another organization answers 404.',
        params: SharingGrantParams,
        response: {
          200: ref(SharingGrant, 'The grant'),
          ...problems('VALIDATION_FAILED', AUTH_ERRORS, 'NOT_FOUND', DB_ERRORS),
        },
      },
    },
    async (request) => getSharingGrant(deps, callerOf(request), request.params.org_id, request.params.grant_id),
  );

  app.delete(
    '/v1/organizations/:org_id/sharing-grants/:grant_id',
    {
      onRequest,
      schema: {
        tags,
        security,
        operationId: 'revokeSharingGrant',
        summary: 'Revoke a sharing grant (owners)',
        description:
          'No token is issued under it from now on; tokens already issued expire within 300 s, and a `sharing_grant.revoked` event lets tools drop them at once. An active or suspended grant can be revoked; a revoked or expired one is 409 INVALID_STATE.',
        params: SharingGrantParams,
        response: {
          204: NoContent('Revoked'),
          ...problems('VALIDATION_FAILED', AUTH_ERRORS, 'ORGANIZATION_SUSPENDED', 'NOT_FOUND', 'INVALID_STATE', DB_ERRORS),
        },
      },
    },
    async (request, reply) => noContent(reply, revokeSharingGrant(deps, callerOf(request), request.params.org_id, request.params.grant_id)),
  );
}
