import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IdempotencyExpiry } from '../src/modules/idempotency/idempotency.js';
import { startApp, type TestApp } from './helpers/app.js';
import { ENGINES } from './helpers/db.js';
import { createOrg } from './helpers/orgs.js';
import { bearer, PASSWORD, signupUser } from './helpers/users.js';

describe.each(ENGINES)('Idempotency-Key (%s)', (engine) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp(engine);
  });
  afterAll(() => t.close());

  const post = (url: string, token: string, key: string | undefined, payload: object) =>
    t.app.inject({ method: 'POST', url, headers: { ...bearer(token), ...(key ? { 'idempotency-key': key } : {}) }, payload });
  const orgCount = async (userId: string) =>
    Number(
      (await sql<{ n: number }>`select count(*)::int as n from memberships where user_id = ${userId}`.execute(t.db.kysely)).rows[0]!.n,
    );
  const recordCount = async () =>
    Number((await sql<{ n: number }>`select count(*)::int as n from idempotency_records`.execute(t.db.kysely)).rows[0]!.n);

  it('a retry with the same key and body returns the original 201 and creates nothing new', async () => {
    const u = await signupUser(t.app);
    const body = { name: 'Retry Co', industry: 'technology', metadata: { a: 1, b: 'x' } };
    const first = await post('/v1/organizations', u.access, 'key-1', body);
    expect(first.statusCode).toBe(201);
    // The same body with its keys in another order is the same request.
    const again = await post('/v1/organizations', u.access, 'key-1', {
      metadata: { b: 'x', a: 1 },
      industry: 'technology',
      name: 'Retry Co',
    });
    expect(again.statusCode).toBe(201);
    expect(again.body).toBe(first.body);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    expect(await orgCount(u.id)).toBe(1);
    const events = await t.app.inject({
      method: 'GET',
      url: `/v1/organizations/${first.json().id}/audit-events`,
      headers: bearer(u.access),
    });
    expect(events.json().data).toHaveLength(1);
  });

  it('the same key with another body is 422 IDEMPOTENCY_KEY_REUSED and creates nothing', async () => {
    const u = await signupUser(t.app);
    expect((await post('/v1/organizations', u.access, 'key-2', { name: 'One Co', industry: 'technology' })).statusCode).toBe(201);
    const other = await post('/v1/organizations', u.access, 'key-2', { name: 'Two Co', industry: 'technology' });
    expect(other.statusCode).toBe(422);
    expect(other.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(other.json()).toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED', status: 422 });
    expect(await orgCount(u.id)).toBe(1);
  });

  it("another principal's use of the same key is independent", async () => {
    const a = await signupUser(t.app);
    const b = await signupUser(t.app);
    const body = { name: 'Shared Key Co', industry: 'technology' };
    const ra = await post('/v1/organizations', a.access, 'shared-key', body);
    const rb = await post('/v1/organizations', b.access, 'shared-key', body);
    expect(ra.statusCode).toBe(201);
    expect(rb.statusCode).toBe(201);
    expect(rb.headers['idempotent-replayed']).toBeUndefined();
    expect(rb.json().id).not.toBe(ra.json().id);
    expect(await orgCount(b.id)).toBe(1);
  });

  it('covers invitations: the organization in the path is part of the request', async () => {
    const owner = await signupUser(t.app);
    const org1 = await createOrg(t.app, owner, { name: 'Inv One' });
    const org2 = await createOrg(t.app, owner, { name: 'Inv Two' });
    const body = { email: 'invitee@example.com', role: 'member' };
    const first = await post(`/v1/organizations/${org1.id}/invitations`, owner.access, 'inv-key', body);
    expect(first.statusCode).toBe(201);
    const again = await post(`/v1/organizations/${org1.id}/invitations`, owner.access, 'inv-key', body);
    expect(again.statusCode).toBe(201);
    expect(again.body).toBe(first.body);
    expect(again.headers['cache-control']).toBe('no-store');
    const elsewhere = await post(`/v1/organizations/${org2.id}/invitations`, owner.access, 'inv-key', body);
    expect(elsewhere.json()).toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED' });
  });

  it('a failed create stores nothing: the retry with its key runs again', async () => {
    const u = await signupUser(t.app);
    await createOrg(t.app, u, { name: 'Taken', slug: 'idem-taken-slug' });
    const before = await recordCount();
    const body = { name: 'Taken', slug: 'idem-taken-slug', industry: 'technology' };
    expect((await post('/v1/organizations', u.access, 'fails', body)).json()).toMatchObject({ code: 'SLUG_TAKEN' });
    expect(await recordCount()).toBe(before);
  });

  it('the OpenAPI document shows the header and its codes on every route that answers 201', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    const creating = Object.values(
      doc.paths as Record<
        string,
        Record<string, { operationId: string; responses: Record<string, unknown>; parameters?: Array<{ in: string; name: string }> }>
      >,
    )
      .flatMap((ops) => Object.values(ops))
      .filter((op) => '201' in op.responses);
    expect(creating.map((op) => op.operationId).sort()).toEqual(
      expect.arrayContaining(['createInvitation', 'createOrganization', 'signup']),
    );
    for (const op of creating) {
      expect(
        op.parameters?.some((p) => p.in === 'header' && p.name === 'idempotency-key'),
        op.operationId,
      ).toBe(true);
      const text = JSON.stringify(op.responses);
      expect(text, op.operationId).toContain(op.operationId === 'signup' ? 'IDEMPOTENCY_KEY_UNSUPPORTED' : 'IDEMPOTENCY_KEY_REUSED');
    }
  });

  it('refuses the header on signup, whose email uniqueness makes a retry safe', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/auth/signup',
      headers: { 'idempotency-key': 'signup-key' },
      payload: { email: `idem-${Date.now()}@example.com`, password: PASSWORD, name: 'Idem' },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'IDEMPOTENCY_KEY_UNSUPPORTED' });
  });

  it.each([[''], ['has space'], ['x'.repeat(256)]])('rejects the key %j with a 400', async (key) => {
    const u = await signupUser(t.app);
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/organizations',
      headers: { ...bearer(u.access), 'idempotency-key': key },
      payload: { name: 'Bad Key', industry: 'technology' },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'VALIDATION_FAILED' });
    expect(await orgCount(u.id)).toBe(0);
  });

  it('a record is not readable in another user context or with no user', async () => {
    const u = await signupUser(t.app);
    await post('/v1/organizations', u.access, 'rls-key', { name: 'Rls Co', industry: 'technology' });
    const other = await signupUser(t.app);
    const seen = async (userId: string | null) =>
      t.db.kysely.transaction().execute(async (tx) => {
        await sql`select * from tenantry_enter(null, ${userId}::uuid, null)`.execute(tx);
        return (await sql<{ n: number }>`select count(*)::int as n from idempotency_records where idempotency_key = 'rls-key'`.execute(tx))
          .rows[0]!.n;
      });
    expect(await seen(u.id)).toBe(1);
    expect(await seen(other.id)).toBe(0);
    expect(await seen(null)).toBe(0);
  });

  it('the expiry job removes expired records in batches and keeps live ones', async () => {
    const u = await signupUser(t.app);
    await post('/v1/organizations', u.access, 'live-key', { name: 'Live Co', industry: 'technology' });
    await sql`insert into idempotency_records (principal, idempotency_key, request_hash, status, response, expires_at)
              select 'user:' || ${u.id}, 'old-' || i, 'h', 201, '{}'::jsonb, now() - interval '1 second'
              from generate_series(1, 25) i`.execute(t.db.kysely);
    const removed = await new IdempotencyExpiry(t.db, console, 10).runOnce();
    expect(removed).toBeGreaterThanOrEqual(25);
    const left = await sql<{ k: string }>`select idempotency_key as k from idempotency_records where principal = ${`user:${u.id}`}`.execute(
      t.db.kysely,
    );
    expect(left.rows.map((r) => r.k)).toEqual(['live-key']);
  });

  it.runIf(engine === 'postgres')('a duplicate while the first is in flight is 409 IDEMPOTENCY_KEY_IN_USE with Retry-After', async () => {
    const u = await signupUser(t.app);
    // Another transaction holds the slug the create needs, so the first request waits in the database.
    const holder = new pg.Client({ connectionString: t.url });
    await holder.connect();
    try {
      await holder.query('begin');
      await holder.query(
        `insert into organizations (id, name, slug, industry, status) values (gen_random_uuid(), 'Held', 'idem-held', 'technology', 'active')`,
      );
      const body = { name: 'Held', slug: 'idem-held', industry: 'technology' };
      const first = post('/v1/organizations', u.access, 'flight-key', body);
      for (;;) {
        const { rows } = await holder.query<{ n: number }>(
          `select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock' and datname = current_database()`,
        );
        if (rows[0]!.n > 0) break;
      }
      const dup = await post('/v1/organizations', u.access, 'flight-key', body);
      expect(dup.statusCode).toBe(409);
      expect(dup.json()).toMatchObject({ code: 'IDEMPOTENCY_KEY_IN_USE' });
      expect(dup.headers['retry-after']).toBe('1');
      await holder.query('rollback');
      expect((await first).statusCode).toBe(201);
      const retried = await post('/v1/organizations', u.access, 'flight-key', body);
      expect(retried.headers['idempotent-replayed']).toBe('true');
      expect(await orgCount(u.id)).toBe(1);
    } finally {
      await holder.end();
    }
  });
});
