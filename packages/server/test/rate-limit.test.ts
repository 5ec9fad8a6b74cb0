import { randomInt } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { connect, createServer } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, buildApp } from '../src/app.js';
import { type Config, testConfig } from '../src/config.js';
import { FallbackStore, type LimiterLog, RateLimiter } from '../src/http/rate-limit.js';
import { RedisStore } from '../src/http/redis-store.js';
import { startApp, type TestApp } from './helpers/app.js';
import { ENGINES } from './helpers/db.js';
import { PASSWORD } from './helpers/users.js';

// Login and refresh are rate limited per IP and per email (login) in fixed windows.
// Each test uses its own client addresses (inject's remoteAddress) and emails, so they do not share counters.

const LIMITS: Partial<Config> = { rateLimit: { max: 3, windowMs: 60_000 } };
const REDIS_URL = process.env.TEST_REDIS_URL;

// Counters in Redis are shared with any other run of the suite on the same server: each file
// takes its addresses from a random place in 10.0.0.0/8, so two runs at once do not meet.
let ipSeq = randomInt(0, 2 ** 24 - 2 ** 16);
/** A client address no other test in this file uses. */
const freshIp = () => {
  const n = ++ipSeq;
  return `10.${n >>> 16}.${(n >>> 8) & 255}.${n & 255}`;
};
const freshEmail = () => `rl-${crypto.randomUUID()}@example.com`;

/** Signs up from an address of its own, so signups do not eat into any limit a test is measuring. */
async function signupUser(app: App, email: string, ip = freshIp()) {
  const res = await app.inject({
    method: 'POST',
    url: '/v1/auth/signup',
    payload: { email, password: PASSWORD, name: 'Rate Limited' },
    remoteAddress: ip,
  });
  if (res.statusCode !== 201) throw new Error(`signup failed: ${res.statusCode} ${res.body}`);
  const b = res.json();
  return { id: b.user.id as string, email: b.user.email as string, refresh: b.refresh_token as string };
}

const login = (app: App, email: string, ip: string, password = PASSWORD) =>
  app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email, password }, remoteAddress: ip });

function expectRateLimited(res: Awaited<ReturnType<typeof login>>, windowSeconds = 60) {
  expect(res.statusCode, res.body).toBe(429);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.json()).toMatchObject({ status: 429, code: 'RATE_LIMITED', request_id: res.headers['x-request-id'] });
  const retryAfter = String(res.headers['retry-after']);
  expect(retryAfter).toMatch(/^\d+$/);
  expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
  expect(Number(retryAfter)).toBeLessThanOrEqual(windowSeconds);
}

