// Verifies Tenantry's webhook deliveries (Standard Webhooks): `v1` is HMAC-SHA256 with the
// endpoint's `whsec_` secret, `v1a` Ed25519 with Tenantry's key from
// /.well-known/webhook-keys.json. Both sign `${webhook-id}.${webhook-timestamp}.${body}`.
import { createHmac, createPublicKey, type KeyObject, timingSafeEqual, verify } from 'node:crypto';
import { isTenantryEvent, type TenantryEvent } from './envelope.js';

export class WebhookVerificationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WebhookVerificationError';
  }
}

/** Tenantry's published v1a keys, fetched once and again (at most once per cooldown) when no key verifies. */
export class WebhookKeySet {
  private keys: KeyObject[] = [];
  private attemptedAt = Number.NEGATIVE_INFINITY;
  private inflight: Promise<void> | undefined;
  fetches = 0;

  constructor(
    readonly url: URL,
    private readonly o: { cooldownMs?: number; fetch?: typeof fetch; now?: () => number; timeoutMs?: number } = {},
  ) {}

  /** Keys as `whpk_<base64>` (Standard Webhooks) or raw base64 32-byte public keys. */
  static fromPublicKeys(keys: string[]): WebhookKeySet {
    const set = new WebhookKeySet(new URL('about:blank'), { cooldownMs: Number.POSITIVE_INFINITY });
    set.keys = keys.map(publicKeyOf);
    set.attemptedAt = Number.POSITIVE_INFINITY;
    return set;
  }

  /** Whether one of the keys verifies; fetches the set again when none does and the cooldown allows. */
  async verifies(content: Buffer, signature: Buffer): Promise<boolean> {
    const ok = () => this.keys.some((k) => verify(null, content, k, signature));
    if (ok()) return true;
    const now = (this.o.now ?? Date.now)();
    if (now - this.attemptedAt < (this.o.cooldownMs ?? 60_000)) return false;
    await this.refresh().catch(() => undefined);
    return ok();
  }

  private refresh(): Promise<void> {
    this.inflight ??= (async () => {
      this.attemptedAt = (this.o.now ?? Date.now)();
      this.fetches++;
      try {
        const res = await (this.o.fetch ?? fetch)(this.url, { redirect: 'error', signal: AbortSignal.timeout(this.o.timeoutMs ?? 5000) });
        if (res.status !== 200) throw new Error(`webhook keys answered ${res.status}`);
        const body = (await res.json()) as { keys?: Array<{ public_key?: unknown; alg?: unknown }> };
        this.keys = (body.keys ?? [])
          .filter((k) => k.alg === 'Ed25519' && typeof k.public_key === 'string')
          .map((k) => publicKeyOf(k.public_key as string));
      } finally {
        this.inflight = undefined;
      }
    })();
    return this.inflight;
  }
}

function publicKeyOf(text: string): KeyObject {
  const raw = Buffer.from(text.replace(/^whpk_/, ''), 'base64');
  if (raw.length !== 32) throw new TypeError('an Ed25519 public key has 32 bytes');
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
}

export interface WebhookVerifyOptions {
  /** The endpoint's secret(s), `whsec_…`: two during a rotation. */
  secret?: string | string[];
  /** Tenantry's v1a keys (e.g. `new WebhookKeySet(new URL('/.well-known/webhook-keys.json', tenantryUrl))`). */
  keys?: WebhookKeySet;
  /** Accepted distance between the delivery's timestamp and now, seconds (Standard Webhooks: 5 minutes). */
  toleranceSeconds?: number;
  now?: () => number;
}

type Headers = Record<string, string | string[] | undefined> | { get(name: string): string | null };

const header = (h: Headers, name: string): string | undefined => {
  const v =
    typeof (h as { get?: unknown }).get === 'function'
      ? (h as { get(n: string): string | null }).get(name)
      : (h as Record<string, unknown>)[name];
  return typeof v === 'string' ? v : undefined;
};

const secretKey = (secret: string) => Buffer.from(secret.replace(/^whsec_/, ''), 'base64');

/**
 * Verifies a delivery and returns its event. `body` must be the raw request body, byte for
 * byte as received (not re-serialised JSON). Throws WebhookVerificationError (answer 400)
 * when no signature verifies, the timestamp is outside the tolerance or the body is not an event.
 */
export async function verifyWebhook(
  request: { headers: Headers; body: string | Buffer },
  options: WebhookVerifyOptions,
): Promise<TenantryEvent> {
  const id = header(request.headers, 'webhook-id');
  const timestamp = header(request.headers, 'webhook-timestamp');
  const signatures = header(request.headers, 'webhook-signature');
  if (!id || !timestamp || !signatures) throw new WebhookVerificationError('missing webhook headers');
  if (!/^\d{1,12}$/.test(timestamp)) throw new WebhookVerificationError('invalid webhook-timestamp');
  const now = (options.now ?? Date.now)() / 1000;
  if (Math.abs(now - Number(timestamp)) > (options.toleranceSeconds ?? 300))
    throw new WebhookVerificationError('webhook-timestamp outside the tolerance');

  const body = typeof request.body === 'string' ? request.body : request.body.toString('utf8');
  const content = Buffer.from(`${id}.${timestamp}.${body}`);
  const secrets = options.secret === undefined ? [] : Array.isArray(options.secret) ? options.secret : [options.secret];
  if (secrets.length === 0 && !options.keys) throw new TypeError('verifyWebhook needs a secret (v1) or keys (v1a)');

  let verified = false;
  for (const entry of signatures.split(' ')) {
    const [version, value] = entry.split(',', 2);
    if (!value) continue;
    const given = Buffer.from(value, 'base64');
    if (version === 'v1' && secrets.length > 0) {
      verified = secrets.some((s) => {
        const expected = createHmac('sha256', secretKey(s)).update(content).digest();
        return expected.length === given.length && timingSafeEqual(expected, given);
      });
    } else if (version === 'v1a' && options.keys && given.length === 64) {
      verified = await options.keys.verifies(content, given);
    }
    if (verified) break;
  }
  if (!verified) throw new WebhookVerificationError('no webhook signature verifies');

  let event: unknown;
  try {
    event = JSON.parse(body);
  } catch {
    throw new WebhookVerificationError('the webhook body is not JSON');
  }
  if (!isTenantryEvent(event) || event.id !== id) throw new WebhookVerificationError('the webhook body is not a Tenantry event');
  return event;
}
