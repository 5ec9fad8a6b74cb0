import { describe, expect, it } from 'vitest';
import { AccessTokenVerifier, type Principal, REVOKING_EVENT_TYPES, RevocationCache, type TenantryEvent } from '../src/index.js';
import { AUDIENCE, ISSUER, startIssuer } from './helpers/issuer.js';

const event = (type: string, org: string, data: Record<string, unknown>, at = new Date()): TenantryEvent => ({
  id: crypto.randomUUID(),
  type,
  timestamp: at.toISOString(),
  organization_id: org,
  actor: { type: 'user', id: crypto.randomUUID() },
  data,
});

const principal = (over: Partial<Omit<Principal, 'token'>> & { token?: Partial<Principal['token']> } = {}): Principal => ({
  type: 'user',
  id: crypto.randomUUID(),
  orgId: crypto.randomUUID(),
  permissions: [],
  ...over,
  token: {
    clientId: 'tenantry',
    sessionId: crypto.randomUUID(),
    issuedAt: Math.floor(Date.now() / 1000) - 10,
    expiresAt: 0,
    ...over.token,
  },
});

describe('the revocation cache', () => {
  it('revokes, for each revoking event type, the tokens it names and issued before it, and no other', () => {
    const cache = new RevocationCache({ toolId: 'tool-crm' });
    const p = principal({ grantId: crypto.randomUUID() });
    const cases: Array<[string, Record<string, unknown>, Principal]> = [
      ['member.removed', { user_id: p.id, role: 'member', left: false }, p],
      ['member.role_changed', { user_id: p.id, from: 'admin', to: 'viewer' }, p],
      ['session.revoked', { session_id: p.token.sessionId, user_id: p.id, reason: 'logout' }, p],
      ['organization.suspended', { from: 'active', to: 'suspended' }, p],
      ['organization.archived', { from: 'active', to: 'archived' }, p],
      ['organization_tool.disabled', { tool_id: 'tool-crm' }, p],
      [
        'organization_tool.disabled',
        { tool_id: 'tool-billing', client_id: 'billing' },
        principal({ type: 'tool', id: 'billing', token: { clientId: 'billing' } }),
      ],
      ['sharing_grant.revoked', { grant_id: p.grantId }, p],
      ['sharing_grant.suspended', { sharing_grant_id: p.grantId }, p],
      ['api_key.revoked', { api_key_id: 'key-1' }, principal({ type: 'api_key', id: 'key-1', token: { issuedAt: 0 } })],
    ];
    expect(new Set(cases.map(([t]) => t))).toEqual(new Set(REVOKING_EVENT_TYPES));
    for (const [type, data, target] of cases) {
      const c = new RevocationCache({ toolId: 'tool-crm' });
      const bystander = principal({ orgId: target.orgId });
      const elsewhere = { ...target, orgId: crypto.randomUUID() };
      expect(c.apply(event(type, target.orgId, data)), type).toBe(true);
      expect(c.isRevoked(target), type).toBe(true);
      if (!type.startsWith('organization.') && !(type === 'organization_tool.disabled' && data.tool_id === 'tool-crm')) {
        expect(c.isRevoked(bystander), `${type} bystander`).toBe(false);
      }
      if (!['session.revoked', 'sharing_grant.revoked', 'sharing_grant.suspended', 'api_key.revoked'].includes(type)) {
        expect(c.isRevoked(elsewhere), `${type} in another organization`).toBe(false);
      }
      // Issued after the revocation (the next second): accepted.
      expect(c.isRevoked({ ...target, token: { ...target.token, issuedAt: Math.floor(Date.now() / 1000) + 1 } }), `${type} later`).toBe(
        false,
      );
    }
    expect(cache.apply(event('member.added', p.orgId, { user_id: p.id, role: 'member' }))).toBe(false);
    expect(cache.isRevoked(p)).toBe(false);
  });

  it('under concurrent verifications: once apply() returns, no verification of a matching token succeeds, in flight or not', async () => {
    const issuer = await startIssuer();
    try {
      const revocations = new RevocationCache();
      const verifier = new AccessTokenVerifier({ issuer: ISSUER, audience: AUDIENCE, jwksUri: issuer.jwksUrl, revocations });
      const org = crypto.randomUUID();
      const victim = crypto.randomUUID();
      const iat = Math.floor(Date.now() / 1000) - 5;
      const victimTokens = await Promise.all(Array.from({ length: 40 }, () => issuer.mint({ org_id: org, sub: victim, iat })));
      const otherTokens = await Promise.all(Array.from({ length: 40 }, () => issuer.mint({ org_id: org, iat })));
      await verifier.verify(victimTokens[0]!); // cached, and the keys are fetched
      let applied = false;
      const outcomes: Array<{ victim: boolean; ok: boolean; afterApply: boolean }> = [];
      const run = (token: string, isVictim: boolean) =>
        verifier.verify(token).then(
          () => outcomes.push({ victim: isVictim, ok: true, afterApply: applied }),
          () => outcomes.push({ victim: isVictim, ok: false, afterApply: applied }),
        );
      const inFlight: Promise<unknown>[] = [];
      // Uncached tokens: each verification is in flight (awaiting its signature check) when the event arrives.
      for (let i = 1; i < 40; i++) {
        inFlight.push(run(victimTokens[i]!, true), run(otherTokens[i]!, false));
        if (i === 20) {
          revocations.apply(event('member.removed', org, { user_id: victim, role: 'member', left: false }));
          applied = true;
        }
      }
      await Promise.all(inFlight);
      // Each resolves after apply() (verification awaits the signature check): every victim token is refused,
      // including those whose verification began before the revocation, and every other member's is accepted.
      expect(outcomes.filter((o) => o.victim && o.ok)).toEqual([]);
      expect(outcomes.filter((o) => !o.victim).every((o) => o.ok)).toBe(true);
      await expect(verifier.verify(victimTokens[0]!)).rejects.toMatchObject({ status: 401 }); // the cached one too
      const fresh = await issuer.mint({ org_id: org, sub: victim, iat: Math.floor(Date.now() / 1000) + 1 });
      await expect(verifier.verify(fresh)).resolves.toMatchObject({ id: victim });
    } finally {
      await issuer.close();
    }
  });

  it('forgets revocations older than any token they could match, and stays bounded', () => {
    let clock = Date.now();
    const cache = new RevocationCache({ retainSeconds: 60, maxEntries: 100, now: () => clock });
    const org = crypto.randomUUID();
    cache.apply(event('organization.suspended', org, {}));
    expect(cache.size).toBe(1);
    clock += 61_000;
    cache.apply(event('organization.suspended', crypto.randomUUID(), {}, new Date(clock)));
    expect(cache.size).toBe(1);
    for (let i = 0; i < 500; i++) cache.apply(event('organization.archived', crypto.randomUUID(), {}, new Date(clock)));
    expect(cache.size).toBeLessThanOrEqual(100);
  });
});
