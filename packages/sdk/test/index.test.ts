import { describe, expect, it } from 'vitest';
import { isPrincipalType, PRINCIPAL_TYPES } from '../src/index.js';

describe('principal types', () => {
  it('accept exactly the principals of the contract', () => {
    expect(PRINCIPAL_TYPES).toEqual(['user', 'tool', 'api_key', 'platform_admin']);
    for (const p of PRINCIPAL_TYPES) expect(isPrincipalType(p)).toBe(true);
    for (const p of ['system', 'User', '', null, 1, undefined]) expect(isPrincipalType(p)).toBe(false);
  });
});
