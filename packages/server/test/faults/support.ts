// Tools of the fault suite: a TCP proxy that passes, cuts or stalls, free ports, a database of
// one's own on the suite's cluster, the service in process or as the built CLI, bounded load.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { expect, inject } from 'vitest';
import { type App, buildApp } from '../../src/app.js';
import { type Config, testConfig } from '../../src/config.js';
import { type Database, openDatabase } from '../../src/db/database.js';
import { migrate } from '../../src/db/migrate.js';
import { AppError } from '../../src/http/errors.js';

export const MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url));
export const PASSWORD = 'a long enough password';

export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export interface Link {
  client: Socket;
  upstream: Socket;
  /** Bytes held by a stall, per direction, forwarded when it ends. */
  held: { up: Buffer[]; down: Buffer[] } | undefined;
  /** When the service first sent something the stall held (performance.now()). */
  heldSince: number | undefined;
  /** The service (client side) or the server ended it. */
  closed: boolean;
  /** Sent the armed loss's `after` text (loseReplyAfter): its marker is looked for next. */
  primed: boolean;
  /** Sent the armed marker (loseReplyAfter): the server's next bytes end the connection instead. */
  losing: boolean;
}

/**
 * Between the service and a server. `pass` forwards; `cut` destroys every connection and
 * refuses new ones (accepted, then destroyed at once); `stall` keeps every connection open and
 * forwards nothing in either direction (new ones are accepted and held too) until `pass`, which
 * forwards what was held. Reading goes on during a stall, so a connection the service gives up
 * is seen closing while the stall lasts.
 */
export class FaultProxy {
  private server: Server | undefined;
  private mode: 'pass' | 'cut' | 'stall' = 'pass';
  private loss: { marker: string; after: string } | undefined;
  readonly links = new Set<Link>();
  port = 0;

  constructor(private targetPort: number) {}

  async listen(): Promise<this> {
    this.server = createServer((client) => this.accept(client));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', () => r()));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  private accept(client: Socket) {
    if (this.mode === 'cut') {
      client.destroy();
      return;
    }
    const upstream = connect(this.targetPort, '127.0.0.1');
    const link: Link = {
      client,
      upstream,
      held: this.mode === 'stall' ? { up: [], down: [] } : undefined,
      heldSince: undefined,
      closed: false,
      primed: false,
      losing: false,
    };
    this.links.add(link);
    client.on('data', (d: Buffer) => {
      if (this.loss) {
        const text = d.toString('latin1').toLowerCase();
        if (!link.primed && text.includes(this.loss.after)) link.primed = true;
        else if (link.primed && text.includes(this.loss.marker)) {
          this.loss = undefined;
          link.losing = true;
        }
      }
      if (!link.held) return void upstream.write(d);
      link.heldSince ??= performance.now();
      link.held.up.push(d);
    });
    upstream.on('data', (d: Buffer) => {
      if (link.losing) return drop();
      if (link.held) link.held.down.push(d);
      else client.write(d);
    });
    const drop = () => {
      link.closed = true;
      client.destroy();
      upstream.destroy();
      this.links.delete(link);
    };
    client.on('end', drop);
    client.on('close', drop);
    client.on('error', drop);
    upstream.on('close', drop);
    upstream.on('error', drop);
  }

  pass() {
    this.mode = 'pass';
    for (const l of this.links) {
      if (!l.held) continue;
      for (const d of l.held.up) l.upstream.write(d);
      for (const d of l.held.down) l.client.write(d);
      l.held = undefined;
      l.heldSince = undefined;
    }
  }

  cut() {
    this.mode = 'cut';
    for (const l of this.links) {
      l.client.destroy();
      l.upstream.destroy();
    }
    this.links.clear();
  }

