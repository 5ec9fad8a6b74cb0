import { describe, expect, it } from 'vitest';
import {
  type CatalogueScope,
  delegatedScopes,
  GRANT_TOKEN_TTL_SECONDS,
  type GrantParty,
  grantBoundScopes,
  grantProblems,
  grantTokenLifetime,
  parseScope,
} from '../src/modules/tools/sharing-grants.rules.js';

// The pure rules of sharing grants; the routes and tokens that apply them are tested in
// sharing-grants.test.ts against both engines.

const CRM: CatalogueScope[] = [
  { name: 'crm:contacts:read', shareable: true, requires: 'data:read' },
  { name: 'crm:contacts:write', shareable: true, requires: 'data:write' },
  { name: 'crm:settings:read', shareable: false, requires: 'data:read' },
];
const crm: GrantParty = { id: 'crm', enabled: true, scopes: CRM };
const mail: GrantParty = { id: 'mail', enabled: true, scopes: [] };

describe('grantProblems', () => {
  it('accepts shareable scopes of the provider between two enabled tools', () => {
    expect(grantProblems({ provider_tool_id: 'crm', consumer_tool_id: 'mail', scopes: ['crm:contacts:read'] }, crm, mail)).toEqual([]);
  });

  it('refuses a scope the provider does not share, naming it', () => {
    const p = grantProblems(
      { provider_tool_id: 'crm', consumer_tool_id: 'mail', scopes: ['crm:contacts:read', 'crm:settings:read'] },
      crm,
      mail,
    );
    expect(p).toEqual([{ path: '/body/scopes/1', message: 'crm:settings:read is not a shareable scope of the provider' }]);
  });

  it('refuses a scope the provider does not have at all (another tool’s)', () => {
    const p = grantProblems({ provider_tool_id: 'crm', consumer_tool_id: 'mail', scopes: ['mail:messages:read'] }, crm, mail);
    expect(p.map((e) => e.path)).toEqual(['/body/scopes/0']);
  });

  it('refuses a tool granting to itself', () => {
    const p = grantProblems({ provider_tool_id: 'crm', consumer_tool_id: 'crm', scopes: ['crm:contacts:read'] }, crm, crm);
    expect(p.map((e) => e.path)).toEqual(['/body/consumer_tool_id']);
  });

  it('refuses tools that are unknown or not enabled in the organization', () => {
    const p = grantProblems(
      { provider_tool_id: 'crm', consumer_tool_id: 'mail', scopes: ['crm:contacts:read'] },
      { ...crm, enabled: false },
      undefined,
    );
    expect(p.map((e) => e.path)).toEqual(['/body/provider_tool_id', '/body/consumer_tool_id']);
  });
});

describe('parseScope', () => {
  it('splits on spaces, drops duplicates and empties; null when nothing is asked', () => {
    expect(parseScope('a  b a')).toEqual(['a', 'b']);
    expect(parseScope('  ')).toBeNull();
    expect(parseScope(undefined)).toBeNull();
  });
});

describe('grantBoundScopes', () => {
  const grant = ['crm:contacts:read'];

  it('carries what was asked when the grant covers it, and all of the grant when nothing was', () => {
    expect(grantBoundScopes(['crm:contacts:read'], grant, CRM)).toEqual(['crm:contacts:read']);
    expect(grantBoundScopes(null, grant, CRM)).toEqual(['crm:contacts:read']);
  });

  it('refuses a scope outside the grant', () => {
    expect(grantBoundScopes(['crm:contacts:read', 'crm:contacts:write'], grant, CRM)).toBeNull();
  });

  it('refuses a granted scope the provider no longer shares', () => {
    const unshared = CRM.map((s) => ({ ...s, shareable: false }));
    expect(grantBoundScopes(['crm:contacts:read'], grant, unshared)).toBeNull();
    expect(grantBoundScopes(null, grant, unshared)).toBeNull();
  });
});

describe('delegatedScopes', () => {
  const grant = ['crm:contacts:read', 'crm:contacts:write'];

  it('is the grant ∩ the request', () => {
    expect(delegatedScopes(['crm:contacts:read', 'crm:other'], grant, CRM, ['data:read', 'data:write'])).toEqual(['crm:contacts:read']);
    expect(delegatedScopes(null, grant, CRM, ['data:read', 'data:write'])).toEqual(grant);
  });

  it('drops a scope whose required permission the user does not hold', () => {
    expect(delegatedScopes(null, grant, CRM, ['data:read'])).toEqual(['crm:contacts:read']);
    expect(delegatedScopes(null, grant, CRM, [])).toEqual([]);
  });
});

describe('grantTokenLifetime', () => {
  it('is at most 300 s and never outlives the grant', () => {
    expect(grantTokenLifetime(null)).toBe(GRANT_TOKEN_TTL_SECONDS);
    expect(grantTokenLifetime(86_400)).toBe(300);
    expect(grantTokenLifetime(42.9)).toBe(42);
  });
});
