import type { App } from '../../app.js';
import { callerOf } from '../../http/auth-plugin.js';
import { noContent } from '../../http/no-content.js';
import { AUTH_ERRORS, BODY_ERRORS, bearer, DB_ERRORS, NoContent, problems, ref } from '../../http/schemas.js';
import {
  CreateCredentialBody,
  CreatedCredential,
  CreatedTool,
  CreateToolBody,
  CredentialList,
  CredentialParams,
  PatchToolBody,
  Tool,
  ToolListQuery,
  ToolPage,
  ToolParams,
} from './tools.schemas.js';
import {
  addCredential,
  createTool,
  getCredentials,
  getTool,
  getTools,
  patchTool,
  type RegistryDeps,
  removeCredential,
  setToolStatus,
} from './tools.service.js';

/** The tool registry (SPEC §10): platform admins register tools and their credentials. */
export function toolRoutes(app: App) {
  const { db } = app;
  const deps: RegistryDeps = { db, apiAudience: app.services.tokens.apiAudience };
  const onRequest = app.services.authenticate(['user']);
  const common = { security: bearer, tags: ['Platform tools'] };
  const onTool = problems('VALIDATION_FAILED', AUTH_ERRORS, 'NOT_FOUND', DB_ERRORS);

  app.post(
    '/v1/tools',
    {
      onRequest,
      schema: {
        ...common,
        operationId: 'createTool',
        summary: 'Register a tool (platform admins)',
        description:
          'Registers a tool: an OAuth client (its `client_id` is its id) and a resource server named by its `audience`. Answers a first `client_secret`, shown only here. Scope names are `<slug>:<resource>:<action>` or Tenantry permissions; `requires` defaults to `data:read`.',
        body: CreateToolBody,
        response: {
          201: ref(CreatedTool, 'The tool and its first client secret'),
          ...problems(BODY_ERRORS, AUTH_ERRORS, 'SLUG_TAKEN', 'AUDIENCE_TAKEN', DB_ERRORS),
        },
      },
    },
    async (request, reply) => reply.status(201).send(await createTool(deps, callerOf(request), request.body)),
  );

  app.get(
    '/v1/tools',
    {
      onRequest,
      schema: {
        ...common,
        operationId: 'listTools',
        summary: 'List tools',
        description:
          'Any signed-in user sees the active tools (organization admins choose from them); platform admins see all, filtered by `status`.',
        querystring: ToolListQuery,
        response: { 200: ref(ToolPage, 'A page of tools'), ...problems('VALIDATION_FAILED', AUTH_ERRORS, DB_ERRORS) },
      },
    },
    async (request) => getTools(db, callerOf(request), request.query),
  );

  app.get(
    '/v1/tools/:id',
    {
      onRequest,
      schema: {
        ...common,
        operationId: 'getTool',
        summary: 'Get a tool',
        description: 'An active tool, to any signed-in user; any tool, to platform admins.',
        params: ToolParams,
        response: { 200: ref(Tool, 'The tool'), ...onTool },
      },
    },
    async (request) => getTool(db, callerOf(request), request.params.id),
  );

  app.patch(
    '/v1/tools/:id',
    {
      onRequest,
      schema: {
        ...common,
        operationId: 'updateTool',
        summary: 'Change a tool (platform admins)',
        description: 'Changes its name, description, audience or scope catalogue. The slug and client id never change.',
        params: ToolParams,
        body: PatchToolBody,
        response: { 200: ref(Tool, 'The tool'), ...problems(BODY_ERRORS, AUTH_ERRORS, 'NOT_FOUND', 'AUDIENCE_TAKEN', DB_ERRORS) },
      },
    },
    async (request) => patchTool(deps, callerOf(request), request.params.id, request.body),
  );

  for (const [action, status] of [
    ['disable', 'disabled'],
    ['enable', 'active'],
  ] as const) {
    app.post(
      `/v1/tools/:id/${action}`,
      {
        onRequest,
        schema: {
          ...common,
          operationId: `${action}Tool`,
          summary: `${action === 'disable' ? 'Disable' : 'Enable'} a tool (platform admins)`,
          description:
            action === 'disable'
              ? 'The tool gets no more tokens (`invalid_client`), and the tokens it holds stop working on Tenantry’s API at once.'
              : 'The tool may obtain tokens again.',
          params: ToolParams,
          response: { 200: ref(Tool, 'The tool'), ...onTool },
        },
      },
      async (request) => setToolStatus(db, callerOf(request), request.params.id, status),
    );
  }

  app.post(
    '/v1/tools/:id/credentials',
    {
      onRequest,
      schema: {
        ...common,
        operationId: 'createToolCredential',
        summary: 'Add a credential to a tool (platform admins)',
        description:
          '`client_secret` answers a new secret (256 random bits), shown only here; `private_key_jwt` registers a JWKS of public keys (Ed25519 → EdDSA, P-256 → ES256, RSA → RS256, pinned per key). At most two credentials are active at once, for rotation: a third is 409 CREDENTIAL_LIMIT.',
        params: ToolParams,
        body: CreateCredentialBody,
        response: {
          201: ref(CreatedCredential, 'The credential, and its secret for client_secret'),
          ...problems(BODY_ERRORS, AUTH_ERRORS, 'NOT_FOUND', 'CREDENTIAL_LIMIT', DB_ERRORS),
        },
      },
    },
    async (request, reply) => reply.status(201).send(await addCredential(db, callerOf(request), request.params.id, request.body)),
  );

  app.get(
    '/v1/tools/:id/credentials',
    {
      onRequest,
      schema: {
        ...common,
        operationId: 'listToolCredentials',
        summary: 'List a tool’s credentials (platform admins)',
        description: 'Every credential with its hint, creation, last use, expiry and revocation; never a secret.',
        params: ToolParams,
        response: { 200: ref(CredentialList, 'The credentials'), ...onTool },
      },
    },
    async (request) => getCredentials(db, callerOf(request), request.params.id),
  );

  app.delete(
    '/v1/tools/:id/credentials/:credential_id',
    {
      onRequest,
      schema: {
        ...common,
        operationId: 'revokeToolCredential',
        summary: 'Revoke a credential (platform admins)',
        description: 'The credential authenticates nothing from now on. Tokens it obtained run out by their expiry (600 s at most).',
        params: CredentialParams,
        response: { 204: NoContent('Revoked'), ...onTool },
      },
    },
    async (request, reply) => noContent(reply, removeCredential(db, callerOf(request), request.params.id, request.params.credential_id)),
  );
}
