// Tenantry and the two example tools, each on its own loopback port, for the platform story.
import type { AddressInfo } from 'node:net';
import { BILLING_SCOPES, billingSchema, buildBilling } from '@tenantry-examples/billing';
import { buildCrm, CRM_SCOPES, crmSchema } from '@tenantry-examples/crm';
import type { Engine } from '../../../packages/server/src/db/database.js';
import { uuidv7 } from '../../../packages/server/src/db/ids.js';
import { WebhookDeliverer } from '../../../packages/server/src/modules/events/deliverer.js';
import { loadWebhookKey } from '../../../packages/server/src/modules/events/signing.js';
import { ensurePlatformAdmin } from '../../../packages/server/src/modules/identity/identity.service.js';
import { startApp, type TestApp } from '../../../packages/server/test/helpers/app.js';
import { authed, PASSWORD } from '../../../packages/server/test/helpers/users.js';
import { openToolDb, type ToolDb } from './tool-db.js';

export interface Tool {
  id: string;
  clientId: string;
  clientSecret: string;
  audience: string;
  url: string;
  db: ToolDb;
}

const urlOf = (server: { address(): unknown }) => `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

/** Tenantry on `engine`, listening on loopback, with a platform admin and its webhook deliverer. */
export async function startTenantry(engine: Engine) {
  const t: TestApp = await startApp(engine, { webhookAllowPrivate: true });
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  const email = `operator-${uuidv7()}@platform.example`;
  await ensurePlatformAdmin(t.db, email, PASSWORD);
  const login = await t.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email, password: PASSWORD } });
  // What `tenantry serve` runs in the background; the story runs it when it wants deliveries made.
  const deliverer = new WebhookDeliverer(t.db, await loadWebhookKey(t.db.kysely), t.app.log, t.app.services.webhookMetrics, {
    allowPrivate: true,
    retentionDays: 30,
    jitter: () => 0,
  });
  return { t, url: urlOf(t.app.server), adminToken: login.json().access_token as string, deliverer };
}
export type Tenantry = Awaited<ReturnType<typeof startTenantry>>;

/** Registers a tool (platform admin), as a platform operator would once. */
async function register(tn: Tenantry, slug: string, scopes: unknown[]) {
  const audience = `https://${slug}.example.test`;
  const res = await authed(tn.t.app, 'POST', '/v1/tools', tn.adminToken, { slug, name: slug.toUpperCase(), audience, scopes });
  if (res.statusCode !== 201) throw new Error(`registering ${slug}: ${res.statusCode} ${res.body}`);
  const b = res.json();
  return { id: b.tool.id as string, clientId: b.tool.client_id as string, clientSecret: b.client_secret as string, audience };
}

/**
 * A webhook endpoint for the tool's revoking events, bound to the tool (`tool_id`): it hears
 * only the organizations where the tool is enabled.
 */
async function subscribe(tn: Tenantry, toolId: string, url: string, secrets: string[]) {
  const res = await authed(tn.t.app, 'POST', '/v1/webhook-endpoints', tn.adminToken, {
    tool_id: toolId,
    url: `${url}/tenantry/events`,
    event_types: [
      'member.removed',
      'member.role_changed',
      'sharing_grant.revoked',
      'sharing_grant.suspended',
      'organization_tool.disabled',
    ],
  });
  if (res.statusCode !== 201) throw new Error(`webhook endpoint: ${res.statusCode} ${res.body}`);
  secrets.push(res.json().secret);
}

/** Registers the CRM and billing in Tenantry and starts each on loopback with its own database. */
export async function startTools(tn: Tenantry) {
  const issuer = tn.t.app.config.tokenIssuer;
  const jwksUri = `${tn.url}/.well-known/jwks.json`;
  const crmReg = await register(tn, 'crm', CRM_SCOPES);
  const billingReg = await register(tn, 'billing', BILLING_SCOPES);
  const crmDb = await openToolDb('crm', crmSchema);
  const billingDb = await openToolDb('billing', billingSchema);
  const crm = await buildCrm({ issuer, jwksUri, audience: crmReg.audience, toolId: crmReg.id, pool: crmDb.pool, role: crmDb.role });
  await crm.app.listen({ host: '127.0.0.1', port: 0 });
  const crmUrl = urlOf(crm.app.server);
  const billing = await buildBilling({
    issuer,
    jwksUri,
    audience: billingReg.audience,
    toolId: billingReg.id,
    pool: billingDb.pool,
    role: billingDb.role,
    crm: {
      tokenEndpoint: `${tn.url}/oauth/token`,
      clientId: billingReg.clientId,
      clientSecret: billingReg.clientSecret,
      crmUrl,
      crmAudience: crmReg.audience,
    },
  });
  await billing.app.listen({ host: '127.0.0.1', port: 0 });
  const billingUrl = urlOf(billing.app.server);
  await subscribe(tn, crmReg.id, crmUrl, crm.webhookSecrets);
  await subscribe(tn, billingReg.id, billingUrl, billing.webhookSecrets);
  return {
    crm: { ...crmReg, url: crmUrl, db: crmDb, server: crm } satisfies Tool & { server: unknown },
    billing: { ...billingReg, url: billingUrl, db: billingDb, server: billing } satisfies Tool & { server: unknown },
    async close() {
      await crm.app.close();
      await billing.app.close();
      await crmDb.close();
      await billingDb.close();
    },
  };
}

/** An HTTP call to a tool with a bearer token: its status and JSON body. */
export async function call(url: string, token: string, body?: unknown) {
  const res = await fetch(url, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}
