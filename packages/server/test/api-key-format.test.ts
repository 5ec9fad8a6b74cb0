import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CHECKSUM_LENGTH,
  checksumOf,
  generateKey,
  KEY_LENGTH,
  KEY_PREFIX,
  keyHash,
  parseKey,
  randomBase62,
  SECRET_LENGTH,
  startOf,
} from '../src/modules/api-keys/key-format.js';

// The key format alone: no database, no clock.

describe('API key format', () => {
  it('is tnty_<16 base62>_<32 base62 secret><6 base62 CRC-32>', () => {
    const { key, keyId } = generateKey();
    expect(key).toMatch(/^tnty_[0-9A-Za-z]{16}_[0-9A-Za-z]{38}$/);
    expect(key.length).toBe(KEY_LENGTH);
    expect(key.slice(KEY_PREFIX.length, KEY_PREFIX.length + 16)).toBe(keyId);
  });

  it('carries at least 190 bits of secret', () => {
    expect(SECRET_LENGTH * Math.log2(62)).toBeGreaterThanOrEqual(190);
  });

  it('draws every base62 character about equally often (no modulo bias)', () => {
    const counts = new Map<string, number>();
    for (const c of randomBase62(62_000)) counts.set(c, (counts.get(c) ?? 0) + 1);
    expect(counts.size).toBe(62);
    for (const n of counts.values()) expect(n).toBeGreaterThan(700);
  });

  it('never makes the same key or key id twice in 10,000', () => {
    const keys = Array.from({ length: 10_000 }, () => generateKey());
    expect(new Set(keys.map((k) => k.key)).size).toBe(keys.length);
    expect(new Set(keys.map((k) => k.keyId)).size).toBe(keys.length);
  });

  it('parses what it generates', () => {
    for (let i = 0; i < 100; i++) {
      const k = generateKey();
      expect(parseKey(k.key)).toEqual(k);
    }
  });

  it('recognises a leaked key by its checksum alone, and a key with one character changed is not one', () => {
    const { key } = generateKey();
    const body = key.slice(0, -CHECKSUM_LENGTH);
    expect(checksumOf(body)).toBe(key.slice(-CHECKSUM_LENGTH));
    fc.assert(
      fc.property(fc.integer({ min: KEY_PREFIX.length, max: key.length - 1 }), fc.constantFrom(...'0aZ9'), (i, c) => {
        fc.pre(key[i] !== '_' && key[i] !== c);
        const changed = `${key.slice(0, i)}${c}${key.slice(i + 1)}`;
        expect(parseKey(changed)).toBeNull();
      }),
    );
  });

  it.each([
    ['empty', ''],
    ['a JWT', 'eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2ln'],
    ['another prefix', () => `tntx_${generateKey().key.slice(5)}`],
    ['no separator', () => generateKey().key.replace(/_([^_]*)$/, '-$1')],
    ['one character short', () => generateKey().key.slice(0, -1)],
    ['one character long', () => `${generateKey().key}a`],
    ['a non-base62 character', () => generateKey().key.replace(/[0-9A-Za-z]$/, '+')],
    [
      'a forged secret with a stale checksum',
      () => {
        const { key } = generateKey();
        return `${key.slice(0, 22)}${'a'.repeat(SECRET_LENGTH)}${key.slice(-CHECKSUM_LENGTH)}`;
      },
    ],
    ['random bytes', () => randomBytes(40).toString('base64url')],
  ])('refuses %s', (_label, text) => {
    expect(parseKey(typeof text === 'function' ? text() : text)).toBeNull();
  });

  it('refuses any string that is not exactly a generated key (property)', () => {
    fc.assert(fc.property(fc.string({ maxLength: 80 }), (s) => parseKey(s) === null));
  });

  it('stores a keyed hash: the same key under another server secret hashes differently', () => {
    const { key } = generateKey();
    const a = keyHash(Buffer.alloc(32, 1), key);
    expect(a.length).toBe(32);
    expect(keyHash(Buffer.alloc(32, 1), key)).toEqual(a);
    expect(keyHash(Buffer.alloc(32, 2), key)).not.toEqual(a);
  });

  it('shows the prefix and the first 8 characters of the key id as its start', () => {
    const { key } = generateKey();
    expect(startOf(key)).toBe(key.slice(0, 13));
    expect(startOf(key)).toMatch(/^tnty_[0-9A-Za-z]{8}$/);
  });
});
