// Organization API keys (SPEC §10): recognised by their checksum without any request, then
// introspected at Tenantry (RFC 7662) with the tool's own client credentials.
import { crc32 } from 'node:zlib';
import { postAsClient } from './client/oauth-post.js';
import { TenantryAuthError, unauthenticated } from './errors.js';
import { isUuid, type Principal } from './principal.js';
import { deepFreeze } from './verify.js';

export const API_KEY_PREFIX = 'tnty_';
const KEY_ID_LENGTH = 16;
const SECRET_LENGTH = 32;
const CHECKSUM_LENGTH = 6;
const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const KEY_PATTERN = new RegExp(
  `^${API_KEY_PREFIX}([0-9A-Za-z]{${KEY_ID_LENGTH}})_[0-9A-Za-z]{${SECRET_LENGTH}}([0-9A-Za-z]{${CHECKSUM_LENGTH}})$`,
);

/** The CRC-32 of the key's body (`tnty_<key id>_<secret>`) as 6 base62 characters, most significant first. */
export function apiKeyChecksum(body: string): string {
  let v = crc32(body) >>> 0;
  let out = '';
  for (let i = 0; i < CHECKSUM_LENGTH; i++) {
    out = ALPHABET[v % 62]! + out;
    v = Math.floor(v / 62);
  }
  return out;
}

/** The key id of a well-formed API key whose checksum holds; null for anything else. */
export function parseApiKey(text: string): { keyId: string } | null {
  const m = typeof text === 'string' ? KEY_PATTERN.exec(text) : null;
  if (!m || apiKeyChecksum(text.slice(0, -CHECKSUM_LENGTH)) !== m[2]) return null;
  return { keyId: m[1]! };
}

export const looksLikeApiKey = (text: string): boolean => typeof text === 'string' && text.startsWith(API_KEY_PREFIX);

export interface IntrospectionOptions {
  /** Tenantry's introspection endpoint; default `<issuer>/oauth/introspect`. */
  endpoint: string | URL;
  /** This tool's client credentials (client_secret_basic). */
  clientId: string;
  clientSecret: string;
  /** Positive answers are kept this long at most (SPEC §12: ≤ 30 s). */
  cacheSeconds?: number;
  cacheSize?: number;
  timeoutMs?: number;
  fetch?: typeof fetch;
  now?: () => number;
}

/** An RFC 7662 answer as Tenantry gives it (SPEC §10). */
interface Introspection {
  active?: unknown;
  principal?: unknown;
  sub?: unknown;
  client_id?: unknown;
  org_id?: unknown;
  scope?: unknown;
  exp?: unknown;
  iat?: unknown;
}

/**
 * Checks API keys: a key whose checksum fails is refused at once; a well-formed one is
 * introspected at Tenantry, and an active answer is kept for up to 30 s (never past the
 * key's expiry). Negative answers are not kept, so a new key works at once.
 */
export class ApiKeyIntrospector {
  private readonly cache = new Map<string, { principal: Principal; until: number }>();
  private readonly inflight = new Map<string, Promise<Principal>>();
  private readonly now: () => number;

  constructor(private readonly o: IntrospectionOptions) {
    this.now = o.now ?? Date.now;
  }

  async verify(key: string): Promise<Principal> {
    const parsed = parseApiKey(key);
    if (!parsed) throw unauthenticated('The API key is invalid');
    const hit = this.cache.get(key);
    if (hit && hit.until > this.now()) return hit.principal;
    if (hit) this.cache.delete(key);
    let pending = this.inflight.get(key);
    if (!pending) {
      pending = this.introspect(key, parsed.keyId).finally(() => this.inflight.delete(key));
      this.inflight.set(key, pending);
    }
    return pending;
  }

  /** Forgets every cached answer for the key id (an `api_key.revoked` event). */
  forget(keyIds: readonly string[]): void {
    for (const [key, entry] of this.cache)
      if (keyIds.includes(entry.principal.id) || keyIds.some((id) => key.includes(`_${id}_`))) this.cache.delete(key);
  }

  private async introspect(key: string, keyId: string): Promise<Principal> {
    let answer: Introspection;
    try {
      const res = await postAsClient(this.o.endpoint, this.o, new URLSearchParams({ token: key, token_type_hint: 'api_key' }));
      if (res.status !== 200) throw new Error(`introspection answered ${res.status}`);
      answer = (await res.json()) as Introspection;
    } catch (err) {
      throw new TenantryAuthError('SERVICE_UNAVAILABLE', 'The API key cannot be checked now', { cause: err });
    }
    const principal = principalOfAnswer(answer, keyId, this.now());
    if (!principal) throw unauthenticated('The API key is invalid');
    const until = Math.min(this.now() + (this.o.cacheSeconds ?? 30) * 1000, principal.token.expiresAt * 1000);
    if (this.cache.size >= (this.o.cacheSize ?? 10_000)) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(key, { principal, until });
    return principal;
  }
}

function principalOfAnswer(a: Introspection, keyId: string, nowMs: number): Principal | undefined {
  if (a.active !== true || a.principal !== 'api_key' || !isUuid(a.org_id)) return undefined;
  const exp = typeof a.exp === 'number' ? a.exp : Number.POSITIVE_INFINITY;
  if (exp * 1000 <= nowMs) return undefined;
  const id = typeof a.sub === 'string' && a.sub.length > 0 ? a.sub : keyId;
  return deepFreeze<Principal>({
    type: 'api_key',
    id,
    orgId: a.org_id,
    permissions: typeof a.scope === 'string' ? a.scope.split(' ').filter(Boolean) : [],
    token: {
      clientId: typeof a.client_id === 'string' ? a.client_id : '',
      // A key is revoked for good: any revocation of it matches, whenever the key was made.
      issuedAt: typeof a.iat === 'number' ? a.iat : 0,
      expiresAt: exp,
    },
  });
}
