import { Kysely } from 'kysely';
import type { Config } from '../config.js';
import { type ConnectionSource, dialectFor, type ScriptConnection } from './driver.js';
import { pgliteSource } from './pglite.js';
import type { PoolStats } from './postgres.js';
import type { Schema } from './schema.js';

export type Engine = 'postgres' | 'pglite';

/** One interface over both engines. */
export interface Database {
  readonly engine: Engine;
  /** Runs as the connecting user: migrations and start-up checks only. Requests go through withTenant or readInContext. */
  readonly kysely: Kysely<Schema>;
  /** One connection for the length of `fn` (migrations, scripts). */
  withConnection<T>(fn: (conn: ScriptConnection) => Promise<T>): Promise<T>;
  stats(): PoolStats;
  /** Readiness: throws unless the database answers within `timeoutMs` (a busy pool still answers). */
  ping(timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

export interface OpenOptions {
  /** PostgreSQL URL; without one, embedded PGlite in `dataDir` (in memory when `dataDir` is null). */
  url?: string | undefined;
  dataDir?: string | null;
  /** PGlite only: start from this dump of a data directory (PGlite's dumpDataDir) instead of an empty one. */
  pgliteDump?: Blob | undefined;
  pool: Config['db'];
  onPoolError?: (err: Error) => void;
  /** Sees the text of every query Kysely runs (diagnostics and tests). */
  onQuery?: (sql: string) => void;
}

export async function openDatabase(opts: OpenOptions): Promise<Database> {
  // pg loads only for PostgreSQL: an embedded start does without it.
  const source = opts.url
    ? (await import('./postgres.js')).postgresSource(opts.url, opts.pool, opts.onPoolError ?? (() => undefined))
    : await pgliteSource(opts.dataDir ?? undefined, opts.pool.connectionTimeoutMs, opts.pgliteDump);
  return fromSource(opts.url ? 'postgres' : 'pglite', source, opts.onQuery);
}

function fromSource(
  engine: Engine,
  source: ConnectionSource<ScriptConnection> & { stats(): PoolStats },
  onQuery?: (sql: string) => void,
): Database {
  // Kysely ends the source only if it ever ran a query; close() ends it either way, once.
  let ending: Promise<void> | undefined;
  const endOnce = () => (ending ??= source.end());
  const kysely = new Kysely<Schema>({
    dialect: dialectFor({ ...source, end: endOnce }),
    ...(onQuery ? { log: (e) => onQuery(e.query.sql) } : {}),
  });
  let closed = false;
  return {
    engine,
    kysely,
    async withConnection(fn) {
      const conn = await source.acquire();
      let ok = false;
      try {
        const result = await fn(conn);
        ok = true;
        return result;
      } finally {
        source.release(conn, !ok);
      }
    },
    stats: () => source.stats(),
    ping: (timeoutMs) => source.ping(timeoutMs),
    async close() {
      if (closed) return;
      closed = true;
      await kysely.destroy();
      await endOnce();
    },
  };
}
