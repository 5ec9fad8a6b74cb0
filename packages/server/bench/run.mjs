#!/usr/bin/env node
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
// npm run bench: the service on PostgreSQL with a seeded data set, driven by
// autocannon, next to a Fastify hello-world ceiling, a naive reference of S1
// (bench/naive.mjs) and pgbench running S1's own SQL transaction. Prints a table
// and rewrites the generated section of BENCHMARKS.md.
//
// Environment: BENCH_DURATION (s per scenario, 10), BENCH_WARMUP (s, 2; 0 = none),
// BENCH_ONLY=startup (only the embedded engine's start-up: npm start → /healthz, idle RSS), or
// BENCH_ONLY=s3,s5 (a comma-separated choice of hello, s1, s2, s1key, introspect, naive, pgbench, login, s3, s5, s6;
// for short checks of a scenario: the ceiling and start-up are skipped unless named), BENCH_LARGE=1
// (after the rest, grows the data set to 100,000 organizations and 1,000,000 memberships and runs S1 again),
// BENCH_CONNECTIONS (50), BENCH_POOL_MAX (the server's DATABASE_POOL_MAX, 8), BENCH_PG_URL (an administrative URL on 127.0.0.1,
// postgres://postgres@127.0.0.1:5432/postgres). Every target is 127.0.0.1.
import autocannon from 'autocannon';
import pg from 'pg';
import { apiKeySetup, introspectionLoad } from './api-keys.mjs';
import { withForeignCpu } from './cpu.mjs';
import { childPids, freePort, startChild, stopAll, stopChild, waitChild, waitReady } from './processes.mjs';
import { machine, markdown, startupTable, writeSection } from './report.mjs';
import { s1PgbenchScript } from './s1-transaction.mjs';
import { growLarge, seed, TARGET_MEMBERS } from './seed.mjs';
import { measureStartup } from './startup.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const HOST = '127.0.0.1';
const DB_NAME = 'tenantry_bench';
const PASSWORD = 'bench password 0123456789';
const TARGET_EMAIL = 'bench-target@bench.invalid';
// config.ts accepts at most 1,000,000 per window: far above what one run sends.
const RATE_LIMIT_MAX = '1000000';

function intEnv(name, fallback, min) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min) throw new Error(`${name} must be a whole number ≥ ${min}`);
  return Number(raw);
}

const DURATION = intEnv('BENCH_DURATION', 10, 1);
const WARMUP = intEnv('BENCH_WARMUP', 2, 0);
const CONNECTIONS = intEnv('BENCH_CONNECTIONS', 50, 1);
const POOL_MAX = intEnv('BENCH_POOL_MAX', 8, 1);
const ADMIN_URL = new URL(process.env.BENCH_PG_URL ?? `postgres://postgres@${HOST}:5432/postgres`);
if (ADMIN_URL.hostname !== HOST) throw new Error(`BENCH_PG_URL must point at ${HOST} (got ${ADMIN_URL.hostname})`);
const ONLY = process.env.BENCH_ONLY && process.env.BENCH_ONLY !== 'startup' ? new Set(process.env.BENCH_ONLY.split(',')) : null;
/** Whether a scenario runs: all of them unless BENCH_ONLY names some. */
const only = (name) => ONLY === null || ONLY.has(name);
const LARGE = process.env.BENCH_LARGE === '1';
const BENCH_URL = new URL(ADMIN_URL);
BENCH_URL.pathname = `/${DB_NAME}`;

const log = (msg) => process.stderr.write(`bench: ${msg}\n`);
// A reader that goes away (| head) must not kill the run before its children are stopped.
for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);

function findPgbench() {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, 'pgbench'))) return join(dir, 'pgbench');
  }
  const base = '/usr/lib/postgresql';
  const versions = existsSync(base) ? readdirSync(base).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) if (existsSync(join(base, v, 'bin/pgbench'))) return join(base, v, 'bin/pgbench');
  return null;
}

async function sql(url, text, params = []) {
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    return await client.query(text, params);
  } finally {
    await client.end();
  }
}

async function api(base, method, path, body, headers = {}) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { ...(body ? { 'content-type': 'application/json' } : {}), ...headers },
    body: body ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text };
}

const claims = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString());

