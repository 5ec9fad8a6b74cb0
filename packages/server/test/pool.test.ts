import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withTenant } from '../src/db/tenant-context.js';
import { startApp, type TestApp } from './helpers/app.js';
import { adminQuery, ENGINES } from './helpers/db.js';

describe.each(ENGINES)('connection pool (%s)', (engine) => {
  let t: TestApp;
  const poolErrors: Error[] = [];

  beforeAll(async () => {
    t = await startApp(engine, {}, { pool: { poolMax: 1, connectionTimeoutMs: 250 }, onPoolError: (e) => poolErrors.push(e) });
  });
  afterAll(() => t.close());

  it('answers a fast 503 SERVICE_UNAVAILABLE with Retry-After when the pool is exhausted; readiness stays 200', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const holding = t.db.withConnection(() => held);
    try {
      // A busy pool is not an unready service: the database still answers.
      expect((await t.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
      const res = await t.app.inject({
        method: 'POST',
        url: '/v1/auth/login',
        payload: { email: 'nobody@example.com', password: 'a long enough password' },
      });
      expect(res.statusCode).toBe(503);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      // The pool is busy, not gone: retry at once.
      expect(res.headers['retry-after']).toBe('1');
      expect(res.json()).toMatchObject({ code: 'SERVICE_UNAVAILABLE', status: 503 });
      // It gave up while the connection was still held instead of waiting for it, and left no waiter behind.
      expect(t.db.stats()).toMatchObject({ idle: 0, waiting: 0 });
    } finally {
      release();
      await holding;
    }
    expect((await t.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
  });

  it('reports pool gauges and request histograms on /metrics', async () => {
    await t.app.inject({ method: 'GET', url: '/healthz' });
    const res = await t.app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.body).toMatch(/db_pool_connections_max 1/);
    expect(res.body).toMatch(/db_pool_waiting_requests 0/);
    expect(res.body).toMatch(/http_request_duration_seconds_count\{method="GET",route="\/healthz",status_code="200"\} \d+/);
  });

  it('fails readiness while draining; a request arriving then is a 503 problem with Retry-After', async () => {
    t.app.state.draining = true;
    try {
      const res = await t.app.inject({ method: 'GET', url: '/readyz' });
      expect(res.statusCode).toBe(503);
      const refused = await t.app.inject({ method: 'GET', url: '/healthz' });
      expect(refused.statusCode).toBe(503);
      expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(refused.headers['retry-after']).toBe('5');
      expect(refused.headers.connection).toBe('close');
      expect(refused.json()).toMatchObject({ code: 'SERVICE_UNAVAILABLE', status: 503 });
    } finally {
      t.app.state.draining = false;
    }
  });

  it.runIf(engine === 'postgres')('survives a killed idle connection', async () => {
    await sql`select 1`.execute(t.db.kysely); // leaves one idle connection in the pool
    await adminQuery(
      t.url!,
      `select pg_terminate_backend(pid) from pg_stat_activity
      where datname = current_database() and application_name = 'tenantry' and pid <> pg_backend_pid()`,
    );
    await expect.poll(() => poolErrors.length).toBeGreaterThan(0);
    expect((await t.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
  });

  it.runIf(engine === 'postgres')('destroys a connection whose transaction could not be rolled back', async () => {
    let killedPid = 0;
    await expect(
      withTenant(t.db, { orgId: null, userId: null }, async (tx) => {
        killedPid = (await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(tx)).rows[0]!.pid;
        await adminQuery(t.url!, 'select pg_terminate_backend($1)', [killedPid]);
        await sql`select 1`.execute(tx);
      }),
    ).rejects.toThrow();
    const pid = (await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(t.db.kysely)).rows[0]!.pid;
    expect(pid).not.toBe(killedPid);
    expect(t.db.stats().total).toBeLessThanOrEqual(1);
  });
});
