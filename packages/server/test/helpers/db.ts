import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { type Config, testConfig } from '../../src/config.js';
import { type Database, type Engine, type OpenOptions, openDatabase } from '../../src/db/database.js';
import { loadMigrations, migrate } from '../../src/db/migrate.js';

/** PGlite always; PostgreSQL too when TEST_DATABASE_URL is set. */
export const ENGINES: Engine[] = ['pglite', ...(process.env.TEST_DATABASE_URL ? (['postgres'] as const) : [])];

export interface TestDatabase {
  db: Database;
  /** The URL of the fresh PostgreSQL database (undefined on PGlite). */
  url: string | undefined;
  drop(): Promise<void>;
}

export type TestDbOptions = Partial<Pick<OpenOptions, 'onQuery' | 'onPoolError'>> & {
  pool?: Partial<Config['db']>;
  /** Apply the migrations up to this version only, and no sql/ file (all by default). */
  upTo?: number;
};

/** A freshly created, migrated database owned by one test file; `drop` removes it. */
export async function createTestDatabase(engine: Engine, opts: TestDbOptions = {}): Promise<TestDatabase> {
  const pool = { ...testConfig().db, ...opts.pool };
  const migrations = (await loadMigrations()).filter((m) => opts.upTo === undefined || m.version <= opts.upTo);
  // A database of an earlier version has no sql/ files applied either.
  const code = opts.upTo === undefined ? {} : { code: [] };
  if (engine === 'pglite') {
    const db = await openDatabase({ dataDir: null, pool, onQuery: opts.onQuery });
    await migrate(db, migrations, code);
    return { db, url: undefined, drop: () => db.close() };
  }
  const adminUrl = process.env.TEST_DATABASE_URL!;
  const name = `tenantry_test_${randomBytes(6).toString('hex')}`;
  await adminQuery(adminUrl, `create database ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const db = await openDatabase({ url: url.toString(), pool, onQuery: opts.onQuery, onPoolError: opts.onPoolError });
  await migrate(db, migrations, code);
  return {
    db,
    url: url.toString(),
    async drop() {
      await db.close();
      await adminQuery(adminUrl, `drop database if exists ${name} with (force)`);
    },
  };
}

export async function adminQuery(url: string, text: string, params: unknown[] = []) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await client.query(text, params);
  } finally {
    await client.end();
  }
}