/** Logs in `count` times, a few at a time; each login is a session of its own. */
async function loginMany(base, count, organizationId) {
  const tokens = [];
  const worker = async () => {
    while (tokens.length < count) {
      const r = await api(base, 'POST', '/v1/auth/login', { email: TARGET_EMAIL, password: PASSWORD, organization_id: organizationId });
      if (r.status !== 200) throw new Error(`login for the refresh pool failed: ${r.status} ${r.text}`);
      tokens.push(r.json.refresh_token);
    }
  };
  await Promise.all(Array.from({ length: 4 }, worker));
  return tokens.slice(0, count);
}

/** Runs one autocannon scenario (after a warm-up) and keeps what the table needs. */
async function load(scenario, opts) {
  log(`${scenario}: ${WARMUP > 0 ? `${WARMUP} s warm-up, ` : ''}${DURATION} s`);
  const base = { connections: CONNECTIONS, ...opts };
  if (WARMUP > 0) await autocannon({ ...base, duration: WARMUP });
  const { result: r, foreign } = await withForeignCpu(DURATION, childPids, () => autocannon({ ...base, duration: DURATION }));
  const statuses = Object.entries(r.statusCodeStats ?? {})
    .filter(([code]) => !code.startsWith('2'))
    .map(([code, s]) => `${code} × ${Number(s.count).toLocaleString('en-US')}`);
  return {
    scenario,
    rps: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    errors: r.errors,
    non2xx: r.non2xx,
    timeouts: r.timeouts,
    statuses,
    foreign,
  };
}

