// Apart from the other stores so that ioredis loads only when REDIS_URL is set.
import { Redis } from 'ioredis';
import type { LimitStore } from './rate-limit.js';

// INCR and set the window's expiry atomically on the first hit.
const HIT = `local c = redis.call('INCR', KEYS[1])
if c == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {c, redis.call('PTTL', KEYS[1])}`;

/** Fixed windows in Redis: limits shared by every instance. */
export class RedisStore implements LimitStore {
  private readonly redis: Redis;
  private readonly connectTimeoutMs: number;
  constructor(url: string, commandTimeoutMs = 500) {
    this.connectTimeoutMs = Math.max(1_000, commandTimeoutMs);
    this.redis = new Redis(url, {
      // A hung Redis (connection open, no answer) fails a hit after commandTimeout; a dead one
      // fails it at once (no offline queue), so a request never waits on it longer than that.
      commandTimeout: commandTimeoutMs,
      connectTimeout: this.connectTimeoutMs,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      lazyConnect: false,
      retryStrategy: (times) => Math.min(times * 200, 2_000),
    });
    this.redis.on('error', () => undefined); // reported through failed hits
  }

  /**
   * Resolves once the first connection is up, or after the connect timeout when it is not.
   * Without the offline queue, a hit before then fails at once, and the instance would count
   * its first second of limits in memory, apart from the other instances.
   */
  ready(): Promise<void> {
    if (this.redis.status === 'ready') return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.redis.off('ready', done);
        resolve();
      };
      const timer = setTimeout(done, this.connectTimeoutMs).unref();
      this.redis.once('ready', done);
    });
  }

  async hit(key: string, windowMs: number) {
    const [count, ttl] = (await this.redis.eval(HIT, 1, `tenantry:rl:${key}`, windowMs)) as [number, number];
    return { count, resetMs: ttl > 0 ? ttl : windowMs };
  }

  async peek(key: string) {
    const k = `tenantry:rl:${key}`;
    const [count, ttl] = await Promise.all([this.redis.get(k), this.redis.pttl(k)]);
    return { count: Number(count ?? 0), resetMs: Math.max(ttl, 0) };
  }

  async close() {
    this.redis.disconnect();
  }
}
