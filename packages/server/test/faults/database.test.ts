import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  adminQuery,
  call,
  clusterPort,
  createOrganization,
  expectOnly,
  expectUnavailable,
  FAULT_DB,
  FaultProxy,
  freshDatabase,
  type InProcess,
  type Link,
  load,
  serviceOn,
  signup,
  sleep,
  stopLoads,
} from './support.js';

// The service in process, its pool behind a TCP proxy to the suite's own cluster.
describe('database faults (PostgreSQL behind a proxy)', () => {
  let proxy: FaultProxy;
  let s: InProcess;
  let directUrl: string;
  let owner: { access: string };
  let orgId: string;

  let lastFailure: unknown;
  const read = () => call(s.base, 'GET', `/v1/organizations/${orgId}`, { token: owner.access });

  /** Waits (bounded) for a read to succeed; returns how long that took. */
  async function recoveryMs(boundMs = 2_000) {
    const started = performance.now();
    for (;;) {
      const a = await read();
      if (a.status === 200) return performance.now() - started;
      lastFailure = a;
      expectUnavailable(a);
      if (performance.now() - started > boundMs) return performance.now() - started;
      await sleep(25);
    }
  }

  beforeAll(async () => {
    const d = await freshDatabase();
    directUrl = d.directUrl;
    proxy = await new FaultProxy(clusterPort()).listen();
    s = await serviceOn(d.viaProxy(proxy.port));
    owner = await signup(s.base);
    const created = await createOrganization(s.base, owner.access);
    expect(created.status, created.body).toBe(201);
    orgId = JSON.parse(created.body).id;
  });
  afterEach(async () => {
    await stopLoads();
    proxy.pass();
  });
  afterAll(async () => {
    await s?.close();
    await proxy?.close();
  });

  it('database cut 5 s under reads: only 200 or 503 with Retry-After; recovery within 2 s after it comes back', async () => {
    const l = load(6, read);
    await sleep(300);
    proxy.cut();
    await sleep(5_000);
    proxy.pass();
    const recovered = await recoveryMs();
    const answers = await l.stop();
    expectOnly(answers, 200);
    expect(answers.filter((a) => a.status === 503).length).toBeGreaterThan(0);
    expect(recovered).toBeLessThan(2_000);
  });

  it('database stall 10 s: no request waits longer than the statement timeout + 1 s; stalled connections are never reused', async () => {
    const l = load(10, read); // more than the pool: every pooled connection is busy when the stall starts
    await sleep(300);
    expect(proxy.stall().length).toBeGreaterThan(0);
    const seen = new Set<Link>();
    const stallEnds = performance.now() + 10_000;
    while (performance.now() < stallEnds) {
      for (const link of proxy.links) seen.add(link);
      await sleep(100);
    }
    // Every connection whose query the stall held past the query timeout was given up by the
    // service (it closed the socket) while the stall lasted: it is not pooled to be used again.
    const timedOut = [...seen].filter(
      (link) => link.heldSince !== undefined && performance.now() - link.heldSince > FAULT_DB.queryTimeoutMs + 500,
    );
    expect(timedOut.length).toBeGreaterThan(0);
    for (const link of timedOut) expect(link.closed).toBe(true);
    proxy.pass();
    const recovered = await recoveryMs();
    const answers = await l.stop();
    expectOnly(answers, 200);
    for (const a of answers) expect(a.ms).toBeLessThan(FAULT_DB.statementTimeoutMs + 1_000);
    expect(recovered).toBeLessThan(2_000);
  });

  it('all backends killed (pg_terminate_backend) under reads: only 200 or 503 with Retry-After, then reads succeed', async () => {
    const l = load(6, read);
    await sleep(300);
    for (let round = 0; round < 3; round++) {
      await adminQuery(directUrl, `select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'tenantry'`);
      await sleep(300);
    }
    const recovered = await recoveryMs();
    const answers = await l.stop();
    expectOnly(answers, 200);
    expect(recovered, JSON.stringify(lastFailure)).toBeLessThan(2_000);
  });

  it('writes during chaos (cuts and killed backends): no 500; every acknowledged create is complete with its owner membership and audit event', async () => {
    const acknowledged: string[] = [];
    let n = 0;
    const l = load(4, async () => {
      const a = await createOrganization(s.base, owner.access, `Chaos ${++n}`);
      if (a.status === 201) acknowledged.push(JSON.parse(a.body).id);
      return a;
    });
    for (let round = 0; round < 3; round++) {
      await sleep(400);
      proxy.cut();
      await sleep(400);
      proxy.pass();
      await sleep(400);
      await adminQuery(directUrl, `select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'tenantry'`);
    }
    await sleep(400);
    const answers = await l.stop();
    expectOnly(answers, 201);
    expect(acknowledged.length).toBeGreaterThan(0);

    const { rows } = await adminQuery<{ id: string; owners: number; audits: number }>(
      directUrl,
      `select o.id,
         (select count(*)::int from memberships m where m.organization_id = o.id and m.role = 'owner') as owners,
         (select count(*)::int from audit_events e where e.organization_id = o.id and e.action = 'organization.created') as audits
       from organizations o`,
    );
    const byId = new Map(rows.map((r) => [r.id, r]));
    for (const id of acknowledged) expect(byId.get(id), id).toMatchObject({ owners: 1, audits: 1 });
    // Nothing half-written either, acknowledged or not.
    for (const r of rows) expect(r, r.id).toMatchObject({ owners: 1, audits: 1 });
  });

  it('statement timeout via a held row lock: 503 with Retry-After 1, the change not made, the connection still usable', async () => {
    const locker = new pg.Client({ connectionString: directUrl });
    await locker.connect();
    try {
      await locker.query('begin');
      await locker.query('select 1 from organizations where id = $1 for update', [orgId]);
      const a = await call(s.base, 'PATCH', `/v1/organizations/${orgId}`, { token: owner.access, body: { name: 'Never Saved' } });
      expectUnavailable(a);
      expect(a.retryAfter).toBe('1');
      await locker.query('rollback');
    } finally {
      await locker.end();
    }
    const after = await read();
    expect(after.status).toBe(200);
    expect(JSON.parse(after.body).name).not.toBe('Never Saved');
  });

  it('pool exhaustion (pool 5, 500 concurrent requests): only 200 or 503 with Retry-After', async () => {
    const answers = await Promise.all(Array.from({ length: 500 }, () => read()));
    expectOnly(answers, 200);
    expect(answers.some((a) => a.status === 200)).toBe(true);
    for (const a of answers.filter((x) => x.status === 503)) expect(a.retryAfter).toBe('1');
    expect((await read()).status).toBe(200);
  });
});
