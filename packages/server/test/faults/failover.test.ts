import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testConfig } from '../../src/config.js';
import { openDatabase } from '../../src/db/database.js';
import { migrate } from '../../src/db/migrate.js';
import {
  type Answer,
  adminQuery,
  asPostgres,
  call,
  expectOnly,
  FaultProxy,
  freePort,
  type InProcess,
  load,
  postgresOwnedDir,
  serviceOn,
  signup,
  sleep,
  stopLoads,
} from './support.js';

const BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin';
const run = (cmd: string, args: string[]) => {
  const [c, a] = asPostgres(join(BIN, cmd), args);
  execFileSync(c, a, { stdio: 'pipe' });
};

// A primary and a synchronous streaming replica of its own (acknowledged means on the replica
// too), the service behind a proxy in front of the primary. Under write load the replica is
// promoted, the proxy moves to it and the old primary is stopped: the service recovers without a
// restart and every create it acknowledged is on the new primary, complete.
describe('failover to a promoted replica', () => {
  let dir: string;
  let primaryPort: number;
  let replicaPort: number;
  let proxy: FaultProxy;
  let s: InProcess;
  const url = (port: number, db = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${db}`;
  const start = (data: string, port: number, extra = '') =>
    run('pg_ctl', [
      '-D',
      data,
      '-l',
      `${data}.log`,
      '-o',
      `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=100 ${extra}`,
      '-w',
      'start',
    ]);

  beforeAll(async () => {
    dir = postgresOwnedDir('tenantry-faults-failover-');
    const primary = join(dir, 'primary');
    const replica = join(dir, 'replica');
    primaryPort = await freePort();
    replicaPort = await freePort();
    run('initdb', ['-D', primary, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
    start(primary, primaryPort);
    await adminQuery(url(primaryPort), 'create database tenantry');
    const db = await openDatabase({ url: url(primaryPort, 'tenantry'), pool: testConfig().db });
    await migrate(db);
    await db.close();
    run('pg_basebackup', [
      '-h',
      '127.0.0.1',
      '-p',
      String(primaryPort),
      '-U',
      'postgres',
      '-D',
      replica,
      '-R',
      '-X',
      'stream',
      '--no-sync',
      '--checkpoint=fast',
    ]);
    start(replica, replicaPort, `-c "primary_conninfo=host=127.0.0.1 port=${primaryPort} user=postgres application_name=replica1"`);
    await adminQuery(url(primaryPort), `alter system set synchronous_standby_names = 'replica1'`);
    await adminQuery(url(primaryPort), 'select pg_reload_conf()');
    for (let i = 0; ; i++) {
      const { rows } = await adminQuery<{ sync_state: string }>(url(primaryPort), 'select sync_state from pg_stat_replication');
      if (rows[0]?.sync_state === 'sync') break;
      if (i > 200) throw new Error('the replica did not become synchronous');
      await sleep(50);
    }
    proxy = await new FaultProxy(primaryPort).listen();
    s = await serviceOn(url(proxy.port, 'tenantry'));
  });
  afterAll(async () => {
    await stopLoads();
    await s?.close();
    await proxy?.close();
    for (const data of ['primary', 'replica']) {
      try {
        run('pg_ctl', ['-D', join(dir, data), '-m', 'immediate', '-w', 'stop']);
      } catch {
        // already stopped (the old primary)
      }
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('recovers within 2 s of the promotion and keeps every acknowledged create', async () => {
    const owner = await signup(s.base);
    let n = 0;
    const writes = load(4, () => {
      const i = n++;
      return call(s.base, 'POST', '/v1/organizations', {
        token: owner.access,
        body: { name: `Failover ${i}`, industry: 'technology' },
        headers: { 'idempotency-key': `failover-${i}` },
      });
    });
    const acknowledged = () => writes.answers.filter((a) => a.status === 201).length;
    while (acknowledged() < 40) await sleep(20);

    run('pg_ctl', ['-D', join(dir, 'replica'), '-w', 'promote']);
    const promoted = performance.now();
    proxy.switchTo(replicaPort);
    run('pg_ctl', ['-D', join(dir, 'primary'), '-m', 'immediate', '-w', 'stop']);

    // Recovered: a create started after the promotion is acknowledged.
    const since = writes.answers.length;
    let recoveredMs = Number.POSITIVE_INFINITY;
    while (performance.now() - promoted < 5_000) {
      if (writes.answers.slice(since).some((a) => a.status === 201)) {
        recoveredMs = performance.now() - promoted;
        break;
      }
      await sleep(10);
    }
    const before = acknowledged();
    while (acknowledged() < before + 20) await sleep(20);
    const answers: Answer[] = await writes.stop();
    expectOnly(answers, 201);
    expect(recoveredMs).toBeLessThan(2_000);

    const ids = answers.filter((a) => a.status === 201).map((a) => JSON.parse(a.body).id as string);
    const { rows } = await adminQuery<{ id: string; owners: number; events: number }>(
      url(replicaPort, 'tenantry'),
      `select o.id,
              (select count(*)::int from memberships m where m.organization_id = o.id and m.role = 'owner') as owners,
              (select count(*)::int from audit_events a where a.organization_id = o.id and a.action = 'organization.created') as events
       from organizations o where o.id = any($1::uuid[])`,
      [ids],
    );
    expect(rows.map((r) => r.id).sort()).toEqual([...ids].sort());
    expect(rows.filter((r) => r.owners !== 1 || r.events !== 1)).toEqual([]);
  });
});
