// A revocation cache fed by events: a token issued before a matching revocation is refused
// at once, not at its expiry (SPEC §12).
import type { Principal } from '../principal.js';
import type { RevocationCheck } from '../verify.js';
import type { TenantryEvent } from './envelope.js';

/** The event types that revoke tokens; subscribe the webhook endpoint or the consumer to these. */
export const REVOKING_EVENT_TYPES = [
  'member.removed',
  'member.role_changed',
  'organization_tool.disabled',
  'sharing_grant.revoked',
  'sharing_grant.suspended',
  'organization.suspended',
  'organization.archived',
  'api_key.revoked',
  'session.revoked',
] as const;

export interface RevocationCacheOptions {
  /**
   * How long a revocation is kept, in seconds: longer than any token it could match lives
   * (access tokens 900 s, tool tokens 600 s, plus the clock tolerance). API keys are
   * remembered as long, and their introspection cache is 30 s.
   */
  retainSeconds?: number;
  /** Bound on the entries kept; the oldest go first. */
  maxEntries?: number;
  /** This tool's id in Tenantry's registry: disabling it in an organization revokes every token for it there. */
  toolId?: string;
  /** This tool's client id (as toolId). */
  clientId?: string;
  now?: () => number;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v : undefined);

/**
 * Keys what each event revokes and when. `isRevoked` is synchronous and reads only this
 * map, so a revocation applied before a verification finishes is seen by it: once `apply`
 * has returned, no token it matches is accepted, including those already being verified.
 */
export class RevocationCache implements RevocationCheck {
  private readonly entries = new Map<string, number>();
  private readonly listeners = new Set<(event: TenantryEvent) => void>();
  private readonly o: Required<Omit<RevocationCacheOptions, 'toolId' | 'clientId'>> & Pick<RevocationCacheOptions, 'toolId' | 'clientId'>;

  constructor(options: RevocationCacheOptions = {}) {
    this.o = { retainSeconds: 3600, maxEntries: 100_000, now: Date.now, ...options };
  }

  /** The keys an event revokes; none for an event that revokes nothing. */
  keysOf(e: TenantryEvent): string[] {
    const org = e.organization_id;
    const d = e.data ?? {};
    switch (e.type) {
      case 'member.removed':
      case 'member.role_changed':
        return str(d.user_id) ? [`user:${org}:${d.user_id}`] : [];
      case 'session.revoked':
        return [
          ...(str(d.session_id) ? [`session:${d.session_id}`] : []),
          ...(str(d.user_id) && !str(d.session_id) ? [`user:${org}:${d.user_id}`] : []),
        ];
      case 'organization.suspended':
      case 'organization.archived':
        return [`org:${org}`];
      case 'organization_tool.disabled': {
        const self = (this.o.toolId && d.tool_id === this.o.toolId) || (this.o.clientId && d.client_id === this.o.clientId);
        if (self) return [`org:${org}`];
        return str(d.client_id) ? [`client:${org}:${d.client_id}`] : [];
      }
      case 'sharing_grant.revoked':
      case 'sharing_grant.suspended': {
        const id = str(d.grant_id) ?? str(d.sharing_grant_id) ?? str(d.id);
        return id ? [`grant:${id}`] : [];
      }
      case 'api_key.revoked': {
        const ids = [d.api_key_id, d.key_id, d.id].map(str).filter((x): x is string => x !== undefined);
        return [...new Set(ids)].map((id) => `key:${id}`);
      }
      default:
        return [];
    }
  }

  /** Records what the event revokes, as of its timestamp. Returns whether it revoked anything. */
  apply(event: TenantryEvent): boolean {
    const at = Date.parse(event.timestamp) / 1000;
    const keys = Number.isNaN(at) ? [] : this.keysOf(event);
    for (const key of keys) {
      const prev = this.entries.get(key);
      if (prev !== undefined && prev >= at) continue;
      this.entries.delete(key); // re-inserted last: the map's order is the pruning order
      this.entries.set(key, at);
    }
    this.prune();
    if (keys.length > 0) for (const l of this.listeners) l(event);
    return keys.length > 0;
  }

  /** Called after each revoking event (the API-key introspection cache drops its answer). */
  onRevocation(listener: (event: TenantryEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Whether a revocation matches the principal and came after its token was issued. `iat`
   * has whole seconds, so a token of the revocation's own second counts as issued before it.
   */
  isRevoked(p: Principal): boolean {
    const iat = p.token.issuedAt;
    const org = p.orgId;
    const keys = [`org:${org}`, `client:${org}:${p.token.clientId}`];
    if (p.type === 'user') keys.push(`user:${org}:${p.id}`);
    if (p.type === 'api_key') keys.push(`key:${p.id}`);
    if (p.token.sessionId) keys.push(`session:${p.token.sessionId}`);
    if (p.grantId) keys.push(`grant:${p.grantId}`);
    if (p.actor) keys.push(`client:${org}:${p.actor.sub}`);
    for (const key of keys) {
      const at = this.entries.get(key);
      if (at !== undefined && iat < at) return true;
    }
    return false;
  }

  get size(): number {
    return this.entries.size;
  }

  private prune(): void {
    const horizon = this.o.now() / 1000 - this.o.retainSeconds;
    for (const [key, at] of this.entries) {
      if (at >= horizon && this.entries.size <= this.o.maxEntries) break;
      this.entries.delete(key);
    }
  }
}
