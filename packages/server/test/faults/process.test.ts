import { randomInt } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type Answer,
  type Child,
  call,
  clusterPort,
  createOrganization,
  expectUnavailable,
  FaultProxy,
  freshDatabase,
  load,
  ownRedis,
  PASSWORD,
  runCli,
  signup,
  sleep,
  startServer,
  stopLoads,
} from './support.js';

// The built service (dist/main.js) as a child process: signals, Redis faults, the embedded engine.

const children = new Set<Child>();
async function server(env: Record<string, string>) {
  const c = await startServer(env);
  children.add(c);
  return c;
}
afterEach(async () => {
  await stopLoads();
  for (const c of children) if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL');
  await Promise.all([...children].map((c) => c.exited));
  children.clear();
});

/** SIGTERM, then the exit code and how long the exit took. */
async function terminate(c: Child) {
  const started = performance.now();
  c.proc.kill('SIGTERM');
  const { code } = await c.exited;
  return { code, ms: performance.now() - started };
}

/** During a shutdown an answer is 200, a proper 503, or no answer at all once the port is closed. */
function expectShutdownAnswers(answers: Answer[]) {
  for (const a of answers) if (a.status !== 200 && a.status !== 0) expectUnavailable(a);
}

const POOL_ENV = {
  DATABASE_POOL_MAX: '5',
  DATABASE_CONNECTION_TIMEOUT_MS: '300',
  DATABASE_STATEMENT_TIMEOUT_MS: '3000',
  DATABASE_QUERY_TIMEOUT_MS: '3300',
  SHUTDOWN_TIMEOUT_MS: '2000',
};

describe('SIGTERM (built server on PostgreSQL behind a proxy)', () => {
  it('SIGTERM under load: exits 0 within SHUTDOWN_TIMEOUT_MS; answers are 200 or 503 problem+json with Retry-After', async () => {
    const d = await freshDatabase();
    const proxy = await new FaultProxy(clusterPort()).listen();
    try {
      const c = await server({ ...POOL_ENV, DATABASE_URL: d.viaProxy(proxy.port) });
      const u = await signup(c.base);
      const l = load(8, () => call(c.base, 'GET', '/v1/me', { token: u.access }));
      await sleep(500);
      const { code, ms } = await terminate(c);
      expect(code).toBe(0);
      expect(ms).toBeLessThan(2_000 + 1_000);
      const answers = await l.stop();
      expect(answers.some((a) => a.status === 200)).toBe(true);
      expectShutdownAnswers(answers);
    } finally {
      await proxy.close();
    }
  });

  it('SIGTERM during a database stall: exits 0 within SHUTDOWN_TIMEOUT_MS instead of waiting for the stall', async () => {
    const d = await freshDatabase();
    const proxy = await new FaultProxy(clusterPort()).listen();
    try {
      const c = await server({
        ...POOL_ENV,
        DATABASE_STATEMENT_TIMEOUT_MS: '30000',
        DATABASE_QUERY_TIMEOUT_MS: '31000',
        DATABASE_URL: d.viaProxy(proxy.port),
      });
      const u = await signup(c.base);
      const l = load(4, () => call(c.base, 'GET', '/v1/me', { token: u.access }));
      await sleep(300);
      proxy.stall(); // requests now hang on the database for up to 31 s
      await sleep(500);
      const { code, ms } = await terminate(c);
      expect(code).toBe(0);
      expect(ms).toBeLessThan(2_000 + 1_000);
      expectShutdownAnswers(await l.stop());
    } finally {
      await proxy.close();
    }
  });
});

