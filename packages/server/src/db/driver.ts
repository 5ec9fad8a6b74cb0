// Kysely drivers for the two engines. Both hand out one connection per
// transaction; a connection whose state is unknown (a failed ROLLBACK, a broken
// socket) is destroyed instead of going back to the pool.
import {
  CompiledQuery,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type QueryResult,
} from 'kysely';
import { breaksConnection, classifyDatabaseError } from './faults.js';

export interface RawConnection {
  query(sql: string, params: readonly unknown[]): Promise<{ rows: unknown[]; rowCount: number | null; command?: string }>;
}

/** A connection that can also run a multi-statement script (migrations only). */
export interface ScriptConnection extends RawConnection {
  exec(script: string): Promise<void>;
}

export interface ConnectionSource<C extends RawConnection> {
  acquire(): Promise<C>;
  /** `destroy` is true when the connection may be in an unknown state. */
  release(conn: C, destroy: boolean): void;
  end(): Promise<void>;
  /** Seconds a client is told to wait when the database cannot be reached. */
  readonly unreachableRetryAfter: number;
  /** Throws unless the database answers a trivial query within `timeoutMs`. */
  ping(timeoutMs: number): Promise<void>;
}

const WRITE_COMMANDS = new Set(['INSERT', 'UPDATE', 'DELETE', 'MERGE']);

class Connection<C extends RawConnection> implements DatabaseConnection {
  broken = false;
  constructor(
    readonly raw: C,
    private readonly retryAfter: number,
  ) {}

  async executeQuery<R>(q: CompiledQuery): Promise<QueryResult<R>> {
    try {
      const r = await this.raw.query(q.sql, q.parameters);
      const counted = r.command === undefined || WRITE_COMMANDS.has(r.command);
      return {
        rows: r.rows as R[],
        ...(counted && r.rowCount !== null ? { numAffectedRows: BigInt(r.rowCount) } : {}),
      };
    } catch (err) {
      // Most server errors carry an SQLSTATE and leave the connection usable (the caller
      // rolls the transaction back); a lost, stalled or terminated connection does not.
      if (breaksConnection(err)) this.broken = true;
      throw classifyDatabaseError(err, this.retryAfter);
    }
  }

  streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('streaming is not supported');
  }
}

class SourceDriver<C extends RawConnection> implements Driver {
  constructor(private readonly source: ConnectionSource<C>) {}

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    return new Connection(await this.source.acquire(), this.source.unreachableRetryAfter);
  }

  async beginTransaction(conn: DatabaseConnection): Promise<void> {
    await conn.executeQuery(CompiledQuery.raw('begin'));
  }

  async commitTransaction(conn: DatabaseConnection): Promise<void> {
    await conn.executeQuery(CompiledQuery.raw('commit'));
  }

  // Kysely calls this after the transaction's own error and throws whatever it throws.
  // A failed ROLLBACK (the connection is already gone) must not hide that original error:
  // the connection is destroyed instead, which ends the transaction on the server too.
  async rollbackTransaction(conn: DatabaseConnection): Promise<void> {
    const c = conn as Connection<C>;
    if (c.broken) return;
    try {
      await c.executeQuery(CompiledQuery.raw('rollback'));
    } catch {
      c.broken = true;
    }
  }

  async releaseConnection(conn: DatabaseConnection): Promise<void> {
    const c = conn as Connection<C>;
    this.source.release(c.raw, c.broken);
  }

  async destroy(): Promise<void> {
    await this.source.end();
  }
}

export function dialectFor<C extends RawConnection>(source: ConnectionSource<C>): Dialect {
  return {
    createAdapter: () => new PostgresAdapter(),
    createDriver: () => new SourceDriver(source),
    createQueryCompiler: () => new PostgresQueryCompiler(),
    createIntrospector: (db) => new PostgresIntrospector(db),
  };
}
