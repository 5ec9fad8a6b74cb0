import { describe, expect, it, vi } from 'vitest';
import { isUuid, uuidv7 } from '../src/db/ids.js';

describe('uuidv7', () => {
  it('is a version 7, variant 10 UUID', () => {
    const id = uuidv7();
    expect(isUuid(id)).toBe(true);
    expect(id[14]).toBe('7');
    expect('89ab').toContain(id[19]);
  });

  it('orders ids made in the same millisecond by creation', () => {
    const ids = Array.from({ length: 10_000 }, () => uuidv7());
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('keeps the creation time in the first 48 bits', async () => {
    // A fresh instance of the module: test files share workers, and one that froze the clock
    // in the future leaves its last millisecond behind (ids never go back in time).
    vi.resetModules();
    const fresh = await import('../src/db/ids.js');
    const before = Date.now();
    const id = fresh.uuidv7();
    const ms = parseInt(id.replaceAll('-', '').slice(0, 12), 16);
    expect(ms).toBeGreaterThanOrEqual(before);
    expect(ms).toBeLessThanOrEqual(Date.now() + 1);
  });
});
