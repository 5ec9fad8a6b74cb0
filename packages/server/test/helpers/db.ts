import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { inject } from 'vitest';
import { type Config, testConfig } from '../../src/config.js';
import { type Database, type Engine, type OpenOptions, openDatabase } from '../../src/db/database.js';
import { loadMigrations, migrate } from '../../src/db/migrate.js';
import { adminQuery, databaseUrl, stampedName } from './templates.js';

export { adminQuery };

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
  /** Apply the migrations up to this version only, and no sql/ file (all by default), migrating from empty. */
  upTo?: number;
  /** Migrate from empty instead of copying the run's migrated template. */
  fresh?: boolean;
};

const pgliteDumps = new Map<string, Promise<Blob>>();
const loadPgliteDump = (file: string) => {
  let dump = pgliteDumps.get(file);
  if (!dump) {
    dump = readFile(file).then((bytes) => new Blob([bytes]));
    pgliteDumps.set(file, dump);
  }
  return dump;
};

/**
 * A database of its own for one test file, migrated: a copy of the run's template
 * (built by test/global-setup.ts), or migrated from empty when `upTo` or `fresh` asks
 * for it. `drop` removes it.
 */
export async function createTestDatabase(engine: Engine, opts: TestDbOptions = {}): Promise<TestDatabase> {
  const pool = { ...testConfig().db, ...opts.pool };
  const templates = inject('testTemplates');
  const fromTemplate = templates !== undefined && opts.upTo === undefined && !opts.fresh;
  const migrateFromEmpty = async (db: Database) =>
    migrate(
      db,
      (await loadMigrations()).filter((m) => opts.upTo === undefined || m.version <= opts.upTo),
      // A database of an earlier version has no sql/ files applied either.
      opts.upTo === undefined ? {} : { code: [] },
    );

  if (engine === 'pglite') {
    // Migrated from empty, it starts from the empty cluster's dump rather than an initdb.
    const file = templates && (fromTemplate ? templates.pgliteDump : templates.pgliteEmptyDump);
    const dump = file ? await loadPgliteDump(file) : undefined;
    const db = await openDatabase({ dataDir: null, pgliteDump: dump, pool, onQuery: opts.onQuery });
    if (!fromTemplate) await migrateFromEmpty(db);
    return { db, url: undefined, drop: () => db.close() };
  }

  const adminUrl = process.env.TEST_DATABASE_URL!;
  const template = fromTemplate ? templates.postgres : undefined;
  const name = stampedName('test');
  await adminQuery(adminUrl, template ? `create database ${name} template ${template}` : `create database ${name}`);
  const url = databaseUrl(adminUrl, name);
  const db = await openDatabase({ url, pool, onQuery: opts.onQuery, onPoolError: opts.onPoolError });
  if (!template) await migrateFromEmpty(db);
  return {
    db,
    url,
    async drop() {
      await db.close();
      await adminQuery(adminUrl, `drop database if exists ${name} with (force)`);
    },
  };
}

/**
 * Fills an empty directory with a copy of the run's migrated PGlite data directory, so an
 * embedded server started on it skips initdb and the migrations (slow on disk). Without a
 * template the directory stays empty and the server builds its database itself.
 */
export async function copyMigratedPgliteDataDir(dataDir: string): Promise<void> {
  const templates = inject('testTemplates');
  // cp(1) copies the thousand files in a fifth of the time fs.cp takes.
  if (templates) await promisify(execFile)('cp', ['-a', `${templates.pgliteDataDir}/.`, dataDir]);
}
