// The periodic checkpoint job: every AUDIT_CHECKPOINT_INTERVAL_MS, each organization
// whose audit chain has grown since its latest signed checkpoint is verified (from that
// checkpoint on) and, when it verifies, gets a new checkpoint of its head. A chain that
// does not verify gets none, and the job logs the first event that does not match.
import type { Logger } from 'pino';
import type { Database } from '../../db/database.js';
import { Poller } from '../../db/poller.js';
import { withWorker } from '../../db/tenant-context.js';
import { asOperatorInOrganization } from '../access/transactions.js';
import { verifyChain } from './audit.integrity.js';
import { organizationsToCheckpoint } from './audit.queries.js';

export interface CheckpointRun {
  /** Organizations that got a new signed checkpoint. */
  signed: number;
  /** Organizations whose chain did not verify (logged, not signed). */
  failed: number;
}

export class AuditCheckpointer {
  private readonly poller = new Poller(
    () => this.runOnce(),
    (err) => this.log.error({ err }, 'audit checkpoint run failed'),
  );

  constructor(
    private readonly db: Database,
    private readonly log: Pick<Logger, 'error'>,
    /** Organizations listed per transaction. */
    private readonly batch = 100,
  ) {}

  /** One tick: every organization with events past its latest checkpoint, in id order. */
  async runOnce(): Promise<CheckpointRun> {
    const run: CheckpointRun = { signed: 0, failed: 0 };
    let after: string | null = null;
    for (;;) {
      const from: string | null = after;
      const orgs: string[] = await withWorker(this.db, (tx) => organizationsToCheckpoint(tx, from, this.batch));
      for (const orgId of orgs) {
        const v = await verifyChain(this.db, (fn) => asOperatorInOrganization(this.db, orgId, fn), orgId, { fromCheckpoint: true });
        if (v.ok) run.signed++;
        else {
          run.failed++;
          this.log.error({ organizationId: orgId, firstMismatch: v.first_mismatch }, 'audit log does not verify; no checkpoint signed');
        }
      }
      if (orgs.length < this.batch) return run;
      after = orgs[orgs.length - 1]!;
    }
  }

  start(intervalMs: number): void {
    this.poller.start(intervalMs);
  }

  stop(): Promise<void> {
    return this.poller.stop();
  }
}