/** pgbench with S1's transaction: tps, and latency percentiles from its per-transaction log. */
async function pgbench(bin, script, variables, scenario = 'pgbench: S1 SQL transaction') {
  const dir = await mkdtemp(join(tmpdir(), 'tenantry-bench-'));
  try {
    const file = join(dir, 'script.sql');
    await writeFile(file, script);
    const args = [
      '-h',
      HOST,
      '-p',
      ADMIN_URL.port || '5432',
      '-U',
      decodeURIComponent(ADMIN_URL.username || 'postgres'),
      '-M',
      'prepared',
      '-f',
      file,
      '-c',
      String(CONNECTIONS),
      '-j',
      '2',
      '-T',
      String(DURATION),
      '-n',
      '-l',
      `--log-prefix=${join(dir, 'tx')}`,
      ...Object.entries(variables).flatMap(([k, v]) => ['-D', `${k}=${v}`]),
      DB_NAME,
    ];
    const env = { ...process.env, ...(ADMIN_URL.password ? { PGPASSWORD: decodeURIComponent(ADMIN_URL.password) } : {}) };
    log(`${scenario}: ${DURATION} s`);
    const child = startChild('pgbench', bin, args, { env });
    const { result: ended, foreign } = await withForeignCpu(DURATION, childPids, () => waitChild(child, (DURATION + 60) * 1000));
    const out = child.output();
    const tps = Number((/tps = ([\d.]+) \(without initial connection time\)/.exec(out) ?? /tps = ([\d.]+)/.exec(out))?.[1]);
    if (ended.code !== 0 || !Number.isFinite(tps)) {
      return {
        scenario,
        rps: null,
        p50: null,
        p99: null,
        errors: null,
        non2xx: null,
        failure: out.trim().split('\n').slice(-5).join(' / '),
      };
    }
    const latencies = [];
    for (const f of (await readdir(dir)).filter((n) => n.startsWith('tx'))) {
      for (const line of (await readFile(join(dir, f), 'utf8')).split('\n')) {
        const us = Number(line.split(' ')[2]);
        if (line && Number.isFinite(us)) latencies.push(us / 1000);
      }
    }
    latencies.sort((a, b) => a - b);
    const pct = (p) => (latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] : null);
    const failed = Number(/number of failed transactions: (\d+)/.exec(out)?.[1] ?? 0);
    return { scenario, rps: tps, p50: pct(50), p99: pct(99), errors: failed, non2xx: null, foreign };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function main() {
  if (!existsSync(join(ROOT, 'dist/main.js'))) throw new Error('dist/main.js is missing: run `npm run build` (npm run bench does)');
  // First, before anything loads the machine: a newcomer's start on the embedded engine.
  if (only('startup')) log('start-up on the embedded engine (npm start → /healthz, then idle RSS)');
  const startup = only('startup') ? await measureStartup(join(ROOT, '../..')) : undefined;
  if (process.env.BENCH_ONLY === 'startup') {
    process.stdout.write(`\n${startupTable(startup)}\n\n`);
    return;
  }
  const pgbenchBin = findPgbench();
  if (!pgbenchBin) throw new Error('pgbench not found on PATH or in /usr/lib/postgresql/*/bin');
  const postgresVersion = (await sql(ADMIN_URL, 'show server_version')).rows[0].server_version;
  const results = {};
  const notes = [];

  // 1. The ceiling: Fastify answering a constant, same machine, same load.
  if (only('hello')) {
    const port = await freePort();
    const hello = startChild('hello-world', process.execPath, [join(ROOT, 'bench/hello.mjs')], {
      env: { ...process.env, PORT: String(port) },
    });
    await waitReady(hello, `http://${HOST}:${port}/`, 15_000);
    results.hello = await load('Fastify hello world (ceiling)', { url: `http://${HOST}:${port}/` });
    await stopChild(hello);
  }

  // 2. A fresh database and the built server on it.
  log(`recreating database ${DB_NAME}`);
  await sql(ADMIN_URL, `drop database if exists ${DB_NAME} with (force)`);
  await sql(ADMIN_URL, `create database ${DB_NAME}`);
  const port = await freePort();
  const base = `http://${HOST}:${port}`;
  const env = { ...process.env };
  for (const k of [
    'REDIS_URL',
    'BOOTSTRAP_ADMIN_EMAIL',
    'BOOTSTRAP_ADMIN_PASSWORD',
    'DATA_DIR',
    'TRUST_PROXY',
    'PUBLIC_URL',
    'TOKEN_ISSUER',
    'TOKEN_AUDIENCE',
  ])
    delete env[k];
  Object.assign(env, {
    DATABASE_URL: BENCH_URL.toString(),
    HOST,
    PORT: String(port),
    LOG_LEVEL: 'warn',
    RATE_LIMIT_MAX,
    DATABASE_POOL_MAX: String(POOL_MAX),
    ACCESS_TOKEN_TTL: '3600', // no token expires during a run
  });
  const server = startChild('tenantry', process.execPath, [join(ROOT, 'dist/main.js'), 'serve'], { env, cwd: ROOT });
  await waitReady(server, `${base}/readyz`, 60_000);

  // 3. Data: a user over HTTP, then organizations, users and memberships in SQL.
  const signup = await api(base, 'POST', '/v1/auth/signup', { email: TARGET_EMAIL, password: PASSWORD, name: 'Bench Target' });
  if (signup.status !== 201) throw new Error(`signup failed: ${signup.status} ${signup.text}`);
  const userId = signup.json.user.id;
  log('seeding');
  const seedClient = new pg.Client({ connectionString: BENCH_URL.toString() });
  await seedClient.connect();
  let seeded;
  try {
    seeded = await seed(seedClient, userId);
  } finally {
    await seedClient.end();
  }
  const orgId = seeded.orgId;
  const login = await api(base, 'POST', '/v1/auth/login', { email: TARGET_EMAIL, password: PASSWORD, organization_id: orgId });
  if (login.status !== 200) throw new Error(`login failed: ${login.status} ${login.text}`);
  const access = login.json.access_token;
  const sessionId = claims(access).sid;
  const auth = { authorization: `Bearer ${access}` };

  // 4. The read scenarios; a route that is missing or failing shows in the table, not as a crash.
  const s1Path = `/v1/organizations/${orgId}/members?limit=50`;
  const s2Path = `/v1/organizations/${orgId}`;
  for (const [name, path, check] of [
    [
      'S1',
      s1Path,
      (j) => (j?.data?.length === TARGET_MEMBERS ? null : `answered ${j?.data?.length ?? 'no'} members instead of ${TARGET_MEMBERS}`),
    ],
    ['S2', s2Path, (j) => (j?.id === orgId ? null : 'answered another organization')],
  ]) {
    const probe = await api(base, 'GET', path, undefined, auth);
    const problem = probe.status === 200 ? check(probe.json) : `answered ${probe.status}${probe.json?.code ? ` ${probe.json.code}` : ''}`;
    if (problem) notes.push(`⚠ ${name} (GET ${path.replace(orgId, '{org_id}')}) ${problem} before the run.`);
  }
  if (only('s1') || LARGE) results.s1 = await load('S1: list 50 members', { url: base + s1Path, headers: auth });
  if (only('s2')) results.s2 = await load('S2: get organization', { url: base + s2Path, headers: auth });

  // S1 with an organization API key instead of the member's token, and introspection of that
  // key by a tool (client_secret_basic), each only when named or in a full run.
  if (only('s1key') || only('introspect')) {
    const setup = await apiKeySetup({ api, sql, benchUrl: BENCH_URL, base, orgId, password: PASSWORD, withTool: only('introspect') });
    const keyAuth = { authorization: `Bearer ${setup.key}` };
    if (only('s1key')) {
      const probe = await api(base, 'GET', s1Path, undefined, keyAuth);
      if (probe.status !== 200) notes.push(`⚠ S1 with an API key answered ${probe.status} before the run.`);
      results.s1key = await load('S1 with an API key', { url: base + s1Path, headers: keyAuth });
    }
    if (only('introspect')) {
      const opts = introspectionLoad(base, setup.tool, setup.key);
      const answer = await fetch(opts.url, { method: 'POST', headers: opts.headers, body: opts.body }).then(
        (r) => r.json(),
        () => undefined,
      );
      if (answer?.active !== true) notes.push(`⚠ introspection answered ${JSON.stringify(answer)} before the run.`);
      results.introspect = await load('introspection of an API key', opts);
    }
  }

  // 5. The naive reference (bench/naive.mjs) on the same data, token and pool size.
  if (only('naive')) {
    const naivePort = await freePort();
    const { iss, aud } = claims(access);
    const naive = startChild('naive', process.execPath, [join(ROOT, 'bench/naive.mjs')], {
      env: {
        ...process.env,
        PORT: String(naivePort),
        DATABASE_URL: BENCH_URL.toString(),
        POOL_MAX: String(POOL_MAX),
        JWKS_URL: `${base}/.well-known/jwks.json`,
        TOKEN_ISSUER: iss,
        TOKEN_AUDIENCE: Array.isArray(aud) ? aud[0] : aud,
      },
    });
    const naiveBase = `http://${HOST}:${naivePort}`;
    await waitReady(naive, `${naiveBase}/ready`, 15_000);
    const probe = await api(naiveBase, 'GET', s1Path, undefined, auth);
    if (probe.status !== 200 || probe.json?.data?.length !== TARGET_MEMBERS)
      notes.push(`⚠ the naive reference answered ${probe.status} before the run.`);
    results.naive = await load('naive reference of S1', { url: naiveBase + s1Path, headers: auth });
    await stopChild(naive);
  }

  // 6. The database's own ceiling for S1: the same statements, through pgbench.
  const { script, variables, source } = await s1PgbenchScript({ org: orgId, user: userId, sid: sessionId });
  if (only('pgbench')) {
    results.pgbench = await pgbench(pgbenchBin, script, variables);
    if (results.pgbench.failure) notes.push(`⚠ pgbench failed: ${results.pgbench.failure}`);
  }

  // S6: the member list's read with row-level security (the request role, the tenant set, no
  // WHERE on the tenant) against the same read as the superuser (RLS bypassed) with an explicit
  // WHERE; the same transaction shape otherwise, so the difference is what RLS costs.
  if (only('s6')) {
    const shape = (role, where) => `begin;
select set_config('role', '${role}', true), set_config('app.org_id', :org, true), set_config('app.user_id', :user, true);
select array(select m.entry from memberships m ${where} order by m.user_id limit 51);
commit;
`;
    const vars = { org: orgId, user: userId };
    results.s6rls = await pgbench(pgbenchBin, shape('tenantry_app', ''), vars, 'S6: member list with RLS (pgbench)');
    results.s6plain = await pgbench(
      pgbenchBin,
      shape(decodeURIComponent(ADMIN_URL.username || 'postgres'), 'where m.organization_id = :org::uuid'),
      vars,
      'S6: same read without RLS, explicit WHERE (pgbench)',
    );
    for (const r of [results.s6rls, results.s6plain]) if (r.failure) notes.push(`⚠ ${r.scenario} failed: ${r.failure}`);
  }

  // S5: creating an organization, transactional with its owner membership and audit event;
  // every request a new name, so no slug is retried.
  if (only('s5')) {
    const signedUp = signup.json.access_token;
    let n = 0;
    results.s5 = await load('S5: create organization', {
      url: `${base}/v1/organizations`,
      requests: [
        {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${signedUp}` },
          setupRequest: (req) => ({
            ...req,
            body: JSON.stringify({ name: `Bench Created ${process.pid}-${n++}`, industry: 'technology' }),
          }),
        },
      ],
    });
    const incomplete = await sql(
      BENCH_URL,
      `select count(*)::int as n from organizations o where o.name like 'Bench Created %' and (
         not exists (select 1 from memberships m where m.organization_id = o.id and m.role = 'owner')
         or not exists (select 1 from audit_events a where a.organization_id = o.id and a.action = 'organization.created'))`,
    );
    if (incomplete.rows[0].n > 0) notes.push(`⚠ S5: ${incomplete.rows[0].n} created organizations lack their owner or audit event.`);
  }

  // 7. login (argon2id verification dominates by design).
  if (only('login'))
    results.login = await load('login', {
      url: `${base}/v1/auth/login`,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: TARGET_EMAIL, password: PASSWORD }),
    });

  // 8. refresh: every request presents a token never presented before. Each answer's
  // new token goes back into the queue; the warm-up strands one token per connection
  // (in flight when it stops), hence the pool size. An empty queue sends a token that
  // cannot work, so running dry shows up as errors rather than as reuse.
  if (only('s3')) {
    const poolSize = CONNECTIONS * (WARMUP > 0 ? 2 : 1) + 20;
    log(`logging in ${poolSize} sessions for the refresh scenario`);
    const fresh = await loginMany(base, poolSize, orgId);
    let exhausted = 0;
    results.refresh = await load('S3: refresh-token rotation', {
      url: `${base}/oauth/token`,
      requests: [
        {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          setupRequest: (req) => {
            let token = fresh.shift();
            if (token === undefined) {
              exhausted++;
              token = 'rt_pool-exhausted';
            }
            return { ...req, body: `grant_type=refresh_token&refresh_token=${encodeURIComponent(token)}` };
          },
          onResponse: (status, body) => {
            if (status === 200) fresh.push(JSON.parse(body).refresh_token);
          },
        },
      ],
    });
    const reuse = await sql(BENCH_URL, `select count(*)::int as n from sessions where revoked_reason = 'refresh_token_reuse'`);
    const reused = reuse.rows[0].n;
    if (exhausted > 0 || reused > 0) {
      notes.push(`⚠ refresh: ${exhausted} requests found no fresh token; ${reused} sessions were ended by reuse detection.`);
    } else {
      notes.push(
        'refresh: every request presented a token never used before (0 sessions ended by reuse detection); sessions are scoped to the organization, so each refresh also re-checks the membership.',
      );
    }
  }

  // The large data set: 100,000 organizations and 1,000,000 memberships, then S1 again.
  if (LARGE) {
    log('growing the data set to 100,000 organizations and 1,000,000 memberships');
    const client = new pg.Client({ connectionString: BENCH_URL.toString() });
    await client.connect();
    try {
      await growLarge(client);
    } finally {
      await client.end();
    }
    results.s1large = await load('S1 on 100,000 organizations / 1,000,000 memberships', { url: base + s1Path, headers: auth });
  }

  await stopChild(server);
  const serverErrors = server
    .output()
    .split('\n')
    .filter((l) => /"level":(50|60)/.test(l));
  if (serverErrors.length > 0) notes.push(`⚠ the server logged ${serverErrors.length} errors, e.g. ${serverErrors[0].slice(0, 300)}`);

  // 9. The report.
  // Each target, next to the figure it judges.
  const ratio = (a, b) => (a?.rps && b?.rps ? a.rps / b.rps : null);
  const targets = [
    ['S3', results.refresh, (r) => r.rps >= 1500, '≥ 1,500/s'],
    ['S5', results.s5, (r) => r.rps >= 1000, '≥ 1,000/s'],
    ['Introspection', results.introspect, (r) => r.rps >= 3000, '≥ 3,000/s'],
  ];
  for (const [name, r, met, target] of targets) {
    if (r)
      notes.push(`${name} target ${target}: ${Math.round(r.rps ?? 0).toLocaleString('en-US')}/s, ${r.rps && met(r) ? 'met' : 'missed'}.`);
  }
  const s6 = ratio(results.s6rls, results.s6plain);
  if (s6 !== null) notes.push(`S6 target: RLS overhead ≤ 10 %: ${(100 * (1 - s6)).toFixed(1)} % (${s6 >= 0.9 ? 'met' : 'missed'}).`);
  const keyed = ratio(results.s1key, results.s1);
  if (keyed !== null)
    notes.push(`S1 with an API key, target within 15 % of S1: ${(100 * keyed).toFixed(0)} % of S1 (${keyed >= 0.85 ? 'met' : 'missed'}).`);
  const large = ratio(results.s1large, results.s1);
  if (large !== null)
    notes.push(`S1 on the large data set, target ≥ 80 % of S1: ${(100 * large).toFixed(0)} % (${large >= 0.8 ? 'met' : 'missed'}).`);

  const rows = [
    results.hello,
    results.login,
    results.refresh,
    results.s1,
    results.s2,
    results.s1key,
    results.introspect,
    results.naive,
    results.pgbench,
    results.s5,
    results.s6rls,
    results.s6plain,
    results.s1large,
  ].filter(Boolean);
  // Other work on the machine (a test suite, a build) takes CPU from the scenarios: say so.
  const foreign = rows.filter((r) => r.foreign !== null && r.foreign !== undefined);
  if (foreign.length > 0) {
    const shares = foreign.map((r) => `${r.scenario.split(':')[0]} ${Math.round(100 * r.foreign)} %`).join(', ');
    notes.push(
      foreign.some((r) => r.foreign > 0.05)
        ? `⚠ other processes on the machine (not this run, not PostgreSQL) took CPU during the scenarios — ${shares} of all CPU time: those figures understate the service; rerun on an idle machine.`
        : `Other processes used no significant CPU during the scenarios (${shares}).`,
    );
  }
  for (const r of rows) {
    if (r.statuses?.length) notes.push(`⚠ ${r.scenario}: non-2xx answers ${r.statuses.join(', ')}.`);
    if (r.timeouts) notes.push(`⚠ ${r.scenario}: ${r.timeouts} timeouts.`);
  }
  // A rate made of failures compares with nothing.
  const clean = (r) => Boolean(r.rps) && !r.errors && !r.non2xx;
  const pct = (a, b) =>
    clean(a) && clean(b)
      ? `${((100 * a.rps) / b.rps).toFixed(0)} %`
      : `n/a (${[a, b]
          .filter((r) => !clean(r))
          .map((r) => r.scenario.split(':')[0])
          .join(' and ')} failed)`;
  if (results.s1 && results.pgbench && results.hello && results.naive && results.s2)
    notes.unshift(
      `S1 runs at ${pct(results.s1, results.pgbench)} of pgbench's rate for the same SQL transaction, and at ${pct(results.s1, results.hello)} of the hello-world ceiling; S2 at ${pct(results.s2, results.hello)} of the ceiling.`,
      `S1 runs at ${pct(results.s1, results.naive)} of the naive reference's rate (bench/naive.mjs: the same route as a naive Fastify + pg version of this design, with no session, membership or permission check and no row-level security, on the same data, token and pool size).`,
      `pgbench runs S1's transaction (${source}) with -M prepared -c ${CONNECTIONS} -j 2; its p50/p99 come from its per-transaction log, its errors column is failed transactions.`,
    );
  const autocannonVersion = createRequire(import.meta.url)('autocannon/package.json').version;
  const m = machine(postgresVersion);
  const settings =
    `Load: autocannon ${autocannonVersion}, ${CONNECTIONS} connections, ${DURATION} s per scenario` +
    `${WARMUP > 0 ? ` after a ${WARMUP} s warm-up` : ''}; load generator, server (one Node process, DATABASE_POOL_MAX=${POOL_MAX}, LOG_LEVEL=warn) ` +
    `and PostgreSQL share this machine. Data: ${seeded.counts.organizations.toLocaleString('en-US')} organizations, ` +
    `${seeded.counts.users.toLocaleString('en-US')} users, ${seeded.counts.memberships.toLocaleString('en-US')} memberships; ` +
    `S1 and S2 read an organization of ${TARGET_MEMBERS} members with a member's token.`;
  const section = markdown({ m, settings, rows, notes, pgbenchScript: script, startup });
  process.stdout.write(`\n${section}\n\n`);
  // A run of some scenarios only is a check, not a set of figures to keep.
  if (ONLY === null) {
    writeSection(join(ROOT, '../../BENCHMARKS.md'), section);
    log('BENCHMARKS.md updated');
  }
}

let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    interrupted = true;
    log(`${signal}: stopping child processes`);
    stopAll().finally(() => process.exit(130));
  });
}

main()
  .then(
    () => 0,
    (err) => {
      if (!interrupted) log(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      return 1;
    },
  )
  .then(async (code) => {
    await stopAll();
    process.exit(code);
  });
