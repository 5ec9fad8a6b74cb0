import type { TenantryEvent } from '@tenantry/sdk';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withTenant } from '../src/db/tenant-context.js';
import { record } from '../src/modules/audit/audit.js';
import { WebhookDeliverer } from '../src/modules/events/deliverer.js';
import { loadWebhookKey } from '../src/modules/events/signing.js';
import { ensurePlatformAdmin } from '../src/modules/identity/identity.service.js';
import { startApp, type TestApp } from './helpers/app.js';
import { ENGINES } from './helpers/db.js';
import { orgWithRoles } from './helpers/orgs.js';
import { authed, PASSWORD, refreshToken } from './helpers/users.js';

describe.each(ENGINES)('events from the transactional outbox (%s)', (engine) => {
  let t: TestApp;
  let admin: { id: string; access: string };

  beforeAll(async () => {
    t = await startApp(engine);
    const email = 'events-admin@platform.example';
    const id = await ensurePlatformAdmin(t.db, email, PASSWORD);
    const login = await t.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email, password: PASSWORD } });
    admin = { id, access: login.json().access_token };
  });
  afterAll(() => t.close());

  const req = (method: string, url: string, token: string, payload?: unknown) => authed(t.app, method, url, token, payload);
  const orgEvents = async (orgId: string, token: string, query = ''): Promise<TenantryEvent[]> => {
    const res = await req('GET', `/v1/organizations/${orgId}/events?limit=500${query}`, token);
    expect(res.statusCode).toBe(200);
    return res.json().data;
  };

  it('emits one event per committed change, with ids and before/after values, valid against its published schema', async () => {
    const o = await orgWithRoles(t.app, t.db, 'Evented Ltd');
    expect((await req('PATCH', `/v1/organizations/${o.id}`, o.owner.access, { name: 'Evented Group', size: '11-50' })).statusCode).toBe(
      200,
    );
    expect((await req('PATCH', `/v1/organizations/${o.id}/members/${o.member.id}`, o.admin.access, { role: 'viewer' })).statusCode).toBe(
      200,
    );
    const inv = (
      await req('POST', `/v1/organizations/${o.id}/invitations`, o.admin.access, { email: 'guest@example.com', role: 'member' })
    ).json();
    expect((await req('DELETE', `/v1/organizations/${o.id}/invitations/${inv.id}`, o.admin.access)).statusCode).toBe(204);
    expect((await req('DELETE', `/v1/organizations/${o.id}/members/${o.viewer.id}`, o.owner.access)).statusCode).toBe(204);
    // The admin's session scoped to the organization ends at logout: session.revoked.
    const scoped = (await refreshToken(t.app, o.admin.refresh, { organization_id: o.id })).json();
    expect((await t.app.inject({ method: 'POST', url: '/oauth/revoke', payload: { token: scoped.refresh_token } })).statusCode).toBe(200);
    expect((await req('POST', `/v1/organizations/${o.id}/suspend`, admin.access)).statusCode).toBe(200);

    const events = await orgEvents(o.id, admin.access);
    expect(events.map((e) => e.type)).toEqual([
      'organization.created',
      'organization.updated',
      'member.role_changed',
      'invitation.created',
      'invitation.revoked',
      'member.removed',
      'session.revoked',
      'organization.suspended',
    ]);
    const byType = Object.fromEntries(events.map((e) => [e.type, e]));
    expect(byType['member.role_changed']!).toMatchObject({
      organization_id: o.id,
      actor: { type: 'user', id: o.admin.id },
      data: { user_id: o.member.id, from: 'member', to: 'viewer' },
    });
    expect(byType['member.removed']!.data).toEqual({ user_id: o.viewer.id, role: 'viewer', left: false });
    expect(byType['organization.updated']!.data).toEqual({
      fields: ['name', 'size'],
      changes: { name: { from: 'Evented Ltd', to: 'Evented Group' }, size: { from: null, to: '11-50' } },
    });
    expect(byType['invitation.revoked']!.data).toEqual({ invitation_id: inv.id, email: 'guest@example.com', role: 'member' });
    expect(byType['session.revoked']!.data).toMatchObject({ user_id: o.admin.id, reason: 'logout' });
    expect(byType['organization.suspended']!).toMatchObject({
      actor: { type: 'platform_admin' },
      data: { from: 'active', to: 'suspended' },
    });

    // GET /v1/event-types: every type with a JSON Schema that the actual events satisfy.
    const types = (await t.app.inject({ method: 'GET', url: '/v1/event-types' })).json().data as Array<{ type: string; schema: object }>;
    expect(types.map((x) => x.type)).toEqual(expect.arrayContaining(['member.role_changed', 'session.revoked', 'organization.created']));
    const ajv = new Ajv2020.default({ strict: false });
    addFormats.default(ajv);
    for (const e of events) {
      const schema = types.find((x) => x.type === e.type)?.schema;
      expect(schema, e.type).toBeDefined();
      const validate = ajv.compile(schema!);
      expect(validate(e.data), `${e.type}: ${JSON.stringify(validate.errors)}`).toBe(true);
    }
    // The same schemas are components of the OpenAPI document.
    const doc = (await t.app.inject({ method: 'GET', url: '/docs/json' })).json();
    expect(JSON.stringify(doc.components.schemas)).toContain('member.role_changed data');
  });

  it('a rolled-back change emits nothing; a refused one neither', async () => {
    const o = await orgWithRoles(t.app, t.db);
    const before = (await orgEvents(o.id, o.owner.access)).length;
    await expect(
      withTenant(t.db, { orgId: o.id, userId: o.owner.id }, async (tx) => {
        await record(
          tx,
          { organizationId: o.id, actor: { type: 'user', id: o.owner.id }, meta: { ip: null, requestId: null } },
          {
            action: 'member.role_changed',
            target: { type: 'user', id: o.member.id },
            data: { from: 'member', to: 'admin' },
          },
        );
        throw new Error('the change fails after it was recorded');
      }),
    ).rejects.toThrow('the change fails');
    // The last owner cannot be demoted: 409, nothing emitted.
    expect((await req('PATCH', `/v1/organizations/${o.id}/members/${o.owner.id}`, o.owner.access, { role: 'admin' })).statusCode).toBe(409);
    expect((await orgEvents(o.id, o.owner.access)).length).toBe(before);
  });

  it('the organization’s events are for admins and owners; every organization’s for platform admins only', async () => {
    const a = await orgWithRoles(t.app, t.db);
    const b = await orgWithRoles(t.app, t.db);
    expect((await req('GET', `/v1/organizations/${a.id}/events`, a.member.access)).statusCode).toBe(403);
    expect((await req('GET', `/v1/organizations/${a.id}/events`, b.owner.access)).statusCode).toBe(404);
    expect((await req('GET', '/v1/events', a.owner.access)).statusCode).toBe(403);
    const own = await orgEvents(a.id, a.admin.access);
    expect(own.every((e) => e.organization_id === a.id)).toBe(true);
    const all = (await req('GET', '/v1/events?limit=500&types=organization.created', admin.access)).json().data as TenantryEvent[];
    const orgs = all.map((e) => e.organization_id);
    expect(orgs).toEqual(expect.arrayContaining([a.id, b.id]));
    expect(all.every((e) => e.type === 'organization.created')).toBe(true);
  });

  it('pages in commit order by after= (an event id or next_after), with nothing skipped or repeated', async () => {
    const o = await orgWithRoles(t.app, t.db);
    for (const role of ['viewer', 'member', 'admin', 'viewer', 'member'] as const) {
      await req('PATCH', `/v1/organizations/${o.id}/members/${o.member.id}`, o.owner.access, { role });
    }
    const everything = await orgEvents(o.id, o.owner.access);
    const seen: string[] = [];
    let after: string | null = null;
    for (let i = 0; i < 10; i++) {
      const res = await req('GET', `/v1/organizations/${o.id}/events?limit=2${after ? `&after=${after}` : ''}`, o.owner.access);
      const body = res.json();
      seen.push(...body.data.map((e: TenantryEvent) => e.id));
      // Alternate the two forms of the cursor.
      after = i % 2 === 0 ? body.next_after : (body.data.at(-1)?.id ?? body.next_after);
      if (!body.has_more) break;
    }
    expect(seen).toEqual(everything.map((e) => e.id));
    expect(new Set(seen).size).toBe(seen.length);
    const roles = everything.filter((e) => e.type === 'member.role_changed').map((e) => e.data.to);
    expect(roles).toEqual(['viewer', 'member', 'admin', 'viewer', 'member']);
    expect((await req('GET', `/v1/organizations/${o.id}/events?after=not-a-cursor`, o.owner.access)).statusCode).toBe(400);
  });

  it('the events table is tenant-isolated: no tenant sees nothing, another tenant sees and writes nothing', async () => {
    const a = await orgWithRoles(t.app, t.db);
    const b = await orgWithRoles(t.app, t.db);
    const count = (tx: Parameters<Parameters<typeof withTenant>[2]>[0], orgId: string) =>
      tx
        .selectFrom('events')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('organization_id', '=', orgId)
        .executeTakeFirstOrThrow()
        .then((r) => Number(r.n));
    expect(await withTenant(t.db, { orgId: a.id, userId: a.owner.id }, (tx) => count(tx, a.id))).toBeGreaterThan(0);
    expect(await withTenant(t.db, { orgId: b.id, userId: b.owner.id }, (tx) => count(tx, a.id))).toBe(0);
    // The application role with no organization set reads nothing.
    const none = await t.db.kysely.transaction().execute(async (tx) => {
      await sql`select set_config('role', 'tenantry_app', true), set_config('app.org_id', '', true)`.execute(tx);
      return count(tx, a.id);
    });
    expect(none).toBe(0);
    // User-level work (no tenant) reads none: its role reads events only as a tool (sql/policies/events.sql).
    expect(await withTenant(t.db, { orgId: null, userId: a.owner.id }, (tx) => count(tx, a.id))).toBe(0);
    // Writing another tenant's event is refused by the policy.
    await expect(
      withTenant(t.db, { orgId: b.id, userId: b.owner.id }, (tx) =>
        tx
          .insertInto('events')
          .values({
            organization_id: a.id,
            id: crypto.randomUUID(),
            type: 'member.removed',
            actor_type: 'user',
            actor_id: null,
            data: '{}',
          })
          .execute(),
      ),
    ).rejects.toThrow(/row-level security/);
  });

  it('retention: events older than EVENT_RETENTION_DAYS are deleted in batches', async () => {
    const o = await orgWithRoles(t.app, t.db);
    for (const role of ['viewer', 'member', 'admin'] as const) {
      await req('PATCH', `/v1/organizations/${o.id}/members/${o.member.id}`, o.owner.access, { role });
    }
    // Age this organization's events past the retention period (the test connects as a superuser).
    await sql`update events set occurred_at = now() - interval '31 days' where organization_id = ${o.id}`.execute(t.db.kysely);
    const keep = await orgWithRoles(t.app, t.db);
    const worker = new WebhookDeliverer(t.db, await loadWebhookKey(t.db.kysely), t.app.log, undefined, {
      allowPrivate: false,
      retentionDays: 30,
    });
    expect(await worker.deleteExpired(2)).toBeGreaterThanOrEqual(4);
    expect(await orgEvents(o.id, o.owner.access)).toEqual([]);
    expect((await orgEvents(keep.id, keep.owner.access)).length).toBe(1);
  });
});

