// The webhook worker: fans events out to deliveries, sends what is due, and deletes
// expired events. Every instance runs one; between them each delivery is sent by one
// instance at a time (leases), at least once.
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import type { Logger } from 'pino';
import type { Database } from '../../db/database.js';
import { Poller } from '../../db/poller.js';
import { type Tx, withWorker } from '../../db/tenant-context.js';
import { AppError } from '../../http/errors.js';
import { type ClaimedDelivery, claimDue, fanOut, markDelivered, markFailed, recordEndpointFailure } from './deliveries.queries.js';
import { deleteExpiredEvents, envelopeOf, eventHorizon } from './events.queries.js';
import type { WebhookMetrics } from './metrics.js';
import { ed25519Signature, hmacSignature, loadWebhookKey, type WebhookKey } from './signing.js';
import { parseWebhookUrl, resolveTarget } from './ssrf.js';

/** Retries after about 5 s, 5 min, 30 min, 2 h, 5 h and 10 h (±20%), then the delivery has failed. */
export const RETRY_SCHEDULE_SECONDS = [5, 300, 1800, 7200, 18_000, 36_000];
const RETRY_AFTER_MAX_SECONDS = 3600;

export interface WebhookWorkerOptions {
  allowPrivate: boolean;
  retentionDays: number;
  batchSize?: number;
  timeoutMs?: number;
  /** An endpoint whose deliveries all fail for this long is disabled. */
  disableAfterSeconds?: number;
  /** Jitter in [-1, 1) scaled to ±20%; tests pass a fixed one. */
  jitter?: () => number;
  /** Batches in flight at once (4): while one lane waits on receivers, another claims or records. */
  lanes?: number;
  /** How often the current signing key is read again, so a rotation (`tenantry keys rotate --kind webhooks`) takes effect. */
  keyReloadMs?: number;
}

/** The next attempt's delay after `attempts` failed ones, or null when there is none left. */
export function retryDelaySeconds(attempts: number, retryAfter: number | null, jitter: () => number): number | null {
  const base = RETRY_SCHEDULE_SECONDS[attempts - 1];
  if (base === undefined) return null;
  if (retryAfter !== null) return Math.min(Math.max(retryAfter, 0), RETRY_AFTER_MAX_SECONDS);
  return Math.round(base * (1 + 0.2 * jitter()));
}

/** Retry-After in seconds (delta or HTTP date), or null. */
export function parseRetryAfter(v: string | undefined, now = Date.now()): number | null {
  if (!v) return null;
  if (/^\d+$/.test(v.trim())) return Number(v.trim());
  const at = Date.parse(v);
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - now) / 1000));
}

interface Outcome {
  ok: boolean;
  statusCode: number | null;
  error: string;
  retryAfter: number | null;
  /** It failed on a reused keep-alive connection before any answer. */
  closedWhileIdle?: boolean;
}

export class WebhookDeliverer {
  private readonly poller = new Poller(
    async () => {
      const delivered = await this.runOnce();
      if (Date.now() - this.lastRetention > 3_600_000) {
        this.lastRetention = Date.now();
        await this.deleteExpired();
      }
      return delivered;
    },
    (err) => this.log.error({ err }, 'webhook worker run failed'),
  );
  private lastRetention = 0;
  private keyLoadedAt = Date.now();
  private readonly o: Required<WebhookWorkerOptions>;
  // Keep-alive: a receiver gets many deliveries over a few connections.
  private readonly agents = {
    'http:': new http.Agent({ keepAlive: true, maxSockets: 50 }),
    'https:': new https.Agent({ keepAlive: true, maxSockets: 50 }),
  };

  constructor(
    private readonly db: Database,
    private key: WebhookKey,
    private readonly log: Pick<Logger, 'warn' | 'error'>,
    private readonly metrics: WebhookMetrics | undefined,
    opts: WebhookWorkerOptions,
  ) {
    this.o = {
      // Deliveries claimed, sent and recorded together: one claim and one recording
      // transaction per batch, the sends of different organizations in parallel.
      batchSize: 50,
      lanes: 4,
      timeoutMs: 15_000,
      disableAfterSeconds: 3 * 86_400,
      jitter: () => Math.random() * 2 - 1,
      keyReloadMs: 60_000,
      ...opts,
    };
  }

