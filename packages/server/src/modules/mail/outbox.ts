import type { Transporter } from 'nodemailer';
import type { Logger } from 'pino';
import type { Database } from '../../db/database.js';
import { uuidv7 } from '../../db/ids.js';
import { Poller } from '../../db/poller.js';
import { type Tx, withWorker } from '../../db/tenant-context.js';
import { claimDueEmails, insertOutboxEmail, markEmailFailed, markEmailSent } from './mail.queries.js';

export interface OutgoingEmail {
  to: string;
  subject: string;
  text: string;
  html: string;
}

/** Queues an email in the caller's transaction: it is sent if and only if the change commits. */
export async function enqueueEmail(tx: Tx, e: OutgoingEmail): Promise<void> {
  await insertOutboxEmail(tx, { recipient: e.to, subject: e.subject, text: e.text, html: e.html });
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
  // The URL carries the server; the options bound every step of the conversation.
  // nodemailer loads with the first message, not with every start.
  let transport: Promise<Transporter> | undefined;
  return async (e) => {
    transport ??= import('nodemailer').then((m) =>
      m.default.createTransport({ url: smtpUrl, connectionTimeout: 5_000, greetingTimeout: 5_000, socketTimeout: 5_000 }),
    );
    await (await transport).sendMail({ from, to: e.to, subject: e.subject, text: e.text, html: e.html });
  };
}

export interface DelivererOptions {
  batchSize?: number;
  /** First retry delay; doubles per attempt up to maxBackoffMs. */
  baseBackoffMs?: number;
  maxBackoffMs?: number;
  maxAttempts?: number;
  /** How long a claimed batch is reserved for this sender; longer than sending the batch can take. */
  leaseMs?: number;
}

/**
 * Sends due outbox messages. A batch is claimed with a lease in one short transaction and
 * committed; the messages are sent outside any transaction; each outcome is recorded in
 * another short transaction. So a slow or hung mail server never holds a database
 * connection, two instances never claim the same message while its lease runs, and a failed
 * send is retried later with exponential backoff. A sender that dies between sending and
 * recording leaves the lease to expire and the message is sent again: at least once.
 */
export class OutboxDeliverer {
  private readonly poller = new Poller(
    () => this.runOnce(),
    (err) => this.log.error({ err }, 'email outbox run failed'),
  );
  private readonly o: Required<DelivererOptions>;

  constructor(
    private readonly db: Database,
    private readonly send: Send,
    private readonly log: Pick<Logger, 'warn' | 'error'>,
    opts: DelivererOptions = {},
  ) {
    this.o = { batchSize: 10, baseBackoffMs: 2_000, maxBackoffMs: 3_600_000, maxAttempts: 12, leaseMs: 5 * 60_000, ...opts };
  }

  private record(fn: (tx: Tx) => Promise<void>): Promise<void> {
    // As the background role: no request role reads the bodies (migrations/080_user_rows.sql).
    return withWorker(this.db, fn);
  }

  /** Delivers what is due now; returns how many messages were sent. */
  async runOnce(): Promise<number> {
    const due = await withWorker(this.db, (tx) => claimDueEmails(tx, this.o.batchSize, this.o.leaseMs));
    let sent = 0;
    for (const m of due) {
      try {
        await this.send({ to: m.recipient, subject: m.subject, text: m.text_body ?? '', html: m.html_body ?? '' });
      } catch (err) {
        const delayMs = Math.min(this.o.maxBackoffMs, this.o.baseBackoffMs * 2 ** (m.attempts - 1));
        const giveUp = m.attempts >= this.o.maxAttempts;
        this.log.warn({ err, outboxId: m.id, attempts: m.attempts, giveUp }, 'email delivery failed');
        await this.record((tx) => markEmailFailed(tx, m.id, String((err as Error).message ?? err), delayMs, giveUp));
        continue;
      }
      await this.record((tx) => markEmailSent(tx, m.id));
      sent++;
    }
    return sent;
  }

  /** Polls every `intervalMs` until stop(). */
  start(intervalMs = 1_000): void {
    this.poller.start(intervalMs);
  }

  stop(): Promise<void> {
    return this.poller.stop();
  }
}