describe.runIf(process.env.TEST_DATABASE_URL)('event paging under concurrent commits (postgres)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp('postgres');
  });
  afterAll(() => t.close());

  it('an event whose transaction commits after a later one is not skipped by a reader paging meanwhile', async () => {
    // Audit events of one organization are chained, so its writers commit in turn; transactions
    // of two organizations commit in any order, and the horizon is the database's, not one
    // organization's: the later commit in `o` waits behind the open transaction in `slowOrg`.
    const o = await orgWithRoles(t.app, t.db);
    const slowOrg = await orgWithRoles(t.app, t.db);
    const byIn = (org: typeof o) => ({
      organizationId: org.id,
      actor: { type: 'user' as const, id: org.owner.id },
      meta: { ip: null, requestId: null },
    });
    const list = async (after: string | null) =>
      (
        await authed(t.app, 'GET', `/v1/organizations/${o.id}/events?limit=100${after ? `&after=${after}` : ''}`, o.owner.access)
      ).json() as {
        data: TenantryEvent[];
        next_after: string | null;
      };
    const start = await list(null);
    let release!: () => void;
    const held = new Promise<void>((r) => {
      release = r;
    });
    let written!: () => void;
    const wrote = new Promise<void>((r) => {
      written = r;
    });
    // The slow transaction writes its event first, and commits last.
    const slow = withTenant(t.db, { orgId: slowOrg.id, userId: slowOrg.owner.id }, async (tx) => {
      await record(tx, byIn(slowOrg), {
        action: 'member.role_changed',
        target: { type: 'user', id: slowOrg.member.id },
        data: { from: 'member', to: 'viewer' },
      });
      written();
      await held;
    });
    await wrote;
    await withTenant(t.db, { orgId: o.id, userId: o.owner.id }, (tx) =>
      record(tx, byIn(o), {
        action: 'member.role_changed',
        target: { type: 'user', id: o.member.id },
        data: { from: 'viewer', to: 'admin' },
      }),
    );
    // While the slow one is open, the later commit is held back, so no cursor can pass the slow one's event.
    const during = await list(start.next_after);
    expect(during.data).toEqual([]);
    release();
    await slow;
    const after = await list(during.next_after);
    expect(after.data.map((e) => e.data.to)).toEqual(['admin']);
  });

  it('an open transaction in another database of the cluster does not hold events back', async () => {
    const o = await orgWithRoles(t.app, t.db);
    const other = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL });
    await other.connect();
    try {
      await other.query('begin');
      await other.query('select pg_current_xact_id()');
      await authed(t.app, 'PATCH', `/v1/organizations/${o.id}/members/${o.member.id}`, o.owner.access, { role: 'viewer' });
      const events = (await authed(t.app, 'GET', `/v1/organizations/${o.id}/events?types=member.role_changed`, o.owner.access)).json().data;
      expect(events).toHaveLength(1);
    } finally {
      await other.query('rollback');
      await other.end();
    }
  });
});