describe('Redis killed and hung (built server, embedded engine)', () => {
  it('limits fall back to per-process memory within the command timeout, logged once per outage, recovered when Redis returns', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'tenantry-faults-'));
    const redis = await ownRedis();
    try {
      const c = await server({
        DATA_DIR: dataDir,
        REDIS_URL: redis.url,
        REDIS_COMMAND_TIMEOUT_MS: '500',
        RATE_LIMIT_MAX: '3',
        TRUST_PROXY: 'true',
      });
      const u = await signup(c.base);
      let ip = 0;
      const login = (email = u.email) =>
        call(c.base, 'POST', '/v1/auth/login', {
          body: { email, password: PASSWORD },
          headers: { 'x-forwarded-for': `10.9.${Math.floor(++ip / 250)}.${(ip % 250) + 1}` },
        });
      const logged = (msg: RegExp) => c.logs.filter((l) => msg.test(String(l.msg))).length;
      const DOWN = /rate-limit store unavailable/;
      const BACK = /rate-limit store is reachable again/;
      /** Three logins pass, the fourth is limited: the limit is enforced, wherever it is counted. */
      const limitHolds = async () => {
        const email = `nobody-${randomInt(1e9)}@example.com`;
        for (let i = 0; i < 3; i++) {
          const a = await login(email);
          expect(a.status, a.body).toBe(401);
          expect(a.ms).toBeLessThan(500 + 1_000);
        }
        const limited = await login(email);
        expect(limited.status, limited.body).toBe(429);
        expect(limited.retryAfter).toMatch(/^[1-9]\d*$/);
      };
      const recovered = async (times: number) => {
        for (let i = 0; i < 50 && logged(BACK) - back0 < times; i++) {
          expect((await login()).status).toBe(200);
          await sleep(100);
        }
        expect(logged(BACK) - back0).toBe(times);
      };

      // The limits are in Redis before the first outage (the server may log in before its Redis
      // connection is up, which is an outage of its own): count the log lines from there.
      const direct = new Redis(redis.url, { maxRetriesPerRequest: 1 });
      try {
        for (let i = 0; i < 50 && (await direct.keys('tenantry:rl:login:ip:*')).length === 0; i++) {
          expect((await login()).status).toBe(200);
          await sleep(100);
        }
      } finally {
        direct.disconnect();
      }
      const down0 = logged(DOWN);
      const back0 = logged(BACK);
      await redis.kill();
      await limitHolds();
      await limitHolds();
      const storeLogs = () => JSON.stringify(c.logs.filter((l) => /rate-limit/.test(String(l.msg))));
      expect(logged(DOWN) - down0, storeLogs()).toBe(1);
      await redis.restart();
      await recovered(1);

      redis.stop(); // SIGSTOP: the connection stays open, nothing answers
      await limitHolds();
      expect(logged(DOWN) - down0, storeLogs()).toBe(2);
      redis.cont();
      await recovered(2);
    } finally {
      await redis.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('embedded engine (built server on DATA_DIR)', () => {
  it('killed with kill -9 mid-write and restarted: every acknowledged write is there', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'tenantry-faults-'));
    try {
      // The issuer is fixed: the restarted server listens on another port and must accept the same tokens.
      const env = { DATA_DIR: dataDir, DATABASE_CONNECTION_TIMEOUT_MS: '5000', PUBLIC_URL: 'http://tenantry.test' };
      const c = await server(env);
      const u = await signup(c.base);
      const acknowledged: string[] = [];
      let n = 0;
      const l = load(4, async () => {
        const a = await createOrganization(c.base, u.access, `Embedded ${++n}`);
        if (a.status === 201) acknowledged.push(JSON.parse(a.body).id);
        return a;
      });
      for (let i = 0; i < 200 && acknowledged.length < 20; i++) await sleep(50);
      c.proc.kill('SIGKILL');
      await c.exited;
      const answers = await l.stop();
      for (const a of answers) expect([0, 201]).toContain(a.status);
      expect(acknowledged.length).toBeGreaterThanOrEqual(20);

      // The lock the killed process left is stale (its pid is gone): the restart takes it over.
      const again = await server(env);
      for (const id of acknowledged) {
        const a = await call(again.base, 'GET', `/v1/organizations/${id}`, { token: u.access });
        expect(a.status, `${id}: ${a.body}`).toBe(200);
      }
      expect((await terminate(again)).code).toBe(0);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('a second process on one DATA_DIR (server or CLI) refuses, naming the directory and the pid; after stop the CLI works', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'tenantry-faults-'));
    try {
      const first = await server({ DATA_DIR: dataDir });
      const pid = String(first.proc.pid);
      const commands = [
        ['serve'],
        ['migrate'],
        ['keys', 'rotate'],
        ['admin', 'create', '--email', 'root@example.com', '--password', PASSWORD],
      ];
      for (const args of commands) {
        const second = runCli(args, { DATA_DIR: dataDir, PORT: '0' });
        const { code } = await second.exited;
        expect(code, args.join(' ')).toBe(1);
        expect(second.stderr()).toContain(dataDir);
        expect(second.stderr()).toContain(`process ${pid}`);
        expect(second.stderr()).toMatch(/Stop that server .* or make the change through its API/);
      }
      expect((await call(first.base, 'GET', '/readyz')).status).toBe(200);
      expect((await terminate(first)).code).toBe(0);
      expect(existsSync(join(dataDir, 'tenantry.lock'))).toBe(false);
      const rotate = runCli(['keys', 'rotate'], { DATA_DIR: dataDir });
      expect((await rotate.exited).code, rotate.stderr()).toBe(0);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
