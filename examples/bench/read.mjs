#!/usr/bin/env node
// The CRM's authenticated, tenant-scoped read (GET /orgs/:org_id/contacts: token verified by
// @tenantry/sdk, then withTenant) against the same read without the SDK (the same transaction
// written by hand, no token). Target: overhead ≤ 10 %.
//
//   TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres node examples/bench/read.mjs [requests per round] [rounds]
//   (defaults 3000 and 6)
//
// What is compared is CPU per request, which a loaded machine changes far less than
// throughput: the CPU time of the process serving both apps (a child of this one, so the
// load generator is not counted) and of each app's PostgreSQL backends (its pool's
// connections, found by application_name), over a fixed number of requests, in rounds that
// alternate the order. Linux only (it reads /proc). Throughput is printed as a rough check.
//
// It creates a `crm_bench_<random>` database on that server and drops it at the end. Tokens
// are signed by a local Ed25519 key served as a JWKS on loopback (Tenantry's format).
import { fork } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { buildCrm, crmSchema } from '@tenantry-examples/crm';
import autocannon from 'autocannon';
import Fastify from 'fastify';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import pg from 'pg';

const APPS = ['plain', 'sdk'];
const poolOf = (dbUrl, app) => {
  const pool = new pg.Pool({ connectionString: dbUrl, max: 8, idleTimeoutMillis: 0, application_name: `crm-bench-${app}` });
  pool.on('error', () => undefined); // the database is dropped with its connections at the end
  return pool;
};

/** The child: both apps on their own pools, until told to stop. */
async function serve({ dbUrl, role }) {
  const pools = [];
  const closers = [];
  const setup = poolOf(dbUrl, 'setup');
  pools.push(setup);
  for (const s of crmSchema(role)) await setup.query(s);
  const orgId = randomUUID();
  const other = randomUUID();
  for (let i = 0; i < 20; i++) {
    for (const org of [orgId, other]) {
      await setup.query('insert into contacts (organization_id, name, email, address) values ($1, $2, $3, $4)', [
        org,
        `C${i}`,
        `c${i}@x.test`,
        `${i} Main St`,
      ]);
    }
  }

  // Tenantry's side, reduced to its JWKS and a token it would sign for the CRM.
  const { publicKey, privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
  const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'bench', alg: 'EdDSA', use: 'sig' }] });
  const jwksServer = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(jwks));
  await new Promise((r) => jwksServer.listen(0, '127.0.0.1', r));
  closers.push(() => new Promise((r) => jwksServer.close(r)));
  const issuer = 'https://tenantry.bench';
  const audience = 'https://crm.bench';
  const toolId = randomUUID(); // a tool's token names it twice: sub = client_id
  const token = await new SignJWT({ client_id: toolId, principal: 'tool', org_id: orgId, permissions: ['crm:contacts:read'] })
    .setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', kid: 'bench' })
    .setIssuer(issuer)
    .setAudience(audience)
    .setSubject(toolId)
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(privateKey);

  const sdkPool = poolOf(dbUrl, 'sdk');
  pools.push(sdkPool);
  const crm = await buildCrm({ issuer, audience, jwksUri: `http://127.0.0.1:${jwksServer.address().port}/`, pool: sdkPool, role });
  await crm.app.listen({ host: '127.0.0.1', port: 0 });
  closers.push(() => crm.app.close());

  // The same read without the SDK: no token, the transaction and settings by hand.
  const plainPool = poolOf(dbUrl, 'plain');
  pools.push(plainPool);
  const plain = Fastify();
  plain.get('/orgs/:org_id/contacts', async (request) => {
    const client = await plainPool.connect();
    try {
      await client.query('begin');
      await client.query("select set_config('app.org_id', $1, true), set_config('role', $2, true)", [request.params.org_id, role]);
      const { rows } = await client.query('select id, name, email, address from contacts order by created_at, id');
      await client.query('commit');
      return { data: rows };
    } catch (err) {
      await client.query('rollback');
      throw err;
    } finally {
      client.release();
    }
  });
  await plain.listen({ host: '127.0.0.1', port: 0 });
  closers.push(() => plain.close());

  process.on('message', async (m) => {
    if (m !== 'stop') return;
    for (const close of closers.reverse()) await close();
    for (const pool of pools) await pool.end();
    process.exit(0);
  });
  const url = (app) => `http://127.0.0.1:${app.server.address().port}/orgs/${orgId}/contacts`;
  process.send({ urls: { plain: url(plain), sdk: url(crm.app) }, token });
}

/** CPU seconds a process has used, all its threads, at nanosecond resolution (schedstat); 0 once it is gone. */
function cpuSeconds(pid) {
  try {
    let ns = 0;
    for (const task of readdirSync(`/proc/${pid}/task`))
      ns += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0]);
    return ns / 1e9;
  } catch {
    return 0;
  }
}

