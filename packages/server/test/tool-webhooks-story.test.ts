// The story of issue 15 for tools, over real HTTP: a tool registers its own endpoint, and
// every member, organization, invitation, tool, API-key and grant change of the organizations where
// it is enabled reaches it signed (v1 and v1a), once per change, in order per organization,
// through a receiver outage and a restart of Tenantry; nothing of another organization does.
import { createPublicKey, verify } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { TenantryEvent } from '@tenantry/sdk';
import { sql } from 'kysely';
import { Webhook } from 'standardwebhooks';
import { afterAll, describe, expect, it } from 'vitest';
import { type App, buildApp } from '../src/app.js';
import { testConfig } from '../src/config.js';
import { WebhookDeliverer } from '../src/modules/events/deliverer.js';
import { loadWebhookKey } from '../src/modules/events/signing.js';
import type { TestApp } from './helpers/app.js';
import { createTestDatabase, ENGINES, type TestDatabase } from './helpers/db.js';
import { type OrgWithRoles, orgWithRoles } from './helpers/orgs.js';
import { basic, platformAdminToken, registerTool } from './helpers/tools.js';
import { header, type Received, startReceiver } from './helpers/webhook-receiver.js';

describe.each(ENGINES)('a tool’s webhooks, end to end (%s)', (engine) => {
  const cleanup: Array<() => Promise<unknown>> = [];
  afterAll(async () => {
    for (const c of cleanup.reverse()) await c();
  });

  it('every change of the organizations where the tool is enabled reaches it signed, once, in order, through an outage and a restart', async () => {
    const db: TestDatabase = await createTestDatabase(engine);
    cleanup.push(() => db.drop());
    const receiver = await startReceiver();
    cleanup.push(() => receiver.close());
    // The receiver is down (503) until it recovers; what it accepted is what it got.
    let up = false;
    const accepted: Received[] = [];
    receiver.answer((r) => {
      if (!up) return { status: 503 };
      accepted.push(r);
      return { status: 204 };
    });

    let app: App;
    let base: string;
    let worker: WebhookDeliverer;
    const start = async () => {
      app = await buildApp(testConfig({ webhookAllowPrivate: true }), db.db);
      await app.listen({ port: 0, host: '127.0.0.1' });
      base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
      worker = new WebhookDeliverer(db.db, await loadWebhookKey(db.db.kysely), app.log, undefined, {
        allowPrivate: true,
        retentionDays: 30,
      });
    };
    const stop = async () => {
      await worker.stop();
      await app.close();
    };
    const call = async (method: string, path: string, token: string | null, body?: unknown) => {
      const res = await fetch(`${base}${path}`, {
        method,
        headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
      const text = await res.text();
      if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${text}`);
      return text ? JSON.parse(text) : null;
    };
    // Retries are made due now instead of waiting out the schedule (as webhooks.test.ts does).
    const retriesDueNow = () => sql`update webhook_deliveries set next_attempt_at = now() where status = 'pending'`.execute(db.db.kysely);

    await start();
    cleanup.push(() => stop());
    const t: TestApp = { ...db, app: app!, close: stop };
    const admin = await platformAdminToken(t);
    const tool = await registerTool(t, admin);
    const provider = await registerTool(t, admin);
    const enabled: OrgWithRoles = await orgWithRoles(app!, db.db, 'Enabled Org');
    const other: OrgWithRoles = await orgWithRoles(app!, db.db, 'Other Org');

    // Each organization's changes, all of the kinds a tool is told about.
    const changes = async (o: OrgWithRoles, round: number) => {
      const owner = o.owner.access;
      await call('PATCH', `/v1/organizations/${o.id}`, owner, { name: `${o.slug} round ${round}` });
      const inv = await call('POST', `/v1/organizations/${o.id}/invitations`, owner, {
        email: `r${round}-${o.id}@example.com`,
        role: 'member',
      });
      await call('DELETE', `/v1/organizations/${o.id}/invitations/${inv.id}`, owner);
      const key = await call('POST', `/v1/organizations/${o.id}/api-keys`, owner, { name: `round ${round}`, scopes: ['members:read'] });
      if (round === 1) await call('DELETE', `/v1/organizations/${o.id}/api-keys/${key.id}`, owner);
      else await call('POST', `/v1/organizations/${o.id}/api-keys/${key.id}/rotate`, owner, { grace_seconds: 60 });
      await call('PATCH', `/v1/organizations/${o.id}/members/${o.viewer.id}`, owner, { role: round === 1 ? 'member' : 'viewer' });
    };

    // The tool, with a token of its own (client_credentials, no organization), registers its endpoint for every type.
    const tokenRes = await fetch(`${base!}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(tool.clientId, tool.secret) },
      body: new URLSearchParams({ grant_type: 'client_credentials' }).toString(),
    });
    expect(tokenRes.status).toBe(200);
    const toolAccess = ((await tokenRes.json()) as { access_token: string }).access_token;
    const types = ((await call('GET', '/v1/event-types', null)).data as Array<{ type: string }>).map((x) => x.type);
    const ep = await call('POST', '/v1/webhook-endpoints', toolAccess, { url: receiver.url, event_types: types });
    expect(ep.tool_id).toBe(tool.id);
    // The owners enable the tools in one organization only; the other has them too, but not the tool.
    for (const [o, tools] of [
      [enabled, [tool, provider]],
      [other, [provider]],
    ] as const) {
      for (const x of tools) await call('PUT', `/v1/organizations/${o.id}/tools/${x.id}`, o.owner.access, {});
    }

    // Round 1 while the receiver is down: every attempt fails, and is due again later.
    for (const o of [enabled, other]) await changes(o, 1);
    for (const o of [enabled, other]) {
      await call('PUT', `/v1/organizations/${o.id}/tools/${provider.id}`, o.owner.access, { scopes: [`${provider.slug}:contacts:read`] });
    }
    const grant = await call('POST', `/v1/organizations/${enabled.id}/sharing-grants`, enabled.owner.access, {
      provider_tool_id: provider.id,
      consumer_tool_id: tool.id,
      scopes: [`${provider.slug}:contacts:read`],
      purpose: 'story',
    });
    await worker!.runOnce();
    expect(receiver.received.length).toBeGreaterThan(0);
    expect(accepted).toHaveLength(0);

    // Tenantry restarts on the same database; the receiver recovers; more changes follow.
    await stop();
    await start();
    up = true;
    await retriesDueNow();
    await worker!.runOnce();
    await call('DELETE', `/v1/organizations/${enabled.id}/sharing-grants/${grant.id}`, enabled.owner.access);
    for (const o of [enabled, other]) await changes(o, 2);
    await call('DELETE', `/v1/organizations/${enabled.id}/members/${enabled.member.id}`, enabled.owner.access);
    await worker!.runOnce();

    // What reached the tool: exactly the enabled organization's events from the tool's enablement on, in order, once each.
    const all = (await call('GET', `/v1/organizations/${enabled.id}/events?limit=500`, enabled.owner.access)).data as TenantryEvent[];
    const from = all.findIndex((e) => e.type === 'organization_tool.enabled' && e.data.tool_id === tool.id);
    const expected = all.slice(from);
    const got = accepted.map((r) => JSON.parse(r.body) as TenantryEvent);
    expect(got.map((e) => e.id)).toEqual(expected.map((e) => e.id));
    expect(new Set(got.map((e) => e.organization_id))).toEqual(new Set([enabled.id]));
    expect(new Set(got.map((e) => e.type))).toEqual(
      new Set([
        'organization_tool.enabled',
        'organization_tool.updated',
        'organization.updated',
        'invitation.created',
        'invitation.revoked',
        'member.role_changed',
        'member.removed',
        'api_key.created',
        'api_key.revoked',
        'api_key.rotated',
        'sharing_grant.created',
        'sharing_grant.revoked',
      ]),
    );
    // Every delivery is signed: v1 with the endpoint's secret (standard-webhooks), v1a with a published Ed25519 key.
    const keys = (await call('GET', '/.well-known/webhook-keys.json', null)).keys as Array<{ jwk: object }>;
    for (const r of accepted) {
      const h = {
        'webhook-id': header(r, 'webhook-id'),
        'webhook-timestamp': header(r, 'webhook-timestamp'),
        'webhook-signature': header(r, 'webhook-signature'),
      };
      expect((new Webhook(ep.secret).verify(r.body, h) as TenantryEvent).id).toBe(h['webhook-id']);
      const v1a = h['webhook-signature']
        .split(' ')
        .find((s) => s.startsWith('v1a,'))!
        .slice(4);
      const content = Buffer.from(`${h['webhook-id']}.${h['webhook-timestamp']}.${r.body}`);
      expect(
        keys.some((k) => verify(null, content, createPublicKey({ key: k.jwk as never, format: 'jwk' }), Buffer.from(v1a, 'base64'))),
      ).toBe(true);
    }
    // The outage's failed attempts carried the same webhook-id as the accepted one.
    const refused = receiver.received.filter((r) => !accepted.includes(r)).map((r) => header(r, 'webhook-id'));
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.every((id) => expected.some((e) => e.id === id))).toBe(true);
    // The tool's pull API tells the same story.
    const pulled = (await call('GET', '/v1/events?limit=500', toolAccess)).data as TenantryEvent[];
    expect(pulled.map((e) => e.id)).toEqual(expected.map((e) => e.id));
  }, 120_000);
});
