import type { App } from '../../app.js';
import { callerOf } from '../../http/auth-plugin.js';
import { noContent } from '../../http/no-content.js';
import { AUTH_ERRORS, BODY_ERRORS, bearer, DB_ERRORS, NoContent, problems, ref } from '../../http/schemas.js';
import { OrgParams } from '../organizations/organizations.schemas.js';
import { ApiKeyPage, ApiKeyParams, CreateApiKeyBody, CreatedApiKey, ListApiKeysQuery, RotateApiKeyBody } from './api-keys.schemas.js';
import { type ApiKeyDeps, createApiKey, getApiKeys, revokeApiKey, rotateApiKey } from './api-keys.service.js';

export function apiKeyRoutes(app: App, deps: ApiKeyDeps) {
  // Keys are managed by people: a key (or a tool) cannot mint or rotate keys.
  const onRequest = app.services.authenticate(['user']);
  const tags = ['API keys'];
  const security = bearer;

  app.post(
    '/v1/organizations/:org_id/api-keys',
    {
      onRequest,
      schema: {
        tags,
        security,
        operationId: 'createApiKey',
        summary: 'Create an organization API key (api_keys:manage); the key is shown only here',
        description:
          "Scopes are Tenantry permissions the caller holds and scopes of tools enabled in the organization; with `audience` (a tool's), the key is for that tool only and carries only its scopes. The key is answered once and stored only as a keyed hash.",
        params: OrgParams,
        body: CreateApiKeyBody,
        response: {
          201: ref(CreatedApiKey, 'The key, with its secret text'),
          ...problems(BODY_ERRORS, AUTH_ERRORS, 'ORGANIZATION_SUSPENDED', 'NOT_FOUND', DB_ERRORS),
        },
      },
    },
    async (request, reply) => {
      const created = await createApiKey(deps, callerOf(request), request.params.org_id, request.body);
      return reply.status(201).header('cache-control', 'no-store').send(created);
    },
  );

  app.get(
    '/v1/organizations/:org_id/api-keys',
    {
      onRequest,
      schema: {
        tags,
        security,
        operationId: 'listApiKeys',
        summary: 'List the organization’s API keys (api_keys:manage)',
        description: 'Every key, revoked and expired ones included, with its `start` and never its secret.',
        params: OrgParams,
        querystring: ListApiKeysQuery,
        response: {
          200: ref(ApiKeyPage, 'A page of API keys'),
          ...problems('VALIDATION_FAILED', AUTH_ERRORS, 'ORGANIZATION_SUSPENDED', 'NOT_FOUND', DB_ERRORS),
        },
      },
    },
    async (request) => getApiKeys(deps, callerOf(request), request.params.org_id, request.query),
  );

  app.delete(
    '/v1/organizations/:org_id/api-keys/:api_key_id',
    {
      onRequest,
      schema: {
        tags,
        security,
        operationId: 'revokeApiKey',
        summary: 'Revoke an API key (api_keys:manage)',
        description: 'The key is refused from its next request on, on Tenantry’s API and by introspection.',
        params: ApiKeyParams,
        response: {
          204: NoContent('Revoked'),
          ...problems('VALIDATION_FAILED', AUTH_ERRORS, 'ORGANIZATION_SUSPENDED', 'NOT_FOUND', 'INVALID_STATE', DB_ERRORS),
        },
      },
    },
    async (request, reply) => noContent(reply, revokeApiKey(deps, callerOf(request), request.params.org_id, request.params.api_key_id)),
  );

  app.post(
    '/v1/organizations/:org_id/api-keys/:api_key_id/rotate',
    {
      onRequest,
      schema: {
        tags,
        security,
        operationId: 'rotateApiKey',
        summary: 'Rotate an API key (api_keys:manage): a new key now, the old one ends after the grace period',
        description:
          'Answers a new key with the same name, scopes, audience and expiry (shown only here). The old key keeps working for `grace_seconds` (at most 86,400), then is refused.',
        params: ApiKeyParams,
        body: RotateApiKeyBody,
        response: {
          201: ref(CreatedApiKey, 'The new key, with its secret text'),
          ...problems(BODY_ERRORS, AUTH_ERRORS, 'ORGANIZATION_SUSPENDED', 'NOT_FOUND', 'INVALID_STATE', DB_ERRORS),
        },
      },
    },
    async (request, reply) => {
      const p = request.params;
      const created = await rotateApiKey(deps, callerOf(request), p.org_id, p.api_key_id, request.body.grace_seconds);
      return reply.status(201).header('cache-control', 'no-store').send(created);
    },
  );
}
