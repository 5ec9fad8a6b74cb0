import type { FastifyBaseLogger } from 'fastify';
import type { Database } from '../../db/database.js';
import type { ApiKeyPrincipal } from '../access/principal.js';
import { anonymous, asOperatorInOrganization } from '../access/transactions.js';
import { unauthenticated } from '../oauth/tokens.js';
import { apiKeyOf, touchApiKey } from './api-keys.queries.js';
import { keyHash, type ParsedKey, parseKey } from './key-format.js';

/** What a presented key resolves to: facts that never change for a key, so they can be kept. */
export interface ResolvedKey {
  id: string;
  orgId: string;
  /** The tool the key is for; null for Tenantry's API (and any enabled tool). */
  toolId: string | null;
}

const CACHE_LIMIT = 10_000;
/** `last_used_at` is written at most this often per key. */
export const TOUCH_INTERVAL_MS = 60_000;

export const invalidKey = () => unauthenticated('The API key is invalid, revoked or expired');

/**
 * Resolves presented API keys. A key is parsed and its checksum checked before anything
 * else (a malformed key costs no query); its keyed hash then finds it. What a key
 * resolves to (organization, id, tool) never changes, so it is kept by hash after the
 * first lookup; whether the key is still live is never kept: the statement that enters
 * each request's context reads it (tenantry_enter_api_key, sql/api-keys.sql, also the first
 * step of a key's one-statement reads in sql/reads.sql), so a revocation stops the next request.
 */
export class ApiKeyResolver {
  private readonly resolved = new Map<string, ResolvedKey>();
  /** When this process last marked each key used. */
  private readonly touched = new Map<string, number>();

  constructor(
    private readonly db: Database,
    private readonly secret: () => Promise<Buffer>,
    private readonly log: FastifyBaseLogger,
  ) {}

  /** The key's text, parsed, or null: malformed and checksum failures never reach the database. */
  parse = (text: string): ParsedKey | null => parseKey(text);

  /** The keyed hash a key is found by (tenantry_api_key_of, sql/api-keys.sql). */
  hashOf = async (parsed: ParsedKey): Promise<Buffer> => keyHash(await this.secret(), parsed.key);

  /**
   * The key a presented text names, found by its hash; undefined when no key has it.
   * `live` is read now, unless the key was resolved before (then undefined: the caller's
   * own context statement reads it).
   */
  async resolve(parsed: ParsedKey): Promise<(ResolvedKey & { live?: boolean }) | undefined> {
    const hash = await this.hashOf(parsed);
    const cacheKey = hash.toString('base64');
    const hit = this.resolved.get(cacheKey);
    if (hit) return hit;
    const row = await anonymous(this.db, (tx) => apiKeyOf(tx, parsed.keyId, hash));
    if (!row) return undefined;
    const found: ResolvedKey = { id: row.id, orgId: row.organization_id, toolId: row.tool_id };
    if (row.live) {
      if (this.resolved.size >= CACHE_LIMIT) this.resolved.delete(this.resolved.keys().next().value!);
      this.resolved.set(cacheKey, found);
    }
    return { ...found, live: row.live };
  }

  /** The principal of a bearer `tnty_…` on Tenantry's API: a live key of no tool. */
  async authenticate(text: string): Promise<ApiKeyPrincipal> {
    const parsed = this.parse(text);
    if (!parsed) throw unauthenticated('The API key is malformed');
    const key = await this.resolve(parsed);
    if (!key || key.live === false) throw invalidKey();
    if (key.toolId !== null) throw unauthenticated("This API key is for a tool, not for Tenantry's API");
    await this.markUsed(key);
    return { type: 'api_key', apiKeyId: key.id, orgId: key.orgId };
  }

  /**
   * Marks the key used at most once a minute: this process asks only when its own mark is
   * a minute old, and the update itself skips a key marked less than a minute ago (by any
   * instance). A failure to mark is logged, never the request's failure.
   */
  async markUsed(key: ResolvedKey, now = Date.now()): Promise<void> {
    const last = this.touched.get(key.id);
    if (last !== undefined && now - last < TOUCH_INTERVAL_MS) return;
    if (this.touched.size >= CACHE_LIMIT) this.touched.delete(this.touched.keys().next().value!);
    this.touched.set(key.id, now);
    await asOperatorInOrganization(this.db, key.orgId, (tx) => touchApiKey(tx, key.orgId, key.id)).catch((err: unknown) =>
      this.log.warn({ err }, 'marking an API key used failed'),
    );
  }
}