describe.each(ENGINES)('rate limits (%s)', (engine) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp(engine, LIMITS);
  });
  afterAll(() => t?.close());

  it('the 4th login attempt for one email is 429 RATE_LIMITED with Retry-After, even with the right password', async () => {
    const u = await signupUser(t.app, freshEmail());
    const ip = freshIp();
    for (let i = 0; i < 3; i++) expect((await login(t.app, u.email, ip)).statusCode).toBe(200);
    const limited = await login(t.app, u.email, ip);
    expectRateLimited(limited);
    // No tokens in a refused answer.
    expect(limited.body).not.toMatch(/access_token|refresh_token/);
  });

  it('limits one email across many addresses (per-email count)', async () => {
    const email = freshEmail();
    for (let i = 0; i < 3; i++) {
      const res = await login(t.app, email, freshIp(), 'wrong password!!');
      expect(res.statusCode).toBe(401);
      expect(res.json().code).toBe('INVALID_CREDENTIALS');
    }
    expectRateLimited(await login(t.app, email, freshIp(), 'wrong password!!'));
    // Case and surrounding spaces do not make it another email.
    expectRateLimited(await login(t.app, `  ${email.toUpperCase()} `, freshIp(), 'wrong password!!'));
  });

  it('limits one address across many emails (per-IP count)', async () => {
    const ip = freshIp();
    for (let i = 0; i < 3; i++) expect((await login(t.app, freshEmail(), ip, 'wrong password!!')).statusCode).toBe(401);
    // A fourth, never-seen email from the same address is refused.
    expectRateLimited(await login(t.app, freshEmail(), ip, 'wrong password!!'));
    // ... while another address and another email are unaffected.
    const u = await signupUser(t.app, freshEmail());
    expect((await login(t.app, u.email, freshIp())).statusCode).toBe(200);
  });

  it('answers the same 429 whether the credentials were right or wrong', async () => {
    const u = await signupUser(t.app, freshEmail());
    const ip = freshIp();
    for (let i = 0; i < 3; i++) await login(t.app, u.email, ip, 'wrong password!!');
    const right = await login(t.app, u.email, ip);
    const wrong = await login(t.app, u.email, ip, 'wrong password!!');
    expectRateLimited(right);
    expectRateLimited(wrong);
    const strip = (b: Record<string, unknown>) => ({ ...b, request_id: undefined, detail: undefined });
    expect(strip(right.json())).toEqual(strip(wrong.json()));
  });

  it('limits /oauth/token per session (not per address), answering in the OAuth error format', async () => {
    const u = await signupUser(t.app, freshEmail());
    const refresh = (token: string) =>
      t.app.inject({
        method: 'POST',
        url: '/oauth/token',
        payload: `grant_type=refresh_token&refresh_token=${encodeURIComponent(token)}`,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        remoteAddress: freshIp(),
      });
    let token = u.refresh;
    for (let i = 0; i < 3; i++) {
      const res = await refresh(token);
      expect(res.statusCode, res.body).toBe(200);
      token = res.json().refresh_token;
    }
    const limited = await refresh(token);
    expect(limited.statusCode).toBe(429);
    expect(limited.headers['content-type']).toMatch(/^application\/json/);
    expect(limited.headers['cache-control']).toBe('no-store');
    const body = limited.json();
    expect(Object.keys(body).sort()).toEqual(['error', 'error_description']);
    expect(body.error).toMatch(/^[a-z_]+$/);
    expect(body).not.toHaveProperty('code');
    expect(String(limited.headers['retry-after'])).toMatch(/^\d+$/);
    // Invalid tokens from one address are not a session's budget: they stay invalid_grant.
    const ip = freshIp();
    for (let i = 0; i < 5; i++) {
      const res = await t.app.inject({
        method: 'POST',
        url: '/oauth/token',
        payload: { grant_type: 'refresh_token', refresh_token: `rt_not-a-real-token-${i}` },
        remoteAddress: ip,
      });
      expect(res.json()).toMatchObject({ error: 'invalid_grant' });
    }
  });

  it('a dead Redis: limits fall back to per-process memory (not fail-open), one warning per outage', async () => {
    // A port that was just free: nothing listens there.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as AddressInfo;
    await new Promise((resolve) => probe.close(resolve));
    const deadUrl = `redis://127.0.0.1:${port}`;

    const app = await buildApp(testConfig({ ...LIMITS, redisUrl: deadUrl }), t.db);
    try {
      const u = await signupUser(app, freshEmail());
      const ip = freshIp();
      for (let i = 0; i < 3; i++) expect((await login(app, u.email, ip)).statusCode).toBe(200);
      expectRateLimited(await login(app, u.email, ip));
    } finally {
      await app.close();
    }

    const warnings: unknown[] = [];
    const log = { warn: (o: unknown) => void warnings.push(o), info: () => undefined };
    const store = new FallbackStore(new RedisStore(deadUrl), log as unknown as LimiterLog);
    const limiter = new RateLimiter(store, 3, 60_000);
    try {
      for (let i = 0; i < 3; i++) await limiter.check([`dead:${i}`]);
      await expect(limiter.check(['dead:0', 'dead:0', 'dead:0'])).rejects.toMatchObject({ code: 'RATE_LIMITED' });
      expect(warnings).toHaveLength(1);
    } finally {
      await store.close();
    }
  });

  describe('shared through Redis', () => {
    let redis: Redis;
    const apps: App[] = [];
    const email = freshEmail();
    const ip = `172.${randomInt(16, 32)}.${randomInt(0, 256)}.${randomInt(1, 255)}`;
    const signupIp = `192.168.${randomInt(0, 256)}.${randomInt(1, 255)}`;

    beforeAll(async () => {
      if (!REDIS_URL) return;
      redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
      // Two instances over the same database and the same Redis.
      for (let i = 0; i < 2; i++) apps.push(await buildApp(testConfig({ ...LIMITS, redisUrl: REDIS_URL }), t.db));
    });

    afterAll(async () => {
      for (const app of apps) await app.close();
      if (redis) {
        await redis.del(
          `tenantry:rl:fail:${email}`,
          `tenantry:rl:login:ip:${ip}`,
          `tenantry:rl:signup:ip:${signupIp}`,
          `tenantry:rl:signup:email:${email}`,
        );
        redis.disconnect();
      }
    });

    it.runIf(REDIS_URL)('an instance whose Redis connection is slow to open still counts its first login in Redis', async () => {
      // A proxy that holds each new connection for 300 ms before passing it on to Redis.
      const target = new URL(REDIS_URL!);
      const proxy = createServer((client) => {
        client.pause();
        setTimeout(() => {
          const upstream = connect(Number(target.port || 6379), target.hostname);
          client.pipe(upstream).pipe(client);
          client.resume();
          client.on('error', () => upstream.destroy());
          upstream.on('error', () => client.destroy());
        }, 300);
      });
      await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
      const slowUrl = `redis://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
      const app = await buildApp(testConfig({ ...LIMITS, redisUrl: slowUrl }), t.db);
      const slowIp = freshIp();
      try {
        expect((await login(app, freshEmail(), slowIp)).statusCode).toBe(401);
        expect(Number(await redis.get(`tenantry:rl:login:ip:${slowIp}`))).toBe(1);
      } finally {
        await app.close();
        await redis.del(`tenantry:rl:login:ip:${slowIp}`);
        proxy.close();
      }
    });

    it.runIf(REDIS_URL)('two instances count one email and one address together', async () => {
      const [a, b] = apps as [App, App];
      await signupUser(a, email, signupIp);
      expect((await login(a, email, ip)).statusCode).toBe(200);
      expect((await login(b, email, ip)).statusCode).toBe(200);
      expect((await login(a, email, ip)).statusCode).toBe(200);
      expectRateLimited(await login(b, email, ip));
      expectRateLimited(await login(a, email, ip));

      // The counters live under the documented prefix, with an expiry of at most one window.
      // Attempts count per address; per account only failures, so these successful
      // logins and the two refused by the address left no window for the email.
      const ttl = await redis.pttl(`tenantry:rl:login:ip:${ip}`);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(60_000);
      expect(Number(await redis.get(`tenantry:rl:login:ip:${ip}`))).toBe(5);
      expect(await redis.exists(`tenantry:rl:fail:${email}`)).toBe(0);
    });
  });
});
