import { sql } from 'kysely';
import nodemailer from 'nodemailer';
import type { Logger } from 'pino';
import type { Database } from '../../db/database.js';
import { uuidv7 } from '../../db/ids.js';
import { type Tx, withTenant } from '../../db/tenant-context.js';

export interface OutgoingEmail {
  to: string;
  subject: string;
  text: string;
  html: string;
}

/** Queues an email in the caller's transaction: it is sent if and only if the change commits. */
export async function enqueueEmail(tx: Tx, e: OutgoingEmail): Promise<void> {
  await tx.insertInto('email_outbox').values(outboxRow(e)).execute();
}

/** The outbox row of an email. */
export const outboxRow = (e: OutgoingEmail) => ({
  id: uuidv7(),
  recipient: e.to,
  subject: e.subject,
  text_body: e.text,
  html_body: e.html,
});

export type Send = (e: OutgoingEmail) => Promise<void>;

/** SMTP through nodemailer; without SMTP_URL, the message is logged so a laptop setup stays usable. */
export function mailTransport(smtpUrl: string | undefined, from: string, log: Pick<Logger, 'info'>): Send {
  if (!smtpUrl) {
    return async (e) =>
      log.info({ to: e.to, subject: e.subject, text: e.text }, 'email (SMTP_URL is not set, so it is logged instead of sent)');
  }
  const transport = nodemailer.createTransport(smtpUrl, {
    connectionTimeout: 5_000,
    greetingTimeout: 5_000,
    socketTimeout: 5_000,
  } as never);
  return async (e) => {
    await transport.sendMail({ from, to: e.to, subject: e.subject, text: e.text, html: e.html });
  };
}

export interface DelivererOptions {
  batchSize?: number;
  /** First retry delay; doubles per attempt up to maxBackoffMs. */
  baseBackoffMs?: number;
  maxBackoffMs?: number;
  maxAttempts?: number;
}

/**
 * Sends due outbox messages. Rows are claimed with FOR UPDATE SKIP LOCKED inside a
 * transaction that stays open while the message is sent, so two instances never send
 * the same message, and a failed send is retried later with exponential backoff.
 */
export class OutboxDeliverer {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<number> | undefined;
  private readonly o: Required<DelivererOptions>;

  constructor(
    private readonly db: Database,
    private readonly send: Send,
    private readonly log: Pick<Logger, 'warn' | 'error'>,
    opts: DelivererOptions = {},
  ) {
    this.o = { batchSize: 10, baseBackoffMs: 2_000, maxBackoffMs: 3_600_000, maxAttempts: 12, ...opts };
  }

  /** Delivers what is due now; returns how many messages were sent. */
  async runOnce(): Promise<number> {
    return withTenant(this.db, { orgId: null, userId: null }, async (tx) => {
      const due = await tx
        .selectFrom('email_outbox')
        .select(['id', 'recipient', 'subject', 'text_body', 'html_body', 'attempts'])
        .where('sent_at', 'is', null)
        .where('failed_at', 'is', null)
        .where('next_attempt_at', '<=', sql<Date>`now()`)
        .orderBy('next_attempt_at')
        .limit(this.o.batchSize)
        .forUpdate()
        .skipLocked()
        .execute();
      let sent = 0;
      for (const m of due) {
        try {
          await this.send({ to: m.recipient, subject: m.subject, text: m.text_body ?? '', html: m.html_body ?? '' });
          await tx
            .updateTable('email_outbox')
            .set({ sent_at: sql<Date>`now()`, text_body: null, html_body: null, last_error: null })
            .where('id', '=', m.id)
            .execute();
          sent++;
        } catch (err) {
          const attempts = m.attempts + 1;
          const delayMs = Math.min(this.o.maxBackoffMs, this.o.baseBackoffMs * 2 ** (attempts - 1));
          const giveUp = attempts >= this.o.maxAttempts;
          this.log.warn({ err, outboxId: m.id, attempts, giveUp }, 'email delivery failed');
          await tx
            .updateTable('email_outbox')
            .set({
              attempts,
              last_error: String((err as Error).message ?? err).slice(0, 500),
              next_attempt_at: sql<Date>`now() + make_interval(secs => ${delayMs / 1000})`,
              ...(giveUp ? { failed_at: sql<Date>`now()` } : {}),
            })
            .where('id', '=', m.id)
            .execute();
        }
      }
      return sent;
    });
  }

  /** Polls every `intervalMs` until stop(). */
  start(intervalMs = 1_000): void {
    const tick = () => {
      this.running = this.runOnce().catch((err) => {
        this.log.error({ err }, 'email outbox run failed');
        return 0;
      });
      void this.running.finally(() => {
        if (this.timer) this.timer = setTimeout(tick, intervalMs).unref();
      });
    };
    this.timer = setTimeout(tick, intervalMs).unref();
  }

  async stop(): Promise<void> {
    const t = this.timer;
    this.timer = undefined;
    if (t) clearTimeout(t);
    await this.running;
  }
}