  /**
   * Arms a one-shot loss: on the first connection that sends `after` and then `marker`
   * (case-insensitive, e.g. an insert, then 'commit'), the marker is delivered to the server
   * and the server's reply is not; the connection ends instead, as when the network fails
   * right after the server acted.
   */
  loseReplyAfter(marker: string, after: string) {
    this.loss = { marker: marker.toLowerCase(), after: after.toLowerCase() };
  }

  /** Sends new connections to another server and ends those to the old one (an address that moved). */
  switchTo(port: number) {
    this.targetPort = port;
    this.cut();
    this.mode = 'pass';
  }

  /** Holds every connection; returns those open now. */
  stall(): Link[] {
    this.mode = 'stall';
    for (const l of this.links) l.held ??= { up: [], down: [] };
    return [...this.links];
  }

  async close() {
    this.cut();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

export const clusterUrl = () => inject('faultPgUrl');
export const clusterPort = () => Number(new URL(clusterUrl()).port);

export async function adminQuery<R extends pg.QueryResultRow>(url: string, text: string, params: unknown[] = []) {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await c.query<R>(text, params);
  } finally {
    await c.end();
  }
}

/** A migrated database of its own on the suite's cluster; `viaProxy` gives its URL through a proxy port. */
export async function freshDatabase() {
  const name = `faults_${randomBytes(5).toString('hex')}`;
  await adminQuery(clusterUrl(), `create database ${name}`);
  const direct = new URL(clusterUrl());
  direct.pathname = `/${name}`;
  const db = await openDatabase({ url: direct.toString(), pool: testConfig().db });
  await migrate(db);
  await db.close();
  return {
    name,
    directUrl: direct.toString(),
    viaProxy(port: number) {
      const u = new URL(direct.toString());
      u.port = String(port);
      return u.toString();
    },
  };
}

/** Pool and timeouts for the fault cases: a statement timeout of 3 s, small connection waits. */
export const FAULT_DB: Config['db'] = {
  ...testConfig().db,
  poolMax: 5,
  connectionTimeoutMs: 300,
  statementTimeoutMs: 3_000,
  queryTimeoutMs: 3_300,
  keepAliveInitialDelayMs: 1_000,
};

export interface InProcess {
  app: App;
  db: Database;
  base: string;
  poolErrors: Error[];
  close(): Promise<void>;
}

/**
 * The service's start, which reads the database, is set-up and not a case: on a loaded machine
 * a first connection through the proxy can take longer than the 300 ms the cases bound a
 * connection by (FAULT_DB), and the start answers SERVICE_UNAVAILABLE. It is tried again, for a
 * minute at most; every bound a case asserts applies from its first request on.
 */
async function startedDespiteLoad<T>(start: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      return await start();
    } catch (err) {
      if (!(err instanceof AppError && err.code === 'SERVICE_UNAVAILABLE') || Date.now() > deadline) throw err;
    }
  }
}

/** The service in this process, on a real port, with its pool going through `url`. */
export async function serviceOn(url: string, db: Partial<Config['db']> = {}, overrides: Partial<Config> = {}): Promise<InProcess> {
  const pool = { ...FAULT_DB, ...db };
  const poolErrors: Error[] = [];
  const database = await openDatabase({ url, pool, onPoolError: (e) => poolErrors.push(e) });
  const app = await startedDespiteLoad(() => buildApp(testConfig({ db: pool, ...overrides }), database));
  await app.listen({ port: 0, host: '127.0.0.1' });
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  return {
    app,
    db: database,
    base,
    poolErrors,
    async close() {
      await app.close();
      await database.close();
    },
  };
}

export interface Answer {
  status: number;
  retryAfter: string | null;
  contentType: string | null;
  ms: number;
  body: string;
}

