import { sql } from 'kysely';
import type { Tx } from '../../db/tenant-context.js';

export interface StoredAnswer {
  request_hash: string;
  status: number;
  response: unknown;
}

/** The live answer stored for the principal's key (row-level security shows only the caller's own). */
export async function findStoredAnswer(tx: Tx, principal: string, key: string): Promise<StoredAnswer | undefined> {
  const { rows } = await sql<StoredAnswer>`
    select request_hash, status, response from idempotency_records
    where principal = ${principal} and idempotency_key = ${key} and expires_at > now()`.execute(tx);
  return rows[0];
}

/**
 * Stores the answer for 24 h; an expired record of the same key is replaced. False when a live
 * record exists already: another request with the key committed first (on another instance).
 */
export async function storeAnswer(
  tx: Tx,
  r: { principal: string; key: string; requestHash: string; status: number; response: string },
): Promise<boolean> {
  const { rows } = await sql<{ stored: number }>`
    insert into idempotency_records (principal, idempotency_key, request_hash, status, response, expires_at)
    values (${r.principal}, ${r.key}, ${r.requestHash}, ${r.status}, ${r.response}::jsonb, now() + interval '24 hours')
    on conflict (principal, idempotency_key) do update
      set request_hash = excluded.request_hash, status = excluded.status, response = excluded.response,
          created_at = excluded.created_at, expires_at = excluded.expires_at
      where idempotency_records.expires_at <= now()
    returning 1 as stored`.execute(tx);
  return rows.length === 1;
}

/** Removes up to `batch` expired records; returns how many. */
export async function deleteExpiredAnswers(tx: Tx, batch: number): Promise<number> {
  const { rows } = await sql<{ n: number }>`
    with gone as (
      delete from idempotency_records
      where ctid in (select ctid from idempotency_records where expires_at <= now() limit ${batch})
      returning 1)
    select count(*)::int as n from gone`.execute(tx);
  return rows[0]?.n ?? 0;
}
