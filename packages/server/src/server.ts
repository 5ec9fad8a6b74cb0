import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import pino from 'pino';
import type { Config } from './config.js';
import { describeConnectFailure } from './db/connect-errors.js';
import { type Database, openDatabase } from './db/database.js';
import { migrate } from './db/migrate.js';
import { assertIsolation } from './db/rls-check.js';
import { LOG_REDACT } from './http/log-redact.js';
import { prepareDummyHash } from './modules/identity/passwords.js';
import type { Running } from './service.js';

/** The process logger; `fd` 2 (stderr) for commands whose stdout is their result. */
export const logger = (config: Readonly<Config>, fd: 1 | 2 = 1) =>
  pino({ level: config.logLevel, redact: { paths: LOG_REDACT, censor: '[redacted]' } }, pino.destination({ fd, sync: true }));

/**
 * Opens the configured engine, applies migrations and refuses to go on without enforced
 * isolation. `serving`: the process stays up afterwards (see the reopen below).
 */
export async function openAndPrepare(config: Readonly<Config>, log: pino.Logger, serving = false): Promise<Database> {
  let dataDir: string | undefined;
  if (!config.databaseUrl) {
    dataDir = resolve(config.dataDir);
    await mkdir(dataDir, { recursive: true });
  }
  const open = () =>
    openDatabase({
      url: config.databaseUrl,
      dataDir,
      pool: config.db,
      onPoolError: (err) => log.warn({ err }, 'idle database connection failed; it was discarded'),
    });
  let db = await open();
  try {
    const applied = await migrate(db);
    if (applied.length > 0) log.info({ applied }, 'migrations applied');
    if (serving && applied.length > 0 && db.engine === 'pglite') {
      // The embedded engine's WebAssembly memory only grows, and migrating a new database
      // grows it by tens of megabytes that an idle server would hold for good.
      await db.close();
      db = await open();
    }
    await assertIsolation(db);
  } catch (err) {
    await db.close();
    const cause = config.databaseUrl ? describeConnectFailure(err, config.databaseUrl) : undefined;
    throw cause ? new Error(`The database is unavailable: ${cause}`, { cause: err }) : err;
  }
  log.info({ engine: db.engine, ...(dataDir ? { dataDir } : {}) }, 'database ready');
  return db;
}

export type { Running };

/** Starts the HTTP server and the email sender. */
export async function serve(config: Readonly<Config>, opts: { mailPollMs?: number } = {}): Promise<Running> {
  const log = logger(config);
  // The login's dummy hash (argon2, on libuv's threads) is computed while the database opens.
  prepareDummyHash().catch(() => undefined);
  // Embedded, the server's modules load meanwhile too: PGlite's start reads its files and
  // compiles its WASM asynchronously, and a new data directory is created by a child process.
  // PostgreSQL's connections are made first: the loading would keep the event loop busy
  // past a short connection timeout.
  const loading = config.databaseUrl ? undefined : import('./service.js');
  // Awaited once the database is open; a failure to open is the one reported.
  loading?.catch(() => undefined);
  const db = await openAndPrepare(config, log, true);
  const { startService } = await (loading ?? import('./service.js')).catch(async (err: unknown) => {
    await db.close();
    throw err;
  });
  return startService(config, db, log, opts);
}

/** `tenantry serve`: runs until SIGTERM or SIGINT, then drains and exits 0. */
export async function serveUntilSignal(config: Readonly<Config>): Promise<void> {
  const { app, stop } = await serve(config);
  const onSignal = (signal: string) => {
    app.log.info({ signal }, 'signal received');
    stop().then(
      () => process.exit(0),
      (err: unknown) => {
        app.log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
}
