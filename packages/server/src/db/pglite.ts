import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PGlite } from '@electric-sql/pglite';
import { unavailable } from '../http/errors.js';
import { lockDataDir } from './data-dir-lock.js';
import type { ConnectionSource, ScriptConnection } from './driver.js';
import type { PoolStats } from './postgres.js';

// PostgreSQL's defaults are sized for a server (128 MB of shared buffers, 100 connections);
// the embedded engine is one session, and its shared memory lives in this process's WASM heap.
const START_PARAMS = [...PGlite.defaultStartParams, '-c', 'shared_buffers=8MB', '-c', 'max_connections=10'];

/**
 * PGlite creates a new database by running initdb in a second WASM instance, whose
 * heap this process would keep (some 500 MB of RSS after the first start). A child
 * process runs it instead and gives all of it back when it exits.
 */
async function initdbInChild(dataDir: string): Promise<void> {
  if (existsSync(join(dataDir, 'PG_VERSION'))) return;
  const pglitePath = createRequire(import.meta.url).resolve('@electric-sql/pglite');
  const script = 'const { PGlite } = require(process.argv[1]); PGlite.create(process.argv[2]).then((db) => db.close());';
  await promisify(execFile)(process.execPath, ['-e', script, pglitePath, dataDir]);
}

/**
 * PGlite is one in-process PostgreSQL session. Transactions of concurrent
 * requests must not interleave on it, so it is handed out like a pool of one:
 * a waiter queue with the same acquire timeout as the PostgreSQL pool.
 */
export async function pgliteSource(
  dataDir: string | undefined,
  timeoutMs: number,
  dump?: Blob,
): Promise<ConnectionSource<ScriptConnection> & { stats(): PoolStats }> {
  const unlock = dataDir === undefined ? () => undefined : lockDataDir(dataDir);
  let pglite: PGlite;
  try {
    if (dataDir !== undefined) await initdbInChild(dataDir);
    pglite = await PGlite.create(dataDir, { startParams: START_PARAMS, ...(dump ? { loadDataDir: dump } : {}) });
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
