import { isIPv4, isIPv6 } from 'node:net';
import type { Logger } from 'pino';
import { AppError } from './errors.js';

export interface LimitStore {
  /** Counts one attempt against `key`; returns the count in the current window and ms until it resets. */
  hit(key: string, windowMs: number): Promise<{ count: number; resetMs: number }>;
  /** The count in `key`'s current window without counting anything (0 and no window stored when none is open). */
  peek(key: string): Promise<{ count: number; resetMs: number }>;
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

  async peek(key: string) {
    const now = Date.now();
    const w = this.windows.get(key);
    return w && w.resetAt > now ? { count: w.count, resetMs: w.resetAt - now } : { count: 0, resetMs: 0 };
  }

  async close() {
    clearInterval(this.sweeper);
  }
}

export type LimiterLog = Pick<Logger, 'warn' | 'info'>;

/**
 * The shared store when it answers; per-process memory while it does not, so an unreachable
 * or hung store neither takes logins down nor switches the limits off. One warning when the
 * store goes, one notice when it is back. While it is out, the shared store is asked again at
 * most once per RETRY_SHARED_MS, so a request that counts several limits waits on a hung
 * store's command timeout once at most, not once per limit. Every limiter counts through it.
 */
export class FallbackStore implements LimitStore {
  static readonly RETRY_SHARED_MS = 1_000;
  private readonly fallback = new MemoryStore();
  /** While the shared store is out: when it may be asked again. */
  private retryAt: number | undefined;

  constructor(
    private readonly store: LimitStore,
    private readonly log?: LimiterLog,
  ) {}

  hit(key: string, windowMs: number) {
    return this.either((s) => s.hit(key, windowMs));
  }

  peek(key: string) {
    return this.either((s) => s.peek(key));
  }

  private async either<T>(op: (s: LimitStore) => Promise<T>): Promise<T> {
    if (this.retryAt !== undefined && Date.now() < this.retryAt) return op(this.fallback);
    try {
      const result = await op(this.store);
      if (this.retryAt !== undefined) {
        this.retryAt = undefined;
        this.log?.info('rate-limit store is reachable again; limits are shared again');
      }
      return result;
    } catch (err) {
      if (this.retryAt === undefined) {
        this.log?.warn({ err }, 'rate-limit store unavailable; limits are counted per process until it is back');
      }
      this.retryAt = Date.now() + FallbackStore.RETRY_SHARED_MS;
      return op(this.fallback);
    }
  }

  async close() {
    await this.fallback.close();
    await this.store.close();
  }
}

export class RateLimiter {
  constructor(
    private readonly store: LimitStore,
    private readonly max: number,
    private readonly windowMs: number,
  ) {}

  /** Counts one attempt against every key; over the limit on any of them → 429 RATE_LIMITED with Retry-After. */
  async check(keys: string[]): Promise<void> {
    const results = await Promise.all(keys.map((k) => this.store.hit(k, this.windowMs)));
    const over = results.filter((r) => r.count > this.max);
    if (over.length > 0) throw rateLimited(Math.max(...over.map((r) => r.resetMs)));
  }
}

export const rateLimited = (resetMs: number) => {
  const retryAfter = Math.max(1, Math.ceil(resetMs / 1000));
  return new AppError('RATE_LIMITED', `Too many attempts; retry in ${retryAfter} s`, undefined, { 'retry-after': String(retryAfter) });
};

/**
 * The key of a client address in per-address limits: an IPv4 address as it is (also when
 * written IPv4-mapped), an IPv6 address by its /64, which one subscriber usually holds whole.
 */
export function addressKey(ip: string): string {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip);
  if (mapped && isIPv4(mapped[1]!)) return mapped[1]!;
  const bare = ip.replace(/%.*$/, '');
  if (!isIPv6(bare)) return ip;
  const groups = (part: string) => (part === '' ? [] : part.split(':').flatMap((g) => (g.includes('.') ? ['0', '0'] : [g])));
  const [head = '', tail] = bare.split('::');
  const h = groups(head);
  const full = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - groups(tail).length).fill('0'), ...groups(tail)];
  return `${full
    .slice(0, 4)
    .map((g) => Number.parseInt(g, 16).toString(16))
    .join(':')}::/64`;
}

/**
 * Limits in a row (SPEC §3b): each counts one attempt and refuses when over; a request
 * refused by one is not counted by the ones after it.
 */
export class OrderedLimits {
  constructor(private readonly store: LimitStore) {}

  async check(limits: ReadonlyArray<{ key: string; max: number; windowMs: number }>): Promise<void> {
    for (const l of limits) {
      const r = await this.store.hit(l.key, l.windowMs);
      if (r.count > l.max) throw rateLimited(r.resetMs);
    }
  }

  /**
   * For a limit read before the work it counts and counted after it (count): whether
   * `l` is used up, with the ms until its window resets, or null while it is not. Reads
   * only, so a request that names a key it has no right to spends nothing of it.
   */
  async spent(l: { key: string; max: number }): Promise<{ resetMs: number } | null> {
    const r = await this.store.peek(l.key);
    return r.count >= l.max ? { resetMs: r.resetMs } : null;
  }

  /** Counts one attempt against `l` (see spent). */
  async count(l: { key: string; windowMs: number }): Promise<void> {
    await this.store.hit(l.key, l.windowMs);
  }

  /** The 429 of a limit found spent. */
  refusal(spent: { resetMs: number }): AppError {
    return rateLimited(spent.resetMs);
  }
}

/**
 * The limits of a credential check (login, current_password, reset, verification):
 * attempts per client address, counted first, and failed attempts per account, counted
 * only once the address was let through and only when the check fails. A request
 * refused by the address limit leaves the account's budget alone, and a successful
 * attempt spends none of it, so no one can lock an account out from one address.
 */
export class CredentialLimits {
  constructor(
    private readonly store: LimitStore,
    private readonly max: number,
    private readonly windowMs: number,
  ) {}

  /** Counts an attempt from `ip` at `check`; over the limit → 429, and nothing else is counted. */
  async attempt(check: string, ip: string): Promise<void> {
    const r = await this.store.hit(`${check}:ip:${addressKey(ip)}`, this.windowMs);
    if (r.count > this.max) throw rateLimited(r.resetMs);
  }

  /** Refuses (429) while `account` has used up its failures, before any password is hashed; counts nothing. */
  async refuseIfLocked(account: string): Promise<void> {
    const r = await this.store.peek(`fail:${account}`);
    if (r.count >= this.max) throw rateLimited(r.resetMs);
  }

  /** Counts one failed check against `account`. */
  async failed(account: string): Promise<void> {
    await this.store.hit(`fail:${account}`, this.windowMs);
  }
}
