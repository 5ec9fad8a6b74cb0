// The organization API key as text: `tnty_<key id>_<secret><checksum>`, all base62.
// - key id: 16 characters (95 bits), the key's public name, by which it is looked up;
// - secret: 32 characters (190.5 bits), uniformly random;
// - checksum: the CRC-32 of everything before it, as 6 base62 characters, so a secret
//   scanner recognises a real key (and a typo is refused) without the database.
// Pure functions: nothing here reads the database or the clock.
import { createHmac, randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';

export const KEY_PREFIX = 'tnty_';
export const KEY_ID_LENGTH = 16;
export const SECRET_LENGTH = 32;
export const CHECKSUM_LENGTH = 6;
/** How many characters of a key its listings show (`start`): the prefix and the key id's first 8. */
export const START_LENGTH = KEY_PREFIX.length + 8;

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
/** Bytes at or above this are redrawn, so each character is uniform over the 62 (248 = 4 × 62). */
const UNBIASED_LIMIT = 248;

/** The exact shape of a key; anything else is refused before any work. */
export const KEY_PATTERN = new RegExp(
  `^${KEY_PREFIX}([0-9A-Za-z]{${KEY_ID_LENGTH}})_([0-9A-Za-z]{${SECRET_LENGTH}})([0-9A-Za-z]{${CHECKSUM_LENGTH}})$`,
);
/** The length of every key. */
export const KEY_LENGTH = KEY_PREFIX.length + KEY_ID_LENGTH + 1 + SECRET_LENGTH + CHECKSUM_LENGTH;

/** `length` uniformly random base62 characters. */
export function randomBase62(length: number): string {
  let out = '';
  while (out.length < length) {
    for (const b of randomBytes(length * 2)) {
      if (b < UNBIASED_LIMIT) out += ALPHABET[b % 62];
      if (out.length === length) break;
    }
  }
  return out;
}

/** An unsigned 32-bit number as exactly 6 base62 characters (62^6 > 2^32). */
function base62Of(n: number): string {
  let out = '';
  let v = n >>> 0;
  for (let i = 0; i < CHECKSUM_LENGTH; i++) {
    out = ALPHABET[v % 62]! + out;
    v = Math.floor(v / 62);
  }
  return out;
}

/** The checksum characters of a key's body (`tnty_<key id>_<secret>`). */
export const checksumOf = (body: string): string => base62Of(crc32(body));

export interface ParsedKey {
  /** The key's public id (16 base62 characters). */
  keyId: string;
  /** The whole key, as presented. */
  key: string;
}

/** A new key: its text (shown once) and its key id. */
export function generateKey(): ParsedKey {
  const keyId = randomBase62(KEY_ID_LENGTH);
  const body = `${KEY_PREFIX}${keyId}_${randomBase62(SECRET_LENGTH)}`;
  return { keyId, key: `${body}${checksumOf(body)}` };
}

/**
 * The key id of a well-formed key whose checksum holds; null for anything else. This is
 * all a scanner needs to recognise a leaked key, and all the service does before it
 * touches the database.
 */
export function parseKey(text: string): ParsedKey | null {
  if (text.length !== KEY_LENGTH) return null;
  const m = KEY_PATTERN.exec(text);
  if (!m) return null;
  const checksum = m[3]!;
  if (checksumOf(text.slice(0, text.length - CHECKSUM_LENGTH)) !== checksum) return null;
  return { keyId: m[1]!, key: text };
}

/** Whether a string looks like an API key at all (the prefix): such a bearer is never parsed as a JWT. */
export const looksLikeKey = (text: string): boolean => text.startsWith(KEY_PREFIX);

/** What the database stores of a key: HMAC-SHA-256 of the whole key under the server's secret. */
export const keyHash = (secret: Buffer, key: string): Buffer => createHmac('sha256', secret).update(key).digest();

/** The first characters of a key, which listings show. */
export const startOf = (key: string): string => key.slice(0, START_LENGTH);