export async function call(
  base: string,
  method: string,
  path: string,
  opts: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const started = performance.now();
  let res: Response;
  let body: string;
  try {
    res = await fetch(`${base}${path}`, {
      method,
      headers: {
        ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
        ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...opts.headers,
      },
      ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
    });
    body = await res.text();
  } catch (err) {
    // No HTTP answer at all (connection refused or reset): status 0, which no expectation accepts.
    return { status: 0, retryAfter: null, contentType: null, ms: performance.now() - started, body: String(err) };
  }
  return {
    status: res.status,
    retryAfter: res.headers.get('retry-after'),
    contentType: res.headers.get('content-type'),
    ms: performance.now() - started,
    body,
  };
}

/** A 503 as §13 wants it: problem+json SERVICE_UNAVAILABLE with a whole-second Retry-After. */
export function expectUnavailable(a: Answer) {
  expect(a.status, a.body).toBe(503);
  expect(a.contentType).toMatch(/^application\/problem\+json/);
  expect(a.retryAfter).toMatch(/^[1-9]\d*$/);
  expect(JSON.parse(a.body)).toMatchObject({ code: 'SERVICE_UNAVAILABLE', status: 503 });
}

/** Every answer is `ok` or a proper 503. */
export function expectOnly(answers: Answer[], ok: number) {
  for (const a of answers) {
    if (a.status !== ok) expectUnavailable(a);
  }
}

const loads = new Set<{ stop(): Promise<Answer[]> }>();

/** `workers` loops calling `fn` until `stop()`; returns every answer. */
export function load(workers: number, fn: () => Promise<Answer>) {
  let running = true;
  const answers: Answer[] = [];
  const loops = Array.from({ length: workers }, async () => {
    while (running) answers.push(await fn());
  });
  const l = {
    answers,
    async stop() {
      running = false;
      loads.delete(l);
      await Promise.all(loops);
      return answers;
    },
  };
  loads.add(l);
  return l;
}

/** Ends the loads a failed case left running (afterEach). */
export async function stopLoads() {
  await Promise.all([...loads].map((l) => l.stop()));
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function signup(base: string, email = `f-${randomBytes(6).toString('hex')}@example.com`) {
  const a = await call(base, 'POST', '/v1/auth/signup', { body: { email, password: PASSWORD, name: 'Fault Tester' } });
  expect(a.status, a.body).toBe(201);
  const b = JSON.parse(a.body);
  return { id: b.user.id as string, email, access: b.access_token as string };
}

export async function createOrganization(base: string, token: string, name = 'Fault Co') {
  return call(base, 'POST', '/v1/organizations', { token, body: { name, industry: 'technology' } });
}

export interface Child {
  proc: ChildProcess;
  base: string;
  /** Parsed JSON log lines from stdout so far. */
  logs: Array<Record<string, unknown>>;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** The built CLI (`dist/main.js`) as a child process. */
export function runCli(args: string[], env: Record<string, string>) {
  const proc = spawn(process.execPath, [MAIN, ...args], {
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'info', RATE_LIMIT_MAX: '1000000', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const logs: Array<Record<string, unknown>> = [];
  proc.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    let nl = out.indexOf('\n');
    while (nl >= 0) {
      const line = out.slice(0, nl);
      out = out.slice(nl + 1);
      try {
        logs.push(JSON.parse(line));
      } catch {
        logs.push({ msg: line });
      }
      nl = out.indexOf('\n');
    }
  });
  proc.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return { proc, logs, stderr: () => err, exited };
}

/** `tenantry serve` as a child process, once /readyz answers 200. */
export async function startServer(env: Record<string, string>): Promise<Child> {
  const port = await freePort();
  const c = runCli(['serve'], { PORT: String(port), HOST: '127.0.0.1', ...env });
  const base = `http://127.0.0.1:${port}`;
  // A hang detector, not a bound the case asserts: a start takes seconds, more on a loaded machine.
  const deadline = Date.now() + 120_000;
  let lastStatus = 0;
  while (Date.now() < deadline) {
    const done = await Promise.race([c.exited.then(() => true), sleep(100).then(() => false)]);
    if (done) throw new Error(`server exited before it was ready: ${c.stderr()}`);
    lastStatus = await fetch(`${base}/readyz`).then(
      (r) => r.status,
      () => 0,
    );
    if (lastStatus === 200) return { ...c, base };
  }
  c.proc.kill('SIGKILL');
  throw new Error(`server not ready (last /readyz ${lastStatus}): ${c.stderr()}`);
}

/** A redis-server of its own on a free port; `kill`, `stop`/`cont` (SIGSTOP/SIGCONT), `restart`. */
export async function ownRedis() {
  const port = await freePort();
  let proc: ChildProcess;
  const start = async () => {
    proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      stdio: 'ignore',
    });
    for (let i = 0; i < 100; i++) {
      const up = await new Promise<boolean>((resolve) => {
        const s = connect(port, '127.0.0.1', () => {
          s.destroy();
          resolve(true);
        });
        s.on('error', () => resolve(false));
      });
      if (up) return;
      await sleep(50);
    }
    throw new Error('redis-server did not start');
  };
  await start();
  const exit = () => new Promise<void>((r) => (proc.exitCode !== null || proc.signalCode !== null ? r() : proc.once('exit', () => r())));
  return {
    url: `redis://127.0.0.1:${port}`,
    async kill() {
      proc.kill('SIGKILL');
      await exit();
    },
    stop: () => proc.kill('SIGSTOP'),
    cont: () => proc.kill('SIGCONT'),
    restart: start,
    async close() {
      proc.kill('SIGCONT');
      proc.kill('SIGKILL');
      await exit();
    },
  };
}

