import { createPublicKey, verify } from 'node:crypto';
import { sql } from 'kysely';
import { Webhook } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { keysRotate } from '../src/cli/commands.js';
import { testConfig } from '../src/config.js';
import { openDatabase } from '../src/db/database.js';
import { retryDelaySeconds, WebhookDeliverer } from '../src/modules/events/deliverer.js';
import { loadWebhookKey } from '../src/modules/events/signing.js';
import { isRefusedAddress } from '../src/modules/events/ssrf.js';
import { ensurePlatformAdmin } from '../src/modules/identity/identity.service.js';
import { startApp, type TestApp } from './helpers/app.js';
import { ENGINES } from './helpers/db.js';
import { type OrgWithRoles, orgWithRoles } from './helpers/orgs.js';
import { authed, PASSWORD } from './helpers/users.js';
import { header, type Received, startReceiver } from './helpers/webhook-receiver.js';

type Receiver = Awaited<ReturnType<typeof startReceiver>>;

const headersOf = (r: Received) => ({
  'webhook-id': header(r, 'webhook-id'),
  'webhook-timestamp': header(r, 'webhook-timestamp'),
  'webhook-signature': header(r, 'webhook-signature'),
});

describe.each(ENGINES)('webhooks (%s)', (engine) => {
  let t: TestApp;
  let admin: string;
  let receiver: Receiver;
  let worker: WebhookDeliverer;
  let o: OrgWithRoles;

  beforeAll(async () => {
    t = await startApp(engine, { webhookAllowPrivate: true });
    const email = 'hooks-admin@platform.example';
    await ensurePlatformAdmin(t.db, email, PASSWORD);
    admin = (await t.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email, password: PASSWORD } })).json().access_token;
    receiver = await startReceiver();
    const key = await loadWebhookKey(t.db.kysely);
    // No jitter, so the retry schedule is exact in assertions.
    worker = new WebhookDeliverer(t.db, key, t.app.log, t.app.services.webhookMetrics, {
      allowPrivate: true,
      retentionDays: 30,
      jitter: () => 0,
    });
    o = await orgWithRoles(t.app, t.db);
  });
  afterEach(async () => {
    // Each test's endpoints and deliveries end with it (the test connects as a superuser).
    await sql`delete from webhook_endpoints`.execute(t.db.kysely);
    receiver.received.length = 0;
    receiver.answer(() => ({ status: 200 }));
    receiver.resetReused(false);
  });
  afterAll(async () => {
    await worker.stop();
    await receiver.close();
    await t.close();
  });

  const req = (method: string, url: string, payload?: unknown) => authed(t.app, method, url, admin, payload);
  const createEndpoint = async (types = ['member.role_changed']) => {
    const res = await req('POST', '/v1/webhook-endpoints', { url: receiver.url, event_types: types });
    expect(res.statusCode).toBe(201);
    return res.json() as { id: string; secret: string; status: string };
  };
  const changeRole = async (role: 'viewer' | 'member' | 'admin') =>
    expect((await authed(t.app, 'PATCH', `/v1/organizations/${o.id}/members/${o.member.id}`, o.owner.access, { role })).statusCode).toBe(
      200,
    );
  const endpointOf = async (id: string) => (await req('GET', `/v1/webhook-endpoints/${id}`)).json();
  const deliveriesOf = async (id: string) => (await req('GET', `/v1/webhook-endpoints/${id}/deliveries?limit=100`)).json().data;
  const dueNow = (endpointId: string) =>
    sql`update webhook_deliveries set next_attempt_at = now() where endpoint_id = ${endpointId} and status = 'pending'`.execute(
      t.db.kysely,
    );

  it('delivers each change signed v1 (standard-webhooks) and v1a (Ed25519, published keys), webhook-id = event id', async () => {
    const ep = await createEndpoint();
    expect(ep.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(ep.status).toBe('enabled');
    expect((await req('GET', `/v1/webhook-endpoints/${ep.id}`)).json()).not.toHaveProperty('secret');
    await changeRole('viewer');
    await worker.runOnce();
    expect(receiver.received).toHaveLength(1);
    const r = receiver.received[0]!;
    const payload = new Webhook(ep.secret).verify(r.body, headersOf(r)) as { id: string; type: string; data: object };
    expect(payload).toMatchObject({
      type: 'member.role_changed',
      organization_id: o.id,
      data: { user_id: o.member.id, from: 'member', to: 'viewer' },
    });
    expect(header(r, 'webhook-id')).toBe(payload.id);
    const pulled = (await authed(t.app, 'GET', `/v1/organizations/${o.id}/events?types=member.role_changed`, o.owner.access)).json().data;
    expect(pulled.at(-1)).toEqual(payload);
    // v1a: Ed25519 over id.timestamp.body with a key from /.well-known/webhook-keys.json.
    const keys = (await t.app.inject({ method: 'GET', url: '/.well-known/webhook-keys.json' })).json().keys as Array<{ jwk: object }>;
    const v1a = header(r, 'webhook-signature')
      .split(' ')
      .filter((s) => s.startsWith('v1a,'))
      .map((s) => s.slice(4));
    expect(v1a).toHaveLength(1);
    const content = Buffer.from(`${header(r, 'webhook-id')}.${header(r, 'webhook-timestamp')}.${r.body}`);
    const ok = keys.some((k) =>
      verify(null, content, createPublicKey({ key: k.jwk as never, format: 'jwk' }), Buffer.from(v1a[0]!, 'base64')),
    );
    expect(ok).toBe(true);
    // A tampered body fails both.
    expect(() => new Webhook(ep.secret).verify(r.body.replace('viewer', 'owner'), headersOf(r))).toThrow();
    expect((await deliveriesOf(ep.id))[0]).toMatchObject({ status: 'delivered', attempts: 1, last_status_code: 200 });
    const metrics = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toMatch(/webhook_deliveries_total\{outcome="delivered"\} [1-9]/);
    expect(metrics).toMatch(/webhook_delivery_duration_seconds_count [1-9]/);
    expect(metrics).toMatch(/webhook_outbox_lag_seconds 0/);
    await req('DELETE', `/v1/webhook-endpoints/${ep.id}`);
  });

  it('after a rotation of the v1a key, deliveries are signed with the new key and the keys document serves both', async () => {
    const ep = await createEndpoint();
    const before = (await loadWebhookKey(t.db.kysely)).kid;
    const printed: string[] = [];
    expect(await keysRotate(t.db, { out: (s) => printed.push(s), err: () => undefined }, 'webhooks')).toBe(0);
    const after = printed.join('').trim();
    expect(after).not.toBe(before);
    // keyReloadMs 0: the worker reads the current key at every run.
    const rotating = new WebhookDeliverer(t.db, await loadWebhookKey(t.db.kysely), t.app.log, undefined, {
      allowPrivate: true,
      retentionDays: 30,
      keyReloadMs: 0,
    });
    try {
      await changeRole('admin');
      await rotating.runOnce();
    } finally {
      await rotating.stop();
    }
    const doc = (await t.app.inject({ method: 'GET', url: '/.well-known/webhook-keys.json' })).json().keys as Array<{
      kid: string;
      jwk: object;
      retired: boolean;
    }>;
    expect(doc.find((k) => k.kid === after)).toMatchObject({ retired: false });
    expect(doc.find((k) => k.kid === before)).toMatchObject({ retired: true });
    const r = receiver.received.at(-1)!;
    const v1a = header(r, 'webhook-signature')
      .split(' ')
      .find((s) => s.startsWith('v1a,'))!
      .slice(4);
    const content = Buffer.from(`${header(r, 'webhook-id')}.${header(r, 'webhook-timestamp')}.${r.body}`);
    const verifiesWith = (kid: string) =>
      verify(
        null,
        content,
        createPublicKey({ key: doc.find((k) => k.kid === kid)!.jwk as never, format: 'jwk' }),
        Buffer.from(v1a, 'base64'),
      );
    expect(verifiesWith(after)).toBe(true);
    expect(verifiesWith(before)).toBe(false);
    await req('DELETE', `/v1/webhook-endpoints/${ep.id}`);
    await changeRole('viewer'); // as the test before left it
  });

  it('retries keep the webhook-id; the schedule starts at 5 s; Retry-After is honoured instead', async () => {
    const ep = await createEndpoint();
    receiver.answer(() => ({ status: 500 }));
    await changeRole('member');
    await worker.runOnce();
    let [d] = await deliveriesOf(ep.id);
    expect(d).toMatchObject({ status: 'pending', attempts: 1, last_status_code: 500 });
    expect(new Date(d.next_attempt_at).getTime() - new Date(d.last_attempt_at).getTime()).toBeGreaterThanOrEqual(4_900);
    expect((await endpointOf(ep.id)).status).toBe('failing');
    // Not due yet: running the worker sends nothing.
    await worker.runOnce();
    expect(receiver.received).toHaveLength(1);

    receiver.answer(() => ({ status: 503, headers: { 'retry-after': '120' } }));
    await dueNow(ep.id);
    await worker.runOnce();
    [d] = await deliveriesOf(ep.id);
    const wait = new Date(d.next_attempt_at).getTime() - new Date(d.last_attempt_at).getTime();
    expect(wait).toBeGreaterThanOrEqual(119_000);
    expect(wait).toBeLessThan(125_000);

    receiver.answer(() => ({ status: 204 }));
    await dueNow(ep.id);
    await worker.runOnce();
    expect(receiver.received).toHaveLength(3);
    expect(new Set(receiver.received.map((r) => header(r, 'webhook-id'))).size).toBe(1);
    expect((await deliveriesOf(ep.id))[0]).toMatchObject({ status: 'delivered', attempts: 3 });
    expect((await endpointOf(ep.id)).status).toBe('enabled');
    expect(retryDelaySeconds(6, null, () => 0)).toBe(36_000);
    expect(retryDelaySeconds(7, null, () => 0)).toBeNull();
    expect(retryDelaySeconds(1, 7200, () => 0)).toBe(3600);
    await req('DELETE', `/v1/webhook-endpoints/${ep.id}`);
  });

  it('a receiver that closed an idle keep-alive connection as a delivery went out on it gets the delivery at once on a new one', async () => {
    const ep = await createEndpoint();
    await changeRole('admin');
    await worker.runOnce();
    expect(receiver.received).toHaveLength(1);
    // The worker keeps that connection for the next delivery; the receiver resets it unanswered.
    receiver.resetReused(true);
    await changeRole('member');
    await worker.runOnce();
    expect(receiver.received).toHaveLength(3);
    expect(header(receiver.received[2]!, 'webhook-id')).toBe(header(receiver.received[1]!, 'webhook-id'));
    // One attempt each, in order: the reset cost no retry, and the later event did not overtake it.
    const deliveries = await deliveriesOf(ep.id);
    expect(deliveries.map((d: { status: string; attempts: number }) => [d.status, d.attempts])).toEqual([
      ['delivered', 1],
      ['delivered', 1],
    ]);
    await req('DELETE', `/v1/webhook-endpoints/${ep.id}`);
  });

  it('410 Gone disables the endpoint with its reason; later events are not sent', async () => {
    const ep = await createEndpoint();
    receiver.answer(() => ({ status: 410 }));
    await changeRole('viewer');
    await worker.runOnce();
    expect(await endpointOf(ep.id)).toMatchObject({ status: 'disabled', disabled_reason: expect.stringContaining('410') });
    expect((await deliveriesOf(ep.id))[0]).toMatchObject({ status: 'failed', last_status_code: 410 });
    receiver.answer(() => ({ status: 200 }));
    await changeRole('member');
    await worker.runOnce();
    expect(receiver.received).toHaveLength(1);
    await req('DELETE', `/v1/webhook-endpoints/${ep.id}`);
  });

  it('an endpoint failing for three days is disabled and says why', async () => {
    const ep = await createEndpoint();
    receiver.answer(() => ({ status: 500 }));
    await changeRole('admin');
    await worker.runOnce();
    expect((await endpointOf(ep.id)).status).toBe('failing');
    await sql`update webhook_endpoints set failing_since = now() - interval '3 days 1 minute' where id = ${ep.id}`.execute(t.db.kysely);
    await dueNow(ep.id);
    await worker.runOnce();
    expect(await endpointOf(ep.id)).toMatchObject({
      status: 'disabled',
      disabled_reason: expect.stringMatching(/failed for 3 days.*HTTP 500/),
    });
    // Enabling it again clears the record.
    receiver.answer(() => ({ status: 200 }));
    expect((await req('PATCH', `/v1/webhook-endpoints/${ep.id}`, { status: 'enabled' })).json()).toMatchObject({
      status: 'enabled',
      disabled_reason: null,
    });
    await dueNow(ep.id);
    await worker.runOnce();
    expect((await deliveriesOf(ep.id))[0]).toMatchObject({ status: 'delivered' });
    await req('DELETE', `/v1/webhook-endpoints/${ep.id}`);
  });

  it('replay re-sends a period’s events with the same webhook-id; retry re-sends one delivery', async () => {
    const ep = await createEndpoint();
    await changeRole('viewer');
    await changeRole('member');
    await worker.runOnce();
    const first = receiver.received.map((r) => header(r, 'webhook-id'));
    expect(first).toHaveLength(2);
    const since = JSON.parse(receiver.received[0]!.body).timestamp;
    const replayed = await req('POST', `/v1/webhook-endpoints/${ep.id}/replay`, { since });
    expect(replayed.statusCode).toBe(202);
    expect(replayed.json().replayed).toBe(2);
    await worker.runOnce();
    expect(receiver.received.slice(2).map((r) => header(r, 'webhook-id'))).toEqual(first);
    const [latest] = await deliveriesOf(ep.id);
    const retried = await req('POST', `/v1/webhook-endpoints/${ep.id}/deliveries/${latest.id}/retry`);
    expect(retried.statusCode).toBe(202);
    await worker.runOnce();
    expect(header(receiver.received.at(-1)!, 'webhook-id')).toBe(latest.event_id);
    // The delivery log pages newest first, each delivery once.
    const seen: string[] = [];
    let cursor = '';
    for (let i = 0; i < 5; i++) {
      const p = (await req('GET', `/v1/webhook-endpoints/${ep.id}/deliveries?limit=1${cursor}`)).json();
      seen.push(...p.data.map((d: { id: string }) => d.id));
      if (!p.next_cursor) break;
      cursor = `&cursor=${p.next_cursor}`;
    }
    expect(seen).toEqual((await deliveriesOf(ep.id)).map((d: { id: string }) => d.id));
    expect(seen).toHaveLength(4);
    await req('DELETE', `/v1/webhook-endpoints/${ep.id}`);
  });

  it('after rotate-secret both the new and the old secret verify (the old one for 24 h)', async () => {
    const ep = await createEndpoint();
    const rotated = await req('POST', `/v1/webhook-endpoints/${ep.id}/rotate-secret`);
    expect(rotated.statusCode).toBe(200);
    const { secret } = rotated.json();
    expect(secret).not.toBe(ep.secret);
    await changeRole('viewer');
    await worker.runOnce();
    const r = receiver.received[0]!;
    expect(
      header(r, 'webhook-signature')
        .split(' ')
        .filter((s) => s.startsWith('v1,')),
    ).toHaveLength(2);
    expect(new Webhook(secret).verify(r.body, headersOf(r))).toBeTruthy();
    expect(new Webhook(ep.secret).verify(r.body, headersOf(r))).toBeTruthy();
    await req('DELETE', `/v1/webhook-endpoints/${ep.id}`);
  });

  it('endpoint management is for platform admins; bodies are validated', async () => {
    expect(
      (await authed(t.app, 'POST', '/v1/webhook-endpoints', o.owner.access, { url: receiver.url, event_types: ['member.removed'] }))
        .statusCode,
    ).toBe(403);
    expect((await authed(t.app, 'GET', '/v1/webhook-endpoints', o.owner.access)).statusCode).toBe(403);
    expect((await req('POST', '/v1/webhook-endpoints', { url: receiver.url, event_types: ['no.such_type'] })).statusCode).toBe(400);
    expect((await req('POST', '/v1/webhook-endpoints', { url: 'ftp://example.com/x', event_types: ['member.removed'] })).statusCode).toBe(
      400,
    );
    expect((await req('GET', `/v1/webhook-endpoints/${crypto.randomUUID()}`)).statusCode).toBe(404);
  });
});