async function measure() {
  const adminUrl = process.env.TEST_DATABASE_URL ?? process.env.DATABASE_URL;
  if (!adminUrl) {
    console.error('Set TEST_DATABASE_URL (or DATABASE_URL) to a PostgreSQL server the bench may create a database on.');
    process.exit(2);
  }
  const requests = Number(process.argv[2] ?? 3000);
  const rounds = Number(process.argv[3] ?? 6);
  const suffix = randomBytes(4).toString('hex');
  const dbName = `crm_bench_${suffix}`;
  const role = `crm_bench_app_${suffix}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database ${dbName}`);
  await admin.query(`create role ${role} nologin`);
  const dbUrl = Object.assign(new URL(adminUrl), { pathname: `/${dbName}` }).toString();
  const child = fork(new URL(import.meta.url), ['--serve'], { env: { ...process.env, BENCH_DB_URL: dbUrl, BENCH_ROLE: role } });
  try {
    const { urls, token } = await new Promise((resolve, reject) => {
      child.once('message', resolve);
      child.once('exit', (code) => reject(new Error(`the apps exited (${code})`)));
    });
    const headers = (app) => (app === 'sdk' ? { authorization: `Bearer ${token}` } : {});
    const fire = async (app, amount) => {
      const result = await autocannon({ url: urls[app], headers: headers(app), connections: 8, amount });
      if (result.non2xx || result.errors) throw new Error(`${app}: ${result.non2xx} answers not 2xx, ${result.errors} errors`);
      return result;
    };
    for (const app of APPS) await fire(app, 1000); // warm up: JIT, pools full, the JWKS fetched
    const backends = async (app) =>
      (
        await admin.query('select pid from pg_stat_activity where datname = $1 and application_name = $2', [dbName, `crm-bench-${app}`])
      ).rows.map((r) => r.pid);
    const results = { plain: [], sdk: [] };
    for (let i = 0; i < rounds; i++) {
      for (const app of i % 2 === 0 ? APPS : [...APPS].reverse()) {
        const pids = await backends(app);
        const tool0 = cpuSeconds(child.pid);
        const db0 = pids.map(cpuSeconds);
        const result = await fire(app, requests);
        const tool = ((cpuSeconds(child.pid) - tool0) / requests) * 1e6;
        const db = (pids.reduce((sum, pid, k) => sum + cpuSeconds(pid) - db0[k], 0) / requests) * 1e6;
        results[app].push({ tool, db, total: tool + db, perSecond: result.requests.average });
      }
    }
    // CPU: all rounds together (so tool + PostgreSQL add up); throughput: the median round.
    const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const m = Object.fromEntries(
      APPS.map((app) => {
        const rs = results[app];
        return [
          app,
          {
            tool: mean(rs.map((r) => r.tool)),
            db: mean(rs.map((r) => r.db)),
            total: mean(rs.map((r) => r.total)),
            perSecond: median(rs.map((r) => r.perSecond)),
          },
        ];
      }),
    );
    const line = (label, r) =>
      `${label}: ${r.total.toFixed(0)} µs CPU per request (tool ${r.tool.toFixed(0)} + PostgreSQL ${r.db.toFixed(0)}), ~${r.perSecond.toFixed(0)} req/s`;
    console.log(`rounds: ${rounds} × ${requests} requests each, 8 connections, pools of 8, 20 rows per read`);
    console.log(line('without the SDK', m.plain));
    console.log(line('CRM with the SDK (verified token + withTenant)', m.sdk));
    // The overhead from each round's pair (run one after the other), so drift falls on both.
    const ratios = (k) => results.sdk.map((r, i) => r[k] / results.plain[i][k]).sort((a, b) => a - b);
    const overhead = (k) => ((median(ratios(k)) - 1) * 100).toFixed(1);
    console.log(`overhead: ${overhead('total')} % CPU per request (tool process alone: ${overhead('tool')} %) (target ≤ 10 %)`);
    console.log(`  median of the rounds' ratios; they ranged ${ratios('total')[0].toFixed(2)} to ${ratios('total').at(-1).toFixed(2)}`);
  } finally {
    if (child.exitCode === null) {
      child.send('stop');
      await new Promise((r) => child.once('exit', r));
    }
    await admin.query(`drop database if exists ${dbName} with (force)`);
    await admin.query(`drop role if exists ${role}`);
    await admin.end();
  }
}

if (process.argv[2] === '--serve') await serve({ dbUrl: process.env.BENCH_DB_URL, role: process.env.BENCH_ROLE });
else await measure();