  private asWorker<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    return withWorker(this.db, fn);
  }

  /** Fans out every event committed so far; returns how many deliveries it created. */
  async dispatch(): Promise<number> {
    let created = 0;
    for (;;) {
      const r = await this.asWorker(async (tx) => fanOut(tx, await eventHorizon(tx), 500));
      created += r.deliveries;
      if (r.events < 500) return created;
    }
  }

  /** Claims due deliveries, sends them and records the outcomes; returns how many were claimed. */
  async deliverDue(): Promise<number> {
    const lease = randomUUID();
    // Long enough for the batch's deliveries of one pair to go one after the other.
    const leaseSeconds = Math.ceil((this.o.timeoutMs * this.o.batchSize) / 1000) + 30;
    const claimed = await this.asWorker((tx) => claimDue(tx, this.o.batchSize, leaseSeconds, lease));
    // Per endpoint and organization, in event order, one at a time; pairs in parallel, over
    // the keep-alive agents' connections.
    const byPair = new Map<string, ClaimedDelivery[]>();
    for (const d of claimed.sort(byPosition)) {
      const k = `${d.endpoint_id}/${d.organization_id}`;
      byPair.set(k, [...(byPair.get(k) ?? []), d]);
    }
    const outcomes: Array<{ d: ClaimedDelivery; out: Outcome }> = [];
    await Promise.all(
      [...byPair.values()].map(async (list) => {
        for (const d of list) outcomes.push({ d, out: await this.attempt(d) });
      }),
    );
    await this.record(outcomes, lease);
    return claimed.length;
  }

  /**
   * Fan-out, then delivery until nothing is due, in `lanes` loops at once (each claims,
   * sends and records a batch, as separate instances would: the claim keeps one
   * organization's deliveries to an endpoint in one lane at a time); returns the
   * deliveries claimed.
   */
  async runOnce(): Promise<number> {
    if (Date.now() - this.keyLoadedAt >= this.o.keyReloadMs) {
      this.key = await loadWebhookKey(this.db.kysely);
      this.keyLoadedAt = Date.now();
    }
    await this.dispatch();
    const lane = async () => {
      let total = 0;
      for (;;) {
        const n = await this.deliverDue();
        total += n;
        if (n === 0) return total;
        await this.dispatch();
      }
    };
    const totals = await Promise.all(Array.from({ length: this.o.lanes }, lane));
    return totals.reduce((a, b) => a + b, 0);
  }

  /** Deletes events older than the retention period, in batches of `batch`. */
  async deleteExpired(batch = 1000): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await this.asWorker((tx) => deleteExpiredEvents(tx, this.o.retentionDays, batch));
      total += n;
      if (n < batch) return total;
    }
  }

  /** Sends one delivery and counts its outcome. */
  private async attempt(d: ClaimedDelivery): Promise<Outcome> {
    const started = process.hrtime.bigint();
    const out = await this.send(d);
    this.metrics?.latency.observe(Number(process.hrtime.bigint() - started) / 1e9);
    return out;
  }

  /**
   * Records a batch's outcomes in one transaction: the successes in one statement (the
   * common case costs the same for one delivery or fifty), each failure with its retry.
   */
  private async record(outcomes: ReadonlyArray<{ d: ClaimedDelivery; out: Outcome }>, lease: string): Promise<void> {
    const delivered: Array<{ d: ClaimedDelivery; statusCode: number }> = [];
    const failed: Array<{ d: ClaimedDelivery; out: Outcome; gone: boolean; retryIn: number | null }> = [];
    for (const { d, out } of outcomes) {
      const gone = out.statusCode === 410;
      const retryIn = out.ok || gone ? null : retryDelaySeconds(d.attempts, out.retryAfter, this.o.jitter);
      this.metrics?.deliveries.inc({ outcome: out.ok ? 'delivered' : gone ? 'gone' : retryIn === null ? 'failed' : 'retrying' });
      if (out.ok) delivered.push({ d, statusCode: out.statusCode! });
      else failed.push({ d, out, gone, retryIn });
    }
    try {
      await this.asWorker(async (tx) => {
        await markDelivered(tx, delivered, lease);
        for (const f of failed) {
          await markFailed(tx, f.d, lease, { statusCode: f.out.statusCode, error: f.out.error, retryInSeconds: f.retryIn });
          await recordEndpointFailure(tx, f.d.endpoint_id, f.gone, this.o.disableAfterSeconds, f.out.error);
        }
      });
    } catch (err) {
      // The leases run out and the deliveries are sent again: at least once.
      this.log.warn({ err, deliveries: outcomes.length }, 'recording webhook deliveries failed');
    }
  }

  private async send(d: ClaimedDelivery): Promise<Outcome> {
    const body = JSON.stringify(envelopeOf({ ...d, id: d.event_id }));
    const timestamp = Math.floor(Date.now() / 1000);
    const signatures = [
      hmacSignature(d.secret, d.event_id, timestamp, body),
      ...(d.previous_secret ? [hmacSignature(d.previous_secret, d.event_id, timestamp, body)] : []),
      ed25519Signature(this.key, d.event_id, timestamp, body),
    ];
    let url: URL;
    let lookup: LookupFunction;
    try {
      url = parseWebhookUrl(d.url);
      // Resolved once and checked; the connection goes to that address.
      const target = await resolveTarget(url, this.o.allowPrivate);
      lookup = (_host, options, cb) => {
        if (options.all) cb(null, [{ address: target.address, family: target.family }]);
        else cb(null, target.address, target.family);
      };
    } catch (err) {
      return { ok: false, statusCode: null, error: errorText(err), retryAfter: null };
    }
    const headers = {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      'user-agent': 'Tenantry-Webhooks/1',
      'webhook-id': d.event_id,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signatures.join(' '),
    };
    const agent = this.agents[url.protocol as 'http:' | 'https:'];
    const out = await this.post(url, lookup, headers, body, agent);
    // A receiver may close an idle keep-alive connection just as a delivery goes out on it
    // (a Node.js server does so after 5 to 6 s idle). Nothing was answered, so the delivery
    // goes again at once on a new connection, instead of failing and waiting for its retry
    // while the organization's later events overtake it.
    return out.closedWhileIdle ? this.post(url, lookup, headers, body, false) : out;
  }

  private post(
    url: URL,
    lookup: LookupFunction,
    headers: http.OutgoingHttpHeaders,
    body: string,
    agent: http.Agent | false,
  ): Promise<Outcome> {
    const transport = url.protocol === 'https:' ? https : http;
    return new Promise((resolve) => {
      const req = transport.request(url, { method: 'POST', agent, lookup, timeout: this.o.timeoutMs, headers }, (res) => {
        res.resume();
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          const retryAfter = parseRetryAfter(typeof res.headers['retry-after'] === 'string' ? res.headers['retry-after'] : undefined);
          resolve({ ok: status >= 200 && status < 300, statusCode: status, error: `HTTP ${status}`, retryAfter });
        });
        res.on('error', (err) => resolve({ ok: false, statusCode: res.statusCode ?? null, error: errorText(err), retryAfter: null }));
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${this.o.timeoutMs} ms`)));
      req.on('error', (err: NodeJS.ErrnoException) =>
        resolve({
          ok: false,
          statusCode: null,
          error: errorText(err),
          retryAfter: null,
          closedWhileIdle: req.reusedSocket && (err.code === 'ECONNRESET' || err.code === 'EPIPE'),
        }),
      );
      req.end(body);
    });
  }

  /**
   * Polls every `intervalMs` until stop(), and every 50 ms while deliveries keep coming (an
   * event committed just after a run would otherwise wait the whole idle interval); retention
   * runs hourly.
   */
  start(intervalMs = 1_000): void {
    this.poller.start(intervalMs, Math.min(intervalMs, 50));
  }

  async stop(): Promise<void> {
    await this.poller.stop();
    this.agents['http:'].destroy();
    this.agents['https:'].destroy();
  }
}

const byPosition = (a: ClaimedDelivery, b: ClaimedDelivery) => {
  const tx = BigInt(a.event_tx) - BigInt(b.event_tx);
  if (tx !== 0n) return tx < 0n ? -1 : 1;
  const pos = BigInt(a.event_pos) - BigInt(b.event_pos);
  return pos === 0n ? 0 : pos < 0n ? -1 : 1;
};

const errorText = (err: unknown) =>
  (err instanceof AppError && err.errors?.[0] ? err.errors[0].message : String((err as Error)?.message ?? err)).slice(0, 500);
