import { randomUUID } from 'node:crypto';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const isUuid = (v: unknown): v is string => typeof v === 'string' && UUID.test(v);

let lastMs = 0;
let seq = 0;

/**
 * UUID version 7 (RFC 9562): time-ordered, so keyset pagination by id follows
 * creation order. Ids made in the same millisecond by this process stay in order:
 * the 12 rand_a bits are a counter (RFC 9562 §6.2, method 1) that starts at a random
 * value below 2048 each millisecond. The random bits come from randomUUID(), which
 * draws on a cached block of the CSPRNG's output: this runs once per request.
 */
export function uuidv7(): string {
  // A version 4 UUID: xxxxxxxx-xxxx-4xxx-Vxxx-xxxxxxxxxxxx, V holding the variant bits 10.
  const r = randomUUID();
  let ms = Date.now();
  if (ms <= lastMs) {
    ms = lastMs;
    if (++seq > 0xfff) {
      ms++;
      seq = 0;
    }
  } else {
    seq = parseInt(r.slice(15, 18), 16) & 0x7ff;
  }
  lastMs = ms;
  const t = ms.toString(16).padStart(12, '0');
  // unix_ts_ms (48 bits), version 7 and the counter, then the variant and 62 random bits.
  return `${t.slice(0, 8)}-${t.slice(8)}-7${seq.toString(16).padStart(3, '0')}-${r.slice(19)}`;
}