describe.each(ENGINES)('webhook SSRF guard (%s)', (engine) => {
  let t: TestApp;
  let admin: string;
  beforeAll(async () => {
    t = await startApp(engine);
    const email = 'ssrf-admin@platform.example';
    await ensurePlatformAdmin(t.db, email, PASSWORD);
    admin = (await t.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email, password: PASSWORD } })).json().access_token;
  });
  afterAll(() => t.close());

  it.each([
    'http://127.0.0.1/hook',
    'http://[::1]/hook',
    'http://169.254.169.254/latest/meta-data',
    'http://localhost:8080/hook',
    'http://10.1.2.3/hook',
    'http://[::ffff:127.0.0.1]/hook',
    'http://0.0.0.0/hook',
  ])('SSRF: refuses %s without WEBHOOK_ALLOW_PRIVATE', async (url) => {
    const res = await authed(t.app, 'POST', '/v1/webhook-endpoints', admin, { url, event_types: ['member.removed'] });
    expect(res.statusCode).toBe(400);
    expect(res.json().errors[0]).toMatchObject({ path: '/body/url' });
  });

  it('SSRF: a delivery to an address that became private is refused at send time', async () => {
    const receiver = await startReceiver();
    try {
      // Registered while allowed (written directly), delivered by a worker that is not.
      await sql`insert into webhook_endpoints (id, url, event_types, secret) values (${crypto.randomUUID()}, ${receiver.url}, ${['member.role_changed']}, 'whsec_AAAA')`.execute(
        t.db.kysely,
      );
      const o = await orgWithRoles(t.app, t.db);
      await authed(t.app, 'PATCH', `/v1/organizations/${o.id}/members/${o.member.id}`, o.owner.access, { role: 'viewer' });
      const worker = new WebhookDeliverer(t.db, await loadWebhookKey(t.db.kysely), t.app.log, undefined, {
        allowPrivate: false,
        retentionDays: 30,
      });
      await worker.runOnce();
      await worker.stop();
      expect(receiver.received).toHaveLength(0);
      const { rows } = await sql<{ last_error: string }>`select last_error from webhook_deliveries`.execute(t.db.kysely);
      expect(rows[0]!.last_error).toMatch(/127\.0\.0\.1/);
    } finally {
      await receiver.close();
    }
  });

  it('SSRF: classifies private, loopback, link-local, unspecified, multicast and IPv4-mapped addresses', () => {
    for (const a of [
      '127.0.0.1',
      '10.0.0.1',
      '172.16.5.4',
      '192.168.1.1',
      '169.254.169.254',
      '0.0.0.0',
      '224.0.0.1',
      '100.64.0.1',
      '::1',
      '::',
      'fe80::1',
      'fc00::1',
      'ff02::1',
      '::ffff:127.0.0.1',
      '::ffff:a9fe:a9fe',
      '::ffff:10.0.0.1',
    ]) {
      expect(isRefusedAddress(a), a).toBe(true);
    }
    for (const a of ['93.184.216.34', '8.8.8.8', '2606:4700::1111', '::ffff:8.8.8.8']) expect(isRefusedAddress(a), a).toBe(false);
  });
});