/** The suite's servers refuse to run as root: run them as the postgres OS user then. */
export const asPostgres = (cmd: string, args: string[]): [string, string[]] =>
  process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];

/** A temp directory the postgres OS user owns (when running as root). */
export function postgresOwnedDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  if (process.getuid?.() === 0) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    chownSync(dir, uid, gid);
  }
  return dir;
}

export async function waitForPort(port: number, boundMs = 60_000) {
  const deadline = Date.now() + boundMs;
  while (Date.now() < deadline) {
    const up = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (up) return;
    await sleep(50);
  }
  throw new Error(`nothing listens on ${port}`);
}

/**
 * A PgBouncer of its own in transaction mode in front of the suite's cluster, on a free port:
 * `serverConnections` server connections per database and user, shared by every client.
 */
export async function ownPgbouncer(targetPort: number, serverConnections: number) {
  const dir = postgresOwnedDir('tenantry-faults-pgbouncer-');
  const port = await freePort();
  const ini = join(dir, 'pgbouncer.ini');
  writeFileSync(join(dir, 'users.txt'), '"postgres" ""\n');
  writeFileSync(
    ini,
    [
      '[databases]',
      `* = host=127.0.0.1 port=${targetPort}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = trust',
      `auth_file = ${join(dir, 'users.txt')}`,
      'pool_mode = transaction',
      `default_pool_size = ${serverConnections}`,
      'min_pool_size = 0',
      'max_client_conn = 500',
      // The service's pool sends these at connect; a transaction-mode pooler cannot keep
      // per-client session settings, so it must ignore them (set them on the role instead).
      'ignore_startup_parameters = extra_float_digits,statement_timeout,idle_in_transaction_session_timeout',
      `logfile = ${join(dir, 'log')}`,
      '',
    ].join('\n'),
  );
  if (process.getuid?.() === 0) execFileSync('chown', ['-R', 'postgres', dir]);
  const [cmd, args] = asPostgres('pgbouncer', [ini]);
  const proc = spawn(cmd, args, { stdio: 'ignore' });
  await waitForPort(port);
  return {
    port,
    async close() {
      if (proc.exitCode === null && proc.signalCode === null) {
        const exited = new Promise<void>((r) => proc.once('exit', () => r()));
        // runuser forwards the signal to pgbouncer.
        proc.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
