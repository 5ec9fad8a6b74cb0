// Idempotency-Key: a creating request's answer is stored in the transaction that makes the
// change, so a retry after a lost reply gets that answer instead of a second change.
import type { Logger } from 'pino';
import type { Database } from '../../db/database.js';
import { Poller } from '../../db/poller.js';
import type { Principal } from '../access/principal.js';
import { anonymous, inUserContext } from '../access/transactions.js';
import { deleteExpiredAnswers, findStoredAnswer, type StoredAnswer } from './idempotency.queries.js';
import { principalKeyOf } from './slot.js';

/** The caller's stored answer for `key`, read before any use-case work. */
export const storedAnswerOf = (db: Database, p: Principal, key: string): Promise<StoredAnswer | undefined> =>
  inUserContext(db, p, (tx) => findStoredAnswer(tx, principalKeyOf(p), key));

/**
 * Deletes expired records in batches, each its own short transaction, so a large backlog
 * never holds a long lock; runs every `intervalMs` until stop().
 */
export class IdempotencyExpiry {
  private readonly poller = new Poller(
    () => this.runOnce(),
    (err) => this.log.error({ err }, 'removing expired idempotency records failed'),
  );

  constructor(
    private readonly db: Database,
    private readonly log: Pick<Logger, 'error'>,
    private readonly batch = 1_000,
  ) {}

  /** Deletes every expired record now; returns how many. */
  async runOnce(): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await anonymous(this.db, (tx) => deleteExpiredAnswers(tx, this.batch));
      total += n;
      if (n < this.batch) return total;
    }
  }

  start(intervalMs = 10 * 60_000): void {
    this.poller.start(intervalMs);
  }

  stop(): Promise<void> {
    return this.poller.stop();
  }
}
