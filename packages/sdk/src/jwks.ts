// Tenantry's signing keys, fetched from its JWKS and kept: a token names its key by `kid`,
// and only a kid this set has fetched from the configured URL is ever used. Keys named in a
// token (jku, jwk, x5u, x5c) are never followed.
import { createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';

/** An Ed25519 public key, made once per JWKS key (node:crypto verifies with it directly). */
export type VerifyKey = KeyObject;

/** A key of a JWKS document (RFC 7517). */
export interface JWK extends JsonWebKey {
  kid?: string;
  alg?: string;
  use?: string;
}

/** Where the verifier gets a key for a kid. */
export interface KeySource {
  key(kid: string): Promise<VerifyKey>;
}

export interface RemoteKeySetOptions {
  /** At most one fetch for an unknown kid in this many milliseconds (SPEC §12: a minute). */
  cooldownMs?: number;
  /** Keys older than this are fetched again on the next use (the JWKS keeps the previous key through a rotation). */
  maxAgeMs?: number;
  timeoutMs?: number;
  fetch?: typeof fetch;
  /** The clock, in milliseconds (tests). */
  now?: () => number;
}

/** The JWKS could not be read and no key is known for the token: the answer is 503, not 401. */
export class KeysUnavailable extends Error {
  constructor(cause: unknown) {
    super('The signing keys could not be fetched', { cause });
    this.name = 'KeysUnavailable';
  }
}

export class UnknownKey extends Error {
  constructor() {
    super('unknown kid');
    this.name = 'UnknownKey';
  }
}

const MAX_KID_LENGTH = 200;

/** Only Ed25519 signing keys (OKP, alg EdDSA) are taken from the set; anything else is skipped. */
function importSigningKeys(body: unknown): Map<string, VerifyKey> {
  const keys = new Map<string, VerifyKey>();
  const list = (body as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(list)) throw new Error('the JWKS has no keys array');
  for (const jwk of list as JWK[]) {
    if (typeof jwk !== 'object' || jwk === null || typeof jwk.kid !== 'string') continue;
    if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string' || 'd' in jwk) continue;
    if (jwk.alg !== undefined && jwk.alg !== 'EdDSA') continue;
    if (jwk.use !== undefined && jwk.use !== 'sig') continue;
    keys.set(jwk.kid, createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: jwk.x }, format: 'jwk' }));
  }
  return keys;
}

/**
 * The JWKS at `url`, cached. An unknown kid fetches the set again, at most once per
 * cooldown however many tokens name unknown kids: a flood of forged kids costs one request
 * a minute. Concurrent misses share one fetch.
 */
export class RemoteKeySet implements KeySource {
  private keys = new Map<string, VerifyKey>();
  private fetchedAt = Number.NEGATIVE_INFINITY;
  private attemptedAt = Number.NEGATIVE_INFINITY;
  private inflight: Promise<void> | undefined;
  private lastError: unknown;
  /** How many times the set was fetched (for tests and metrics). */
  fetches = 0;
  private readonly o: Required<RemoteKeySetOptions>;

  constructor(
    readonly url: URL,
    options: RemoteKeySetOptions = {},
  ) {
    this.o = {
      cooldownMs: options.cooldownMs ?? 60_000,
      maxAgeMs: options.maxAgeMs ?? 600_000,
      timeoutMs: options.timeoutMs ?? 5_000,
      fetch: options.fetch ?? fetch,
      now: options.now ?? Date.now,
    };
  }

  async key(kid: string): Promise<VerifyKey> {
    if (typeof kid !== 'string' || kid.length === 0 || kid.length > MAX_KID_LENGTH) throw new UnknownKey();
    const now = this.o.now();
    const stale = now - this.fetchedAt > this.o.maxAgeMs;
    if (stale || !this.keys.has(kid)) {
      // A fetch under way is shared; otherwise one is made when the cooldown allows (a
      // failure keeps the keys known so far).
      if (this.inflight) await this.inflight.catch(() => undefined);
      else if (now - this.attemptedAt >= this.o.cooldownMs) await this.refresh().catch(() => undefined);
      if (this.keys.size === 0) throw new KeysUnavailable(this.lastError);
    }
    const key = this.keys.get(kid);
    if (!key) throw new UnknownKey();
    return key;
  }

  private refresh(): Promise<void> {
    this.inflight ??= (async () => {
      this.attemptedAt = this.o.now();
      this.fetches++;
      try {
        const res = await this.o.fetch(this.url, {
          headers: { accept: 'application/json' },
          redirect: 'error',
          signal: AbortSignal.timeout(this.o.timeoutMs),
        });
        if (res.status !== 200) throw new Error(`the JWKS answered ${res.status}`);
        this.keys = importSigningKeys(await res.json());
        this.fetchedAt = this.o.now();
        this.lastError = undefined;
      } catch (err) {
        this.lastError = err;
        throw err;
      } finally {
        this.inflight = undefined;
      }
    })();
    return this.inflight;
  }
}

/** A fixed set of keys (a JWKS document given in configuration, or tests). */
export class StaticKeySet implements KeySource {
  private constructor(private readonly keys: Map<string, VerifyKey>) {}

  static async from(jwks: { keys: JWK[] }): Promise<StaticKeySet> {
    return new StaticKeySet(importSigningKeys(jwks));
  }

  async key(kid: string): Promise<VerifyKey> {
    const key = typeof kid === 'string' ? this.keys.get(kid) : undefined;
    if (!key) throw new UnknownKey();
    return key;
  }
}
