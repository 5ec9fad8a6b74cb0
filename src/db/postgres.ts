import pg from 'pg';
import type { Config } from '../config.js';
import { unavailable } from '../http/errors.js';
import type { ConnectionSource, ScriptConnection } from './driver.js';

// Timestamps come back as Date, bigint counts as numbers (they are small here).
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

export interface PoolStats {
  total: number;
  idle: number;
  waiting: number;
  max: number;
}

export function postgresSource(
  url: string,
  cfg: Config['db'],
  onError: (err: Error) => void,
): ConnectionSource<ScriptConnection & pg.PoolClient> & { stats(): PoolStats } {
  const pool = new pg.Pool({
    connectionString: url,
    max: cfg.poolMax,
    connectionTimeoutMillis: cfg.connectionTimeoutMs,
    idleTimeoutMillis: cfg.idleTimeoutMs,
    statement_timeout: cfg.statementTimeoutMs,
    idle_in_transaction_session_timeout: cfg.idleInTransactionTimeoutMs,
    application_name: 'tenantry',
  });
  // An idle client's error (database restart, killed backend) is emitted here;
  // without a listener it would crash the process. The pool drops that client.
  pool.on('error', onError);
  // A checked-out client that loses its connection emits 'error' on itself; pg only
  // listens while the client is idle, so listen here and never pool it again.
  const failed = new WeakSet<pg.PoolClient>();
  const watched = new WeakSet<pg.PoolClient>();

  return {
    async acquire() {
      try {
        const client = await pool.connect();
        if (!watched.has(client)) {
          watched.add(client);
          client.on('error', (err) => {
            failed.add(client);
            onError(err);
          });
        }
        return Object.assign(client, { exec: async (script: string) => void (await client.query(script)) });
      } catch (err) {
        const exhausted = err instanceof Error && /timeout/i.test(err.message) && pool.totalCount >= cfg.poolMax;
        throw unavailable(exhausted ? 'All database connections are busy; retry shortly' : 'The database is unavailable');
      }
    },
    release(client, destroy) {
      client.release(destroy || failed.has(client) ? new Error('connection discarded') : undefined);
    },
    end: () => pool.end(),
    stats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount, max: cfg.poolMax }),
  };
}
