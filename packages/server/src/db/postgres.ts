import pg from 'pg';
import type { Config } from '../config.js';
import { unavailable } from '../http/errors.js';
import type { ConnectionSource, ScriptConnection } from './driver.js';
import { unreachableRetryAfter } from './faults.js';

// Timestamps come back as Date, bigint counts as numbers (they are small here).
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

export interface PoolStats {
  total: number;
  idle: number;
  waiting: number;
  max: number;
}

// Queries with parameters run as named prepared statements: PostgreSQL parses and
// plans each distinct statement once per connection instead of on every request. With
// DATABASE_PREPARED_STATEMENTS=unnamed they run unnamed (parsed per use): a transaction-mode
// pooler may run each transaction on another server connection, where a name is unknown.
const MAX_NAMED = 1_000;
const statementNames = new Map<string, string>();
function statementName(sql: string): string | undefined {
  let name = statementNames.get(sql);
  if (name === undefined && statementNames.size < MAX_NAMED) {
    name = `t${statementNames.size}`;
    statementNames.set(sql, name);
  }
  return name;
}

interface PgConnection extends ScriptConnection {
  client: pg.PoolClient;
  failed: boolean;
}

export function postgresSource(
  url: string,
  cfg: Config['db'],
  onError: (err: Error) => void,
): ConnectionSource<PgConnection> & { stats(): PoolStats } {
  const pool = new pg.Pool({
    connectionString: url,
    max: cfg.poolMax,
    connectionTimeoutMillis: cfg.connectionTimeoutMs,
    idleTimeoutMillis: cfg.idleTimeoutMs,
    statement_timeout: cfg.statementTimeoutMs,
    idle_in_transaction_session_timeout: cfg.idleInTransactionTimeoutMs,
    // A stalled server (socket open, no bytes) never trips statement_timeout: the client gives
    // up a little later by itself, and keepalive finds a peer that vanished while idle.
    query_timeout: cfg.queryTimeoutMs || undefined,
    keepAlive: true,
    keepAliveInitialDelayMillis: cfg.keepAliveInitialDelayMs,
    application_name: 'tenantry',
  });
  const retryAfter = unreachableRetryAfter(cfg.connectionTimeoutMs);
  // An idle client's error (database restart, killed backend) is emitted here;
  // without a listener it would crash the process. The pool drops that client.
  pool.on('error', onError);
  const connections = new WeakMap<pg.PoolClient, PgConnection>();
  const nameOf = cfg.preparedStatements === 'unnamed' ? () => undefined : statementName;

  const wrap = (client: pg.PoolClient): PgConnection => {
    const conn: PgConnection = {
      client,
      failed: false,
      query: (text, values) =>
        values.length === 0 ? client.query(text) : client.query({ text, values: values as unknown[], name: nameOf(text) }),
      exec: async (script) => void (await client.query(script)),
    };
    // A checked-out client that loses its connection emits 'error' on itself; pg only
    // listens while the client is idle, so listen here and never pool it again.
    client.on('error', (err) => {
      conn.failed = true;
      onError(err);
    });
    connections.set(client, conn);
    return conn;
  };

  return {
    async acquire() {
      let client: pg.PoolClient;
      try {
        client = await pool.connect();
      } catch (err) {
        const exhausted = err instanceof Error && /timeout/i.test(err.message) && pool.totalCount >= cfg.poolMax;
        // The driver's error stays attached: at start it names the cause (connect-errors.ts).
        throw Object.assign(
          exhausted
            ? unavailable('All database connections are busy; retry shortly', 1)
            : unavailable('The database is unavailable; retry shortly', retryAfter),
          { cause: err },
        );
      }
      return connections.get(client) ?? wrap(client);
    },
    release(conn, destroy) {
      conn.client.release(destroy || conn.failed ? new Error('connection discarded') : undefined);
    },
    end: () => pool.end(),
    unreachableRetryAfter: retryAfter,
    // Readiness asks the database itself on a connection of its own, so a pool that is merely
    // busy still reports ready, and a probe never waits behind requests for a pooled connection.
    async ping(timeoutMs) {
      const client = new pg.Client({
        connectionString: url,
        connectionTimeoutMillis: timeoutMs,
        query_timeout: timeoutMs,
        application_name: 'tenantry-readyz',
      });
      client.on('error', () => undefined);
      try {
        await client.connect();
        await client.query('select 1');
      } finally {
        void client.end().catch(() => undefined);
      }
    },
    stats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount, max: cfg.poolMax }),
  };
}
