import { randomBytes } from 'node:crypto';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const isUuid = (v: unknown): v is string => typeof v === 'string' && UUID.test(v);

let lastMs = 0;
let seq = 0;

/**
 * UUID version 7 (RFC 9562): time-ordered, so keyset pagination by id follows
 * creation order. Ids made in the same millisecond by this process stay in order:
 * the 12 rand_a bits are a counter (RFC 9562 §6.2, method 1) that starts at a random
 * value below 2048 each millisecond.
 */
export function uuidv7(): string {
  const b = randomBytes(16);
  let ms = Date.now();
  if (ms <= lastMs) {
    ms = lastMs;
    if (++seq > 0xfff) {
      ms++;
      seq = 0;
    }
  } else {
    seq = ((b[6]! << 8) | b[7]!) & 0x7ff;
  }
  lastMs = ms;
  const t = BigInt(ms);
  for (let i = 0; i < 6; i++) b[i] = Number((t >> BigInt(8 * (5 - i))) & 0xffn);
  b[6] = 0x70 | (seq >> 8);
  b[7] = seq & 0xff;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
