// Billing: an example platform tool whose invoices (its own PostgreSQL, forced RLS) need the
// CRM's contact addresses. It reads them from the CRM, as itself, with a token Tenantry issues
// only under a sharing grant an owner of the organization made (client_credentials with
// `resource` = the CRM's audience). Everything Tenantry-facing is @tenantry/sdk.
import {
  assertTenantTablesForced,
  ClientCredentials,
  createTenantry,
  principalOf,
  quoteIdent,
  tenantryFastify,
  tenantTableSql,
  verifyWebhook,
  withTenant,
} from '@tenantry/sdk';
import Fastify from 'fastify';

export const BILLING_SCOPES = [
  { name: 'billing:invoices:read', description: 'Read invoices', shareable: false, requires: 'data:read' },
  { name: 'billing:invoices:write', description: 'Create invoices', shareable: false, requires: 'data:write' },
];

export const BILLING_TENANT_TABLES = ['invoices'];

/**
 * Whether the caller may use one of this tool's scopes. A tool's token (its own, or one issued
 * under a sharing grant) and a user's delegated token carry the scope itself; a user's own token
 * carries their Tenantry permissions, where the scope's `requires` stands for it.
 */
const mayUse = (p, scope) =>
  p.permissions.includes(scope) ||
  (p.type === 'user' && !p.grantId && p.permissions.includes(BILLING_SCOPES.find((s) => s.name === scope)?.requires));
/** A route's preHandler: 403 unless the caller may use `scope`. */
const needs = (scope) => async (request, reply) => {
  if (!mayUse(principalOf(request), scope))
    return reply.code(403).send({ title: 'Forbidden', status: 403, detail: `Missing permission: ${scope}` });
};

export const billingSchema = (role) => [
  `create table if not exists invoices (
     organization_id uuid not null,
     id uuid not null default gen_random_uuid(),
     contact_id uuid not null,
     amount_cents integer not null check (amount_cents > 0),
     description text not null,
     primary key (organization_id, id)
   )`,
  ...tenantTableSql('invoices').split('\n'),
  `grant select, insert on invoices to ${quoteIdent(role)}`,
];

const invoiceBody = {
  type: 'object',
  additionalProperties: false,
  required: ['contact_id', 'amount_cents', 'description'],
  properties: {
    contact_id: { type: 'string', format: 'uuid' },
    amount_cents: { type: 'integer', minimum: 1, maximum: 100_000_000 },
    description: { type: 'string', minLength: 1, maxLength: 500 },
  },
};

/**
 * The CRM as billing sees it: one grant-bound token per organization (kept until shortly
 * before it expires), the contacts read with it. Answers `{ contacts }` or `{ refused }`
 * with why: Tenantry's token error (`invalid_target`: no grant; `invalid_scope`) or the
 * CRM's HTTP status.
 */
export function crmClient({ tokenEndpoint, clientId, clientSecret, crmUrl, crmAudience }) {
  const credentials = new Map();
  const credentialsFor = (orgId) => {
    let c = credentials.get(orgId);
    if (!c) {
      c = new ClientCredentials({
        tokenEndpoint,
        clientId,
        clientSecret,
        organizationId: orgId,
        resource: crmAudience,
        scope: 'crm:contacts:read',
      });
      credentials.set(orgId, c);
    }
    return c;
  };
  const read = async (orgId) => {
    const token = await credentialsFor(orgId).token();
    const res = await fetch(new URL(`/orgs/${orgId}/contacts`, crmUrl), { headers: { authorization: `Bearer ${token}` } });
    return res.status === 200 ? { contacts: (await res.json()).data } : { refused: `crm answered ${res.status}` };
  };
  return {
    credentialsFor,
    async contacts(orgId) {
      try {
        const first = await read(orgId);
        if (first.contacts) return first;
        credentialsFor(orgId).reset(); // a refused token (e.g. its grant was revoked): ask Tenantry again, once
        return await read(orgId);
      } catch (err) {
        const why = /refused: (\S+)/.exec(err instanceof Error ? err.message : '');
        if (why) return { refused: why[1] };
        throw err;
      }
    },
  };
}

/** Billing's HTTP app: as buildCrm, plus `crm` (crmClient's options). */
export async function buildBilling({ issuer, jwksUri, audience, toolId, pool, role = 'tenant_app', crm, webhookSecrets = [] }) {
  await assertTenantTablesForced(pool, BILLING_TENANT_TABLES, { role }); // refuses to start otherwise
  const tenantry = createTenantry({ issuer, jwksUri, audience, revocations: { toolId } });
  const contacts = crmClient(crm);
  const app = Fastify();
  await app.register(tenantryFastify, { tenantry });
  const inTenant = (request, fn) => withTenant(pool, principalOf(request), fn, { role });

  app.post(
    '/orgs/:org_id/invoices',
    { preHandler: needs('billing:invoices:write'), schema: { body: invoiceBody } },
    async (request, reply) => {
      const { contact_id: contactId, amount_cents: amount, description } = request.body;
      const { rows } = await inTenant(request, (db) =>
        db.query(
          'insert into invoices (organization_id, contact_id, amount_cents, description) values ($1, $2, $3, $4) returning id, contact_id, amount_cents, description',
          [principalOf(request).orgId, contactId, amount, description],
        ),
      );
      return reply.code(201).send(rows[0]);
    },
  );

  // Invoices with their billing addresses, from the CRM under the organization's sharing grant.
  app.get('/orgs/:org_id/invoices', { preHandler: needs('billing:invoices:read') }, async (request) => {
    const { rows } = await inTenant(request, (db) =>
      db.query('select id, contact_id, amount_cents, description from invoices order by id'),
    );
    const crmAnswer = await contacts.contacts(principalOf(request).orgId);
    const byId = new Map((crmAnswer.contacts ?? []).map((c) => [c.id, c]));
    return {
      data: rows.map((i) => ({
        ...i,
        bill_to: byId.has(i.contact_id) ? { name: byId.get(i.contact_id).name, address: byId.get(i.contact_id).address } : null,
      })),
      crm: crmAnswer.refused ? { refused: crmAnswer.refused } : { ok: true },
    };
  });

  // Tenantry's events for billing: a removed member's token is refused here at once too.
  app.register(async (hooks) => {
    hooks.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => done(null, body));
    hooks.post('/tenantry/events', { config: { tenantry: false } }, async (request, reply) => {
      const event = await verifyWebhook({ headers: request.headers, body: request.body }, { secret: webhookSecrets }).catch(() => null);
      if (event) tenantry.revocations.apply(event);
      return reply.code(event ? 204 : 400).send();
    });
  });

  return { app, tenantry, crm: contacts, webhookSecrets };
}
