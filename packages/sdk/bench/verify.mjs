#!/usr/bin/env node
// Verification throughput of the SDK on one core (one thread): cached verifications (a
// token seen before: a map lookup and the revocation check) and uncached ones (the EdDSA
// signature check of a token never seen). Targets: ≥ 20,000 cached/s, ≥ 5,000 uncached/s.
// Run alone (`node packages/sdk/bench/verify.mjs`, after a build) or `npm run bench:sdk`.
// On a loaded machine the figures mean little alone: compare runs made side by side.
import { generateKeyPairSync } from 'node:crypto';
import { SignJWT } from 'jose';
import { AccessTokenVerifier, RevocationCache, StaticKeySet } from '../dist/index.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);
const ISSUER = 'https://tenantry.bench';
const AUDIENCE = 'https://tool.bench';

const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const keys = await StaticKeySet.from({ keys: [{ ...publicKey.export({ format: 'jwk' }), kid: 'bench', alg: 'EdDSA', use: 'sig' }] });
const now = Math.floor(Date.now() / 1000);
const mint = () =>
  new SignJWT({
    client_id: 'tenantry',
    principal: 'user',
    org_id: crypto.randomUUID(),
    sid: crypto.randomUUID(),
    permissions: ['crm:contacts:read'],
  })
    .setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', kid: 'bench' })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setSubject(crypto.randomUUID())
    .setIssuedAt(now)
    .setExpirationTime(now + 900)
    .setJti(crypto.randomUUID())
    .sign(privateKey);

// Per second of wall time and per second of this process's CPU time: on a loaded machine
// the first depends on what else runs, the second far less.
async function rate(label, target, run) {
  let n = 0;
  const until = performance.now() + SECONDS * 1000;
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  while (performance.now() < until) n += await run();
  const cpu = process.cpuUsage(cpuStart);
  const perSecond = Math.round(n / ((performance.now() - start) / 1000));
  const perCpuSecond = Math.round(n / ((cpu.user + cpu.system) / 1e6));
  console.log(
    `${label.padEnd(34)} ${String(perSecond).padStart(9)} /s   ${String(perCpuSecond).padStart(9)} /CPU-s   (target ≥ ${target})`,
  );
  return perSecond;
}

// Cached: a working set of 1,000 live tokens, verified in turn, with a revocation cache holding entries.
const revocations = new RevocationCache();
for (let i = 0; i < 1000; i++) {
  revocations.apply({
    id: crypto.randomUUID(),
    type: 'member.removed',
    timestamp: new Date().toISOString(),
    organization_id: crypto.randomUUID(),
    actor: { type: 'user', id: null },
    data: { user_id: crypto.randomUUID() },
  });
}
const cachedVerifier = new AccessTokenVerifier({ issuer: ISSUER, audience: AUDIENCE, keys, revocations });
const working = await Promise.all(Array.from({ length: 1000 }, mint));
for (const t of working) await cachedVerifier.verify(t);
let i = 0;
await rate('cached verifications', 20_000, async () => {
  for (let k = 0; k < 1000; k++) await cachedVerifier.verify(working[i++ % working.length]);
  return 1000;
});

// Uncached: every token new to the verifier (the cache is off), signed beforehand.
const fresh = await Promise.all(Array.from({ length: 20_000 }, mint));
const uncachedVerifier = new AccessTokenVerifier({ issuer: ISSUER, audience: AUDIENCE, keys, revocations, cacheSize: 0 });
let j = 0;
await rate('uncached EdDSA verifications', 5_000, async () => {
  for (let k = 0; k < 100; k++) await uncachedVerifier.verify(fresh[j++ % fresh.length]);
  return 100;
});
