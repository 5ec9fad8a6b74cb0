import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from './helpers/app.js';
import { createOrg } from './helpers/orgs.js';
import { authed, signupUser } from './helpers/users.js';

// Faults on the shared PostgreSQL that leave it running: a backend killed under a request,
// and a statement timeout. Cuts and stalls of the whole database are in test/faults/.

const RENAME = { name: 'Renamed While Locked' };

describe.runIf(process.env.TEST_DATABASE_URL)('database faults under a request (postgres)', () => {
  let t: TestApp;
  let locker: pg.Client;

  beforeAll(async () => {
    t = await startApp('postgres', {}, { pool: { poolMax: 4, statementTimeoutMs: 2_000, queryTimeoutMs: 3_000 } });
    locker = new pg.Client({ connectionString: t.url! });
    await locker.connect();
  });
  afterAll(async () => {
    await locker?.end();
    await t?.close();
  });

  /** Holds the organization's row lock in another session until the returned function is called. */
  async function lockOrganization(orgId: string) {
    await locker.query('begin');
    await locker.query('select 1 from organizations where id = $1 for update', [orgId]);
    return () => locker.query('rollback');
  }

  const waitingBackend = async () => {
    for (;;) {
      const { rows } = await locker.query<{ pid: number }>(
        `select pid from pg_stat_activity where application_name = 'tenantry' and wait_event_type = 'Lock'`,
      );
      if (rows[0]) return rows[0].pid;
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  it('a backend killed mid-transaction (the ROLLBACK fails too) answers 503 with Retry-After, not 500', async () => {
    const owner = await signupUser(t.app);
    const org = await createOrg(t.app, owner);
    const unlock = await lockOrganization(org.id);
    try {
      const patching = authed(t.app, 'PATCH', `/v1/organizations/${org.id}`, owner.access, RENAME);
      const pid = await waitingBackend();
      const admin = new pg.Client({ connectionString: t.url! });
      await admin.connect();
      await admin.query('select pg_terminate_backend($1)', [pid]);
      await admin.end();
      const res = await patching;
      expect(res.statusCode, res.body).toBe(503);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(2);
      expect(res.json()).toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
    } finally {
      await unlock();
    }
    // The killed connection was not pooled again: the next request works.
    expect((await authed(t.app, 'GET', `/v1/organizations/${org.id}`, owner.access)).statusCode).toBe(200);
  });

  it('a statement timeout (57014) behind a held row lock answers 503 with Retry-After 1', async () => {
    const owner = await signupUser(t.app);
    const org = await createOrg(t.app, owner);
    const unlock = await lockOrganization(org.id);
    try {
      const res = await authed(t.app, 'PATCH', `/v1/organizations/${org.id}`, owner.access, RENAME);
      expect(res.statusCode, res.body).toBe(503);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.headers['retry-after']).toBe('1');
    } finally {
      await unlock();
    }
    const after = await authed(t.app, 'GET', `/v1/organizations/${org.id}`, owner.access);
    expect(after.json().name).not.toBe(RENAME.name);
  });
});
