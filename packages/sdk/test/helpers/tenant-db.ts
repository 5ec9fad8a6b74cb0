// A tool's own database for the tenant-pattern tests: PostgreSQL (a fresh database on
// TEST_DATABASE_URL, dropped afterwards) or PGlite in memory, behind the pool shape the
// SDK takes. The request role is this run's own, so runs at once never share it.
import { randomBytes } from 'node:crypto';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { adminQuery, databaseUrl, stampedName } from '../../../server/test/helpers/templates.js';
import type { PoolLike, Queryable } from '../../src/index.js';

export type Engine = 'pglite' | 'postgres';
export const ENGINES: Engine[] = ['pglite', ...(process.env.TEST_DATABASE_URL ? (['postgres'] as const) : [])];

export interface ToolDb {
  engine: Engine;
  /** The connecting user (a superuser, as CI connects). */
  admin: Queryable;
  pool: PoolLike;
  /** node-postgres only: the pool itself. */
  pgPool?: pg.Pool;
  role: string;
  close(): Promise<void>;
}

/** PGlite runs one query at a time on one connection: a pool of one, as the SDK sees it. */
export function pgliteAsPool(db: PGlite): PoolLike {
  const conn = { query: (text: string, values?: unknown[]) => db.query<Record<string, unknown>>(text, values as unknown[]), release() {} };
  let queue = Promise.resolve();
  return {
    connect: () => {
      let release!: () => void;
      const mine = new Promise<void>((r) => {
        release = r;
      });
      const ready = queue.then(() => ({ ...conn, release }));
      queue = queue.then(() => mine);
      return ready;
    },
  };
}

export async function openToolDb(engine: Engine, opts: { poolMax?: number } = {}): Promise<ToolDb> {
  const role = `sdk_tenant_${randomBytes(4).toString('hex')}`;
  if (engine === 'pglite') {
    const db = await PGlite.create();
    await db.query(`create role ${role} nologin`);
    return { engine, admin: db as unknown as Queryable, pool: pgliteAsPool(db), role, close: () => db.close() };
  }
  const adminUrl = process.env.TEST_DATABASE_URL!;
  const name = stampedName('test');
  await adminQuery(adminUrl, `create database ${name}`);
  await adminQuery(adminUrl, `create role ${role} nologin`);
  const url = databaseUrl(adminUrl, name);
  const pgPool = new pg.Pool({ connectionString: url, max: opts.poolMax ?? 4, connectionTimeoutMillis: 10_000 });
  pgPool.on('error', () => undefined);
  return {
    engine,
    admin: pgPool as unknown as Queryable,
    pool: pgPool as unknown as PoolLike,
    pgPool,
    role,
    async close() {
      await pgPool.end();
      await adminQuery(adminUrl, `drop database if exists ${name} with (force)`);
      await adminQuery(adminUrl, `drop role if exists ${role}`);
    },
  };
}
