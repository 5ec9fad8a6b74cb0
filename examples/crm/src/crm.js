// The CRM: an example platform tool. Its contacts live in its own PostgreSQL, one tenant table
// under forced row-level security; every request is verified and confined to the caller's
// organization by @tenantry/sdk, and Tenantry's events (a signed webhook) revoke at once.
import {
  assertTenantTablesForced,
  createTenantry,
  principalOf,
  quoteIdent,
  tenantryFastify,
  tenantTableSql,
  verifyWebhook,
  withTenant,
} from '@tenantry/sdk';
import Fastify from 'fastify';
import pg from 'pg';

/** The scopes to register in Tenantry's tool registry: reading contacts may be shared with other tools. */
export const CRM_SCOPES = [
  { name: 'crm:contacts:read', description: 'Read contacts and their postal addresses', shareable: true, requires: 'data:read' },
  { name: 'crm:contacts:write', description: 'Create contacts', shareable: false, requires: 'data:write' },
];

/** The tenant tables the start-up check insists on. */
export const CRM_TENANT_TABLES = ['contacts'];

/**
 * Whether the caller may use one of this tool's scopes. A tool's token (its own, or one issued
 * under a sharing grant) and a user's delegated token carry the scope itself; a user's own token
 * carries their Tenantry permissions, where the scope's `requires` stands for it.
 */
const mayUse = (p, scope) =>
  p.permissions.includes(scope) ||
  (p.type === 'user' && !p.grantId && p.permissions.includes(CRM_SCOPES.find((s) => s.name === scope)?.requires));
/** A route's preHandler: 403 unless the caller may use `scope`. */
const needs = (scope) => async (request, reply) => {
  if (!mayUse(principalOf(request), scope))
    return reply.code(403).send({ title: 'Forbidden', status: 403, detail: `Missing permission: ${scope}` });
};

/** The CRM's schema, one statement each: run them as the database owner (a migration). */
export const crmSchema = (role) => [
  `create table if not exists contacts (
     organization_id uuid not null,
     id uuid not null default gen_random_uuid(),
     name text not null,
     email text not null,
     address text not null,
     created_at timestamptz not null default now(),
     primary key (organization_id, id)
   )`,
  ...tenantTableSql('contacts').split('\n'),
  `grant select, insert on contacts to ${quoteIdent(role)}`,
];

const contactBody = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'email', 'address'],
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 200 },
    email: { type: 'string', minLength: 3, maxLength: 320 },
    address: { type: 'string', minLength: 1, maxLength: 500 },
  },
};

/**
 * The CRM's HTTP app. `tenantry`: Tenantry's issuer (and JWKS URL); `audience` and `toolId`:
 * the CRM's entry in Tenantry's registry; `pool`: its database (node-postgres); `role`: the
 * role its requests run as (no BYPASSRLS, owns no table).
 */
export async function buildCrm({ issuer, jwksUri, audience, toolId, pool, role = 'tenant_app', webhookSecrets = [] }) {
  await assertTenantTablesForced(pool, CRM_TENANT_TABLES, { role }); // refuses to start otherwise
  const tenantry = createTenantry({ issuer, jwksUri, audience, revocations: { toolId } });
  const app = Fastify();
  await app.register(tenantryFastify, { tenantry });
  // A node-postgres pool keeps its connections: each parses the settings statement once.
  const prepared = pool instanceof pg.Pool;
  const inTenant = (request, fn) => withTenant(pool, principalOf(request), fn, { role, prepared });

  // Shareable: billing reaches it with a token issued under a sharing grant.
  app.get(
    '/orgs/:org_id/contacts',
    { config: { tenantry: { shareable: true } }, preHandler: needs('crm:contacts:read') },
    async (request) => {
      const { rows } = await inTenant(request, (db) => db.query('select id, name, email, address from contacts order by created_at, id'));
      return { data: rows };
    },
  );

  app.post('/orgs/:org_id/contacts', { preHandler: needs('crm:contacts:write'), schema: { body: contactBody } }, async (request, reply) => {
    const { name, email, address } = request.body;
    const { rows } = await inTenant(request, (db) =>
      db.query('insert into contacts (organization_id, name, email, address) values ($1, $2, $3, $4) returning id, name, email, address', [
        principalOf(request).orgId,
        name,
        email,
        address,
      ]),
    );
    return reply.code(201).send(rows[0]);
  });

  // Tenantry's webhook (endpoint registered with tool_id = the CRM): every revoking event
  // refuses the tokens it names from now on, not when they expire.
  app.register(async (hooks) => {
    hooks.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => done(null, body));
    hooks.post('/tenantry/events', { config: { tenantry: false } }, async (request, reply) => {
      const event = await verifyWebhook({ headers: request.headers, body: request.body }, { secret: webhookSecrets }).catch(() => null);
      if (!event) return reply.code(400).send({ error: 'invalid signature' });
      tenantry.revocations.apply(event);
      return reply.code(204).send();
    });
  });

  return { app, tenantry, webhookSecrets };
}