describe.runIf(process.env.TEST_DATABASE_URL)('webhooks from two instances (postgres)', () => {
  let t: TestApp;
  it('two deliverers on separate pools deliver each event once per endpoint, each organization in order', async () => {
    t = await startApp('postgres', { webhookAllowPrivate: true });
    const receiver = await startReceiver();
    const second = await openDatabase({ url: t.url, pool: testConfig().db });
    try {
      const email = 'two-admin@platform.example';
      await ensurePlatformAdmin(t.db, email, PASSWORD);
      const admin = (await t.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email, password: PASSWORD } })).json()
        .access_token;
      for (const path of ['a', 'b']) {
        const url = `${receiver.url}/${path}`;
        expect(
          (await authed(t.app, 'POST', '/v1/webhook-endpoints', admin, { url, event_types: ['member.role_changed'] })).statusCode,
        ).toBe(201);
      }
      const orgs = [await orgWithRoles(t.app, t.db), await orgWithRoles(t.app, t.db)];
      const roles = ['viewer', 'member', 'admin', 'viewer', 'member', 'admin', 'viewer', 'member'] as const;
      for (const role of roles) {
        for (const o of orgs) await authed(t.app, 'PATCH', `/v1/organizations/${o.id}/members/${o.member.id}`, o.owner.access, { role });
      }
      const key = await loadWebhookKey(t.db.kysely);
      const a = new WebhookDeliverer(t.db, key, t.app.log, undefined, { allowPrivate: true, retentionDays: 30, batchSize: 3 });
      const b = new WebhookDeliverer(second, key, t.app.log, undefined, { allowPrivate: true, retentionDays: 30, batchSize: 3 });
      await Promise.all([a.runOnce(), b.runOnce(), a.runOnce(), b.runOnce()]);
      await Promise.all([a.runOnce(), b.runOnce()]);
      await Promise.all([a.stop(), b.stop()]);
      // 2 endpoints x 2 organizations x 8 changes, each exactly once.
      expect(receiver.received).toHaveLength(32);
      const perEndpointAndId = new Set(receiver.received.map((r) => `${r.path}|${header(r, 'webhook-id')}`));
      expect(perEndpointAndId.size).toBe(32);
      const ids = receiver.received.map((r) => header(r, 'webhook-id'));
      for (const id of new Set(ids)) expect(ids.filter((x) => x === id)).toHaveLength(2);
      // Per endpoint and organization, the roles arrive in the order they were set.
      for (const o of orgs) {
        const seq = receiver.received.map((r) => ({ path: r.path, e: JSON.parse(r.body) })).filter((x) => x.e.organization_id === o.id);
        for (const path of ['/hooks/a', '/hooks/b']) {
          expect(seq.filter((x) => x.path === path).map((x) => x.e.data.to)).toEqual([...roles]);
        }
      }
    } finally {
      await second.close();
      await receiver.close();
      await t.close();
    }
  });
});
