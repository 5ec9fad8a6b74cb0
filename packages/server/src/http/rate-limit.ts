import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { AppError } from './errors.js';

export interface LimitStore {
  /** Counts one attempt against `key`; returns the count in the current window and ms until it resets. */
  hit(key: string, windowMs: number): Promise<{ count: number; resetMs: number }>;
  close(): Promise<void>;
}

/** Fixed windows in process memory: right for one instance. */
export class MemoryStore implements LimitStore {
  private readonly windows = new Map<string, { count: number; resetAt: number }>();
  private readonly sweeper = setInterval(() => {
    const now = Date.now();
    for (const [k, w] of this.windows) if (w.resetAt <= now) this.windows.delete(k);
  }, 60_000).unref();

  async hit(key: string, windowMs: number) {
    const now = Date.now();
    let w = this.windows.get(key);
    if (!w || w.resetAt <= now) {
      w = { count: 0, resetAt: now + windowMs };
      this.windows.set(key, w);
    }
    w.count++;
    return { count: w.count, resetMs: w.resetAt - now };
  }

  async close() {
    clearInterval(this.sweeper);
  }
}

// INCR and set the window's expiry atomically on the first hit.
const HIT = `local c = redis.call('INCR', KEYS[1])
if c == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {c, redis.call('PTTL', KEYS[1])}`;

/** Fixed windows in Redis: limits shared by every instance. */
export class RedisStore implements LimitStore {
  private readonly redis: Redis;
  constructor(url: string, commandTimeoutMs = 500) {
    this.redis = new Redis(url, {
      // A hung Redis (connection open, no answer) fails a hit after commandTimeout; a dead one
      // fails it at once (no offline queue), so a request never waits on it longer than that.
      commandTimeout: commandTimeoutMs,
      connectTimeout: Math.max(1_000, commandTimeoutMs),
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      lazyConnect: false,
      retryStrategy: (times) => Math.min(times * 200, 2_000),
    });
    this.redis.on('error', () => undefined); // reported through failed hits
  }

  async hit(key: string, windowMs: number) {
    const [count, ttl] = (await this.redis.eval(HIT, 1, `tenantry:rl:${key}`, windowMs)) as [number, number];
    return { count, resetMs: ttl > 0 ? ttl : windowMs };
  }

  async close() {
    this.redis.disconnect();
  }
}

export type LimiterLog = Pick<Logger, 'warn' | 'info'>;

export class RateLimiter {
  /** Counts while the shared store is out: limits stay enforced, per process. */
  private readonly fallback = new MemoryStore();
  private storeDown = false;

  constructor(
    private readonly store: LimitStore,
    private readonly max: number,
    private readonly windowMs: number,
    private readonly log?: LimiterLog,
  ) {}

  /** Counts one attempt against every key; over the limit on any of them → 429 RATE_LIMITED with Retry-After. */
  async check(keys: string[]): Promise<void> {
    const results = await this.hitAll(keys);
    const over = results.filter((r) => r.count > this.max);
    if (over.length > 0) {
      const retryAfter = Math.max(1, Math.ceil(Math.max(...over.map((r) => r.resetMs)) / 1000));
      throw new AppError('RATE_LIMITED', `Too many attempts; retry in ${retryAfter} s`, undefined, { 'retry-after': String(retryAfter) });
    }
  }

  /**
   * The shared store when it answers; per-process memory while it does not, so an unreachable
   * or hung store neither takes logins down nor switches the limits off. One warning when the
   * store goes, one notice when it is back.
   */
  private async hitAll(keys: string[]) {
    try {
      const results = await Promise.all(keys.map((k) => this.store.hit(k, this.windowMs)));
      if (this.storeDown) {
        this.storeDown = false;
        this.log?.info('rate-limit store is reachable again; limits are shared again');
      }
      return results;
    } catch (err) {
      if (!this.storeDown) {
        this.storeDown = true;
        this.log?.warn({ err }, 'rate-limit store unavailable; limits are counted per process until it is back');
      }
      return Promise.all(keys.map((k) => this.fallback.hit(k, this.windowMs)));
    }
  }

  async close() {
    await this.fallback.close();
    await this.store.close();
  }
}
