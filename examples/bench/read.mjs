#!/usr/bin/env node
// The CRM's authenticated, tenant-scoped read (GET /orgs/:org_id/contacts: token verified by
// @tenantry/sdk, then withTenant) against the same read without the SDK (the same transaction
// written by hand, no token), on one database, in alternating rounds so a loaded machine
// affects both alike. Target: overhead ≤ 10 %.
//
//   TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres node examples/bench/read.mjs [seconds per round] [rounds]
//
// It creates a `crm_bench_<random>` database on that server and drops it at the end. Tokens
// are signed by a local Ed25519 key served as a JWKS on loopback (Tenantry's format).
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { buildCrm, crmSchema } from '@tenantry-examples/crm';
import autocannon from 'autocannon';
import Fastify from 'fastify';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import pg from 'pg';

const adminUrl = process.env.TEST_DATABASE_URL ?? process.env.DATABASE_URL;
if (!adminUrl) {
  console.error('Set TEST_DATABASE_URL (or DATABASE_URL) to a PostgreSQL server the bench may create a database on.');
  process.exit(2);
}
const seconds = Number(process.argv[2] ?? 3);
const rounds = Number(process.argv[3] ?? 3);
const suffix = randomBytes(4).toString('hex');
const dbName = `crm_bench_${suffix}`;
const role = `crm_bench_app_${suffix}`;
const admin = async (text) => {
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  try {
    await c.query(text);
  } finally {
    await c.end();
  }
};
const dbUrl = Object.assign(new URL(adminUrl), { pathname: `/${dbName}` }).toString();

await admin(`create database ${dbName}`);
await admin(`create role ${role} nologin`);
const pool = new pg.Pool({ connectionString: dbUrl, max: 8 });
const closers = [];
try {
  for (const s of crmSchema(role)) await pool.query(s);
  const orgId = randomUUID();
  const other = randomUUID();
  for (let i = 0; i < 20; i++) {
    for (const org of [orgId, other]) {
      await pool.query('insert into contacts (organization_id, name, email, address) values ($1, $2, $3, $4)', [
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

  const crm = await buildCrm({ issuer, audience, jwksUri: `http://127.0.0.1:${jwksServer.address().port}/`, pool, role });
  await crm.app.listen({ host: '127.0.0.1', port: 0 });
  closers.push(() => crm.app.close());

  // The same read without the SDK: no token, the transaction and settings by hand.
  const plain = Fastify();
  plain.get('/orgs/:org_id/contacts', async (request) => {
    const client = await pool.connect();
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

  const target = (app) => `http://127.0.0.1:${app.server.address().port}/orgs/${orgId}/contacts`;
  const check = await fetch(target(crm.app), { headers: { authorization: `Bearer ${token}` } });
  if (check.status !== 200 || (await check.json()).data.length !== 20) throw new Error(`the CRM answered ${check.status}`);
  const run = async (url, headers) => (await autocannon({ url, headers, connections: 8, duration: seconds })).requests.average;

  const results = { sdk: [], plain: [] };
  for (let i = 0; i < rounds; i++) {
    results.plain.push(await run(target(plain), {}));
    results.sdk.push(await run(target(crm.app), { authorization: `Bearer ${token}` }));
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const sdk = median(results.sdk);
  const base = median(results.plain);
  console.log(`rounds: ${rounds} × ${seconds} s each, 8 connections, pool of 8, 20 rows per read`);
  console.log(`without the SDK: ${base.toFixed(0)} req/s (median)`);
  console.log(`CRM with the SDK (verified token + withTenant): ${sdk.toFixed(0)} req/s (median)`);
  console.log(`overhead: ${((1 - sdk / base) * 100).toFixed(1)} % (target ≤ 10 %)`);
} finally {
  for (const close of closers.reverse()) await close();
  await pool.end();
  await admin(`drop database if exists ${dbName} with (force)`);
  await admin(`drop role if exists ${role}`);
}
