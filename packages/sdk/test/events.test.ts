import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebhookDeliverer } from '../../server/src/modules/events/deliverer.js';
import { loadWebhookKey } from '../../server/src/modules/events/signing.js';
import { ensurePlatformAdmin } from '../../server/src/modules/identity/identity.service.js';
import { startApp, type TestApp } from '../../server/test/helpers/app.js';
import { ENGINES } from '../../server/test/helpers/db.js';
import { type OrgWithRoles, orgWithRoles } from '../../server/test/helpers/orgs.js';
import { authed, PASSWORD } from '../../server/test/helpers/users.js';
import { header, type Received, startReceiver } from '../../server/test/helpers/webhook-receiver.js';
import {
  EventConsumer,
  type Principal,
  REVOKING_EVENT_TYPES,
  RevocationCache,
  type TenantryEvent,
  verifyWebhook,
  WebhookKeySet,
} from '../src/index.js';

// Against a real Tenantry, in-process on loopback: its deliveries (signed by its own code)
// verified by the SDK, its pull API read by the SDK's consumer, both feeding a revocation cache.

describe.each(ENGINES)('events from a real Tenantry (%s)', (engine) => {
  let t: TestApp;
  let base: string;
  let admin: string;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let worker: WebhookDeliverer;
  let o: OrgWithRoles;
  let secret: string;
  let delivered: Received;

  const asRequest = (r: Received) => ({
    headers: {
      'webhook-id': header(r, 'webhook-id'),
      'webhook-timestamp': header(r, 'webhook-timestamp'),
      'webhook-signature': header(r, 'webhook-signature'),
    },
    body: r.body,
  });
  const memberPrincipal = (userId: string, orgId: string, issuedAt: number): Principal => ({
    type: 'user',
    id: userId,
    orgId,
    permissions: [],
    token: { clientId: 'tenantry', sessionId: crypto.randomUUID(), issuedAt, expiresAt: issuedAt + 900 },
  });

  beforeAll(async () => {
    t = await startApp(engine, { webhookAllowPrivate: true });
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
    const email = `sdk-admin-${crypto.randomUUID()}@platform.example`;
    await ensurePlatformAdmin(t.db, email, PASSWORD);
    admin = (await t.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email, password: PASSWORD } })).json().access_token;
    receiver = await startReceiver();
    worker = new WebhookDeliverer(t.db, await loadWebhookKey(t.db.kysely), t.app.log, t.app.services.webhookMetrics, {
      allowPrivate: true,
      retentionDays: 30,
      jitter: () => 0,
    });
    o = await orgWithRoles(t.app, t.db);
    const ep = await authed(t.app, 'POST', '/v1/webhook-endpoints', admin, {
      url: receiver.url,
      event_types: [...REVOKING_EVENT_TYPES].filter(
        (x) => !x.startsWith('organization_tool') && !x.startsWith('sharing_grant') && !x.startsWith('api_key'),
      ),
    });
    expect(ep.statusCode).toBe(201);
    secret = ep.json().secret;
    const changed = await authed(t.app, 'PATCH', `/v1/organizations/${o.id}/members/${o.member.id}`, o.owner.access, { role: 'viewer' });
    expect(changed.statusCode).toBe(200);
    await worker.runOnce();
    expect(receiver.received).toHaveLength(1);
    delivered = receiver.received[0]!;
  });
  afterAll(async () => {
    await worker?.stop();
    await receiver?.close();
    await t?.close();
  });

  it('verifies a delivery by its v1 signature (the endpoint secret) and returns its event', async () => {
    const event = await verifyWebhook(asRequest(delivered), { secret });
    expect(event).toMatchObject({
      type: 'member.role_changed',
      organization_id: o.id,
      data: { user_id: o.member.id, from: 'member', to: 'viewer' },
    });
  });

  it('verifies a delivery by its v1a signature, with the keys Tenantry publishes', async () => {
    const keys = new WebhookKeySet(new URL('/.well-known/webhook-keys.json', base));
    const event = await verifyWebhook(asRequest(delivered), { keys });
    expect(event.id).toBe(header(delivered, 'webhook-id'));
    await verifyWebhook(asRequest(delivered), { keys });
    expect(keys.fetches).toBe(1);
  });

  it('refuses a tampered body, a wrong secret, a stale or future timestamp, and a stripped signature', async () => {
    const keys = new WebhookKeySet(new URL('/.well-known/webhook-keys.json', base));
    const req = asRequest(delivered);
    const tampered = { ...req, body: req.body.replace('viewer', 'owner') };
    await expect(verifyWebhook(tampered, { secret })).rejects.toThrow('no webhook signature verifies');
    await expect(verifyWebhook(tampered, { keys })).rejects.toThrow('no webhook signature verifies');
    await expect(verifyWebhook(req, { secret: `whsec_${Buffer.alloc(32, 1).toString('base64')}` })).rejects.toThrow();
    const ts = Number(req.headers['webhook-timestamp']) * 1000;
    await expect(verifyWebhook(req, { secret, now: () => ts + 301_000 })).rejects.toThrow('tolerance');
    await expect(verifyWebhook(req, { secret, now: () => ts - 301_000 })).rejects.toThrow('tolerance');
    await expect(verifyWebhook(req, { secret, now: () => ts + 299_000 })).resolves.toMatchObject({ type: 'member.role_changed' });
    const onlyV1a = {
      ...req,
      headers: {
        ...req.headers,
        'webhook-signature': req.headers['webhook-signature']
          .split(' ')
          .filter((s) => s.startsWith('v1a'))
          .join(' '),
      },
    };
    await expect(verifyWebhook(onlyV1a, { secret })).rejects.toThrow(); // v1a is not an HMAC: a secret alone cannot accept it
    const otherId = { ...req, headers: { ...req.headers, 'webhook-id': crypto.randomUUID() } };
    await expect(verifyWebhook(otherId, { secret })).rejects.toThrow();
  });

  it('a verified delivery fed to the revocation cache refuses the member’s earlier tokens at once', async () => {
    const cache = new RevocationCache();
    const event = await verifyWebhook(asRequest(delivered), { secret });
    const at = Math.floor(Date.parse(event.timestamp) / 1000);
    expect(cache.apply(event)).toBe(true);
    expect(cache.isRevoked(memberPrincipal(o.member.id, o.id, at - 1))).toBe(true);
    expect(cache.isRevoked(memberPrincipal(o.member.id, o.id, at + 1))).toBe(false);
    expect(cache.isRevoked(memberPrincipal(o.admin.id, o.id, at - 1))).toBe(false);
  });

  it('the pull consumer reads GET /v1/events from its cursor, in order, and resumes where it stopped', async () => {
    const seen: TenantryEvent[] = [];
    const cache = new RevocationCache();
    const consumer = new EventConsumer({
      baseUrl: base,
      token: () => admin,
      types: REVOKING_EVENT_TYPES,
      limit: 1,
      onEvent: (e) => {
        seen.push(e);
        cache.apply(e);
      },
    });
    await consumer.poll();
    const mine = seen.filter((e) => e.organization_id === o.id);
    expect(mine.map((e) => e.type)).toEqual(['member.role_changed']);
    const removed = await authed(t.app, 'DELETE', `/v1/organizations/${o.id}/members/${o.admin.id}`, o.owner.access);
    expect(removed.statusCode).toBe(204);
    const before = seen.length;
    expect(await consumer.poll()).toBeGreaterThanOrEqual(1);
    const next = seen.slice(before).filter((e) => e.organization_id === o.id);
    expect(next.map((e) => e.type)).toContain('member.removed');
    expect(seen.map((e) => e.id)).toEqual([...new Set(seen.map((e) => e.id))]); // no event twice
    const removal = next.find((e) => e.type === 'member.removed')!;
    expect(cache.isRevoked(memberPrincipal(o.admin.id, o.id, Math.floor(Date.parse(removal.timestamp) / 1000) - 1))).toBe(true);
    expect(await consumer.poll()).toBe(0);
    expect(consumer.cursor).toBeTruthy();
  });
});
