import { PGlite } from '@electric-sql/pglite';
import { unavailable } from '../http/errors.js';
import { lockDataDir } from './data-dir-lock.js';
import type { ConnectionSource, ScriptConnection } from './driver.js';
import type { PoolStats } from './postgres.js';

/**
 * PGlite is one in-process PostgreSQL session. Transactions of concurrent
 * requests must not interleave on it, so it is handed out like a pool of one:
 * a waiter queue with the same acquire timeout as the PostgreSQL pool.
 */
export async function pgliteSource(
  dataDir: string | undefined,
  timeoutMs: number,
): Promise<ConnectionSource<ScriptConnection> & { stats(): PoolStats }> {
  const unlock = dataDir === undefined ? () => undefined : lockDataDir(dataDir);
  let pglite: PGlite;
  try {
    pglite = await PGlite.create(dataDir);
  } catch (err) {
    unlock();
    throw err;
  }
  const conn: ScriptConnection = {
    async query(sql, params) {
      const r = await pglite.query(sql, params as unknown[]);
      return { rows: r.rows, rowCount: r.affectedRows ?? null };
    },
    async exec(script) {
      await pglite.exec(script);
    },
  };
  let busy = false;
  const waiters: Array<{ resolve: () => void; timer: NodeJS.Timeout }> = [];

  const handOn = () => {
    const next = waiters.shift();
    if (next) {
      clearTimeout(next.timer);
      next.resolve();
    } else busy = false;
  };

  return {
    acquire() {
      if (!busy) {
        busy = true;
        return Promise.resolve(conn);
      }
      return new Promise<ScriptConnection>((resolve, reject) => {
        const waiter = {
          resolve: () => resolve(conn),
          timer: setTimeout(() => {
            waiters.splice(waiters.indexOf(waiter), 1);
            reject(unavailable('The embedded database is busy; retry shortly'));
          }, timeoutMs),
        };
        waiters.push(waiter);
      });
    },
    release(_conn, destroy) {
      // The single session cannot be replaced: make sure no transaction is left open on it.
      if (destroy)
        pglite
          .exec('rollback')
          .catch(() => undefined)
          .finally(handOn);
      else handOn();
    },
    end: () => pglite.close().finally(unlock),
    unreachableRetryAfter: 1,
    // In process: the engine is there as long as it is open. Busy means it is working.
    async ping() {
      if (busy) return;
      await pglite.query('select 1');
    },
    stats: () => ({ total: 1, idle: busy ? 0 : 1, waiting: waiters.length, max: 1 }),
  };
}
