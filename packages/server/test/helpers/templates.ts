import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PGlite } from '@electric-sql/pglite';
import { sql } from 'kysely';
import pg from 'pg';
import { testConfig } from '../../src/config.js';
import { type Database, openDatabase } from '../../src/db/database.js';
import { migrate } from '../../src/db/migrate.js';

// Every run migrates one template per engine; each test file copies it instead of
// migrating again. A template is built at the start of every run, so a changed
// migration or sql/ file is always in it.

/** What the global setup hands to the test files of a run. */
export interface TestTemplates {
  /** A file holding PGlite's dump of a migrated data directory. */
  pgliteDump: string;
  /** A file holding PGlite's dump of an empty cluster, for a database migrated from empty. */
  pgliteEmptyDump: string;
  /** The migrated PGlite data directory itself, for a server that keeps its database on disk. */
  pgliteDataDir: string;
  /** The migrated PostgreSQL database to create test databases from (when TEST_DATABASE_URL is set). */
  postgres: string | undefined;
}

declare module 'vitest' {
  export interface ProvidedContext {
    testTemplates: TestTemplates;
  }
}

// Names carry their creation time, so a later run can drop what a killed run left behind
// without touching the databases of a run going on at the same time.
const TEST_DB = /^tenantry_(tpl|test)_([0-9a-z]{8,})_[0-9a-f]{8}$/;
const PGLITE_DIR_PREFIX = 'tenantry-tpl-';
const STALE_AFTER_MS = 6 * 60 * 60 * 1000;

