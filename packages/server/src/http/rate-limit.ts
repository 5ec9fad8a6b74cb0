import { Redis } from 'ioredis';
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
  constructor(url: string) {
    this.redis = new Redis(url, { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: false });
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

export class RateLimiter {
  constructor(
    private readonly store: LimitStore,
    private readonly max: number,
    private readonly windowMs: number,
    private readonly onStoreError: (err: unknown) => void = () => undefined,
  ) {}

  /** Counts one attempt against every key; over the limit on any of them → 429 RATE_LIMITED with Retry-After. */
  async check(keys: string[]): Promise<void> {
    let results: Array<{ count: number; resetMs: number }>;
    try {
      results = await Promise.all(keys.map((k) => this.store.hit(k, this.windowMs)));
    } catch (err) {
      // An unreachable limit store must not take logins down with it.
      this.onStoreError(err);
      return;
    }
    const over = results.filter((r) => r.count > this.max);
    if (over.length > 0) {
      const retryAfter = Math.max(1, Math.ceil(Math.max(...over.map((r) => r.resetMs)) / 1000));
      throw new AppError('RATE_LIMITED', `Too many attempts; retry in ${retryAfter} s`, undefined, { 'retry-after': String(retryAfter) });
    }
  }

  close() {
    return this.store.close();
  }
}
