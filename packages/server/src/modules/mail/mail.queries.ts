import { sql } from 'kysely';
import { uuidv7 } from '../../db/ids.js';
import type { Tx } from '../../db/tenant-context.js';

export interface QueuedEmail {
  recipient: string;
  subject: string;
  text: string;
  html: string;
}

export interface ClaimedEmail {
  id: string;
  recipient: string;
  subject: string;
  text_body: string | null;
  html_body: string | null;
  /** Attempts including this one. */
  attempts: number;
}

export async function insertOutboxEmail(tx: Tx, e: QueuedEmail): Promise<void> {
  await tx
    .insertInto('email_outbox')
    .values({ id: uuidv7(), recipient: e.recipient, subject: e.subject, text_body: e.text, html_body: e.html })
    .execute();
}

/**
 * Claims up to `limit` due messages for `leaseMs`: no other sender takes them until the lease
 * ends. SKIP LOCKED lets two senders claim at once without waiting on each other; the attempt
 * is counted here, so a sender that dies mid-send still uses up an attempt.
 */
export async function claimDueEmails(tx: Tx, limit: number, leaseMs: number): Promise<ClaimedEmail[]> {
  const { rows } = await sql<ClaimedEmail>`
    update email_outbox
    set lease_until = now() + make_interval(secs => ${leaseMs / 1000}), attempts = attempts + 1
    where id in (
      select id from email_outbox
      where sent_at is null and failed_at is null and next_attempt_at <= now()
        and (lease_until is null or lease_until <= now())
      order by next_attempt_at
      limit ${limit}
      for update skip locked
    )
    returning id, recipient, subject, text_body, html_body, attempts`.execute(tx);
  return rows;
}

/** The one-time link in the bodies is not kept once the message is sent. */
export async function markEmailSent(tx: Tx, id: string): Promise<void> {
  await tx
    .updateTable('email_outbox')
    .set({ sent_at: sql<Date>`now()`, text_body: null, html_body: null, last_error: null, lease_until: null })
    .where('id', '=', id)
    .execute();
}

export async function markEmailFailed(tx: Tx, id: string, error: string, retryInMs: number, giveUp: boolean): Promise<void> {
  await tx
    .updateTable('email_outbox')
    .set({
      last_error: error.slice(0, 500),
      next_attempt_at: sql<Date>`now() + make_interval(secs => ${retryInMs / 1000})`,
      lease_until: null,
      ...(giveUp ? { failed_at: sql<Date>`now()` } : {}),
    })
    .where('id', '=', id)
    .execute();
}