export const stampedName = (kind: 'tpl' | 'test') => `tenantry_${kind}_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;

export function databaseUrl(adminUrl: string, name: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
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

/** Builds this run's templates after removing those of runs that were killed hours ago. */
export async function buildTemplates(adminUrl: string | undefined): Promise<{ templates: TestTemplates; drop(): Promise<void> }> {
  // One after the other: PGlite holds the event loop while it starts, long enough for a
  // PostgreSQL connection being opened beside it to time out.
  const postgres = adminUrl ? await buildPostgresTemplate(adminUrl) : undefined;
  let pglite: Awaited<ReturnType<typeof buildPgliteTemplate>>;
  try {
    pglite = await buildPgliteTemplate();
  } catch (err) {
    await postgres?.drop();
    throw err;
  }
  return {
    templates: { pgliteDump: pglite.dump, pgliteEmptyDump: pglite.emptyDump, pgliteDataDir: pglite.dataDir, postgres: postgres?.name },
    async drop() {
      await pglite.drop();
      await postgres?.drop();
    },
  };
}

async function buildPgliteTemplate() {
  await dropStalePgliteTemplates();
  const dir = await mkdtemp(join(tmpdir(), PGLITE_DIR_PREFIX));
  const drop = () => rm(dir, { recursive: true, force: true });
  const dataDir = join(dir, 'pgdata');
  const dump = join(dir, 'pglite.tar');
  const emptyDump = join(dir, 'pglite-empty.tar');
  try {
    await mkdir(dataDir); // as the server does: the engine locks the directory it is given
    // The cluster as initdb left it, copied before the migrations: a database migrated from
    // empty starts from its dump, not from an initdb of its own (seconds of CPU).
    await (await openDatabase({ dataDir, pool: testConfig().db })).close();
    const emptyDir = join(dir, 'empty');
    await promisify(execFile)('cp', ['-a', dataDir, emptyDir]);
    await dumpWithoutTemplates(emptyDir, emptyDump);
    await migrateAndClose(await openDatabase({ dataDir, pool: testConfig().db }));
    await dumpWithoutTemplates(dataDir, dump);
  } catch (err) {
    await drop();
    throw err;
  }
  return { dump, emptyDump, dataDir, drop };
}

/**
 * Writes a dump of the cluster in `dataDir`, which a test database loads in memory, far faster
 * than initdb. First it drops the template databases there, which no test creates a database
 * from, and cuts the zeros off the end of the WAL segment: the two were three fifths of the
 * dump, and every test database's start unpacked them (250 of 720 ms of CPU).
 */
async function dumpWithoutTemplates(dataDir: string, file: string) {
  let pglite = await PGlite.create(dataDir);
  try {
    for (const name of ['template0', 'template1']) {
      await pglite.exec(`alter database ${name} is_template false`);
      await pglite.exec(`drop database ${name}`);
    }
    await pglite.exec('checkpoint');
  } finally {
    await pglite.close();
  }
  await trimWalSegments(join(dataDir, 'pg_wal'));
  pglite = await PGlite.create(dataDir);
  try {
    await writeFile(file, Buffer.from(await (await pglite.dumpDataDir('none')).arrayBuffer()));
  } finally {
    await pglite.close();
  }
}

/**
 * A new WAL segment is 16 MB of zeros that PostgreSQL writes into from the start; reading
 * past the last record finds a zero page, or with the zeros cut off, the end of the file,
 * and both are the end of the WAL. So each segment is cut after its last page that is not
 * all zeros (a recycled segment's old records stay: they lie past the end of the WAL anyway).
 */
async function trimWalSegments(walDir: string) {
  const PAGE = 8192;
  for (const name of await readdir(walDir)) {
    if (!/^[0-9A-F]{24}$/.test(name)) continue;
    const path = join(walDir, name);
    const bytes = await readFile(path);
    let end = bytes.length;
    while (end > 0 && bytes[end - 1] === 0) end--;
    await truncate(path, Math.ceil(end / PAGE) * PAGE);
  }
}

async function migrateAndClose(db: Database) {
  try {
    await migrate(db);
    // close() ends the connections through Kysely, which holds them only once it has run a
    // query; migrate() alone goes around it and would leave its connection open.
    await sql`select 1`.execute(db.kysely);
  } finally {
    await db.close();
  }
}

async function dropStalePgliteTemplates() {
  const parent = tmpdir();
  for (const entry of await readdir(parent)) {
    if (!entry.startsWith(PGLITE_DIR_PREFIX)) continue;
    const path = join(parent, entry);
    const { mtimeMs } = await stat(path);
    if (Date.now() - mtimeMs > STALE_AFTER_MS) await rm(path, { recursive: true, force: true });
  }
}

async function buildPostgresTemplate(adminUrl: string) {
  await dropStaleDatabases(adminUrl);
  const name = stampedName('tpl');
  await adminQuery(adminUrl, `create database ${name}`);
  try {
    await migrateAndClose(await openDatabase({ url: databaseUrl(adminUrl, name), pool: testConfig().db }));
    // CREATE DATABASE … TEMPLATE fails while anyone is connected to the template:
    // refuse new connections, end any left, and wait until they are gone.
    await adminQuery(adminUrl, `alter database ${name} allow_connections false`);
    await adminQuery(adminUrl, 'select pg_terminate_backend(pid) from pg_stat_activity where datname = $1', [name]);
    await untilNoSessions(adminUrl, name);
  } catch (err) {
    await adminQuery(adminUrl, `drop database if exists ${name} with (force)`);
    throw err;
  }
  return { name, drop: () => adminQuery(adminUrl, `drop database if exists ${name} with (force)`).then(() => undefined) };
}

async function untilNoSessions(adminUrl: string, name: string) {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    for (let attempt = 0; ; attempt++) {
      const { rows } = await client.query('select count(*)::int as n from pg_stat_activity where datname = $1', [name]);
      if (rows[0].n === 0) return;
      if (attempt === 300) throw new Error(`template ${name} still has ${rows[0].n} session(s) after its migration closed`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    await client.end();
  }
}

async function dropStaleDatabases(adminUrl: string) {
  const { rows } = await adminQuery(adminUrl, `select datname from pg_database where datname like 'tenantry\\_%'`);
  for (const { datname } of rows as Array<{ datname: string }>) {
    const stamp = TEST_DB.exec(datname)?.[2];
    if (stamp && Date.now() - parseInt(stamp, 36) > STALE_AFTER_MS) {
      await adminQuery(adminUrl, `drop database if exists ${datname} with (force)`);
    }
  }
}
