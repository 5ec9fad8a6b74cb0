import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import pino from 'pino';
import { buildApp, LOG_REDACT, type App } from './app.js';
import type { Config } from './config.js';
import { openDatabase, type Database } from './db/database.js';
import { migrate } from './db/migrate.js';
import { assertIsolation } from './db/rls-check.js';

export const logger = (config: Readonly<Config>) =>
  pino({ level: config.logLevel, redact: { paths: LOG_REDACT, censor: '[redacted]' } });

/** Opens the configured engine, applies migrations and refuses to go on without enforced isolation. */
export async function openAndPrepare(config: Readonly<Config>, log: pino.Logger): Promise<Database> {
  let dataDir: string | undefined;
  if (!config.databaseUrl) {
    dataDir = resolve(config.dataDir);
    await mkdir(dataDir, { recursive: true });
  }
  const db = await openDatabase({
    url: config.databaseUrl,
    dataDir,
    pool: config.db,
    onPoolError: (err) => log.warn({ err }, 'idle database connection failed; it was discarded'),
  });
  try {
    const applied = await migrate(db);
    if (applied.length > 0) log.info({ applied }, 'migrations applied');
    await assertIsolation(db);
  } catch (err) {
    await db.close();
    throw err;
  }
  log.info({ engine: db.engine, ...(dataDir ? { dataDir } : {}) }, 'database ready');
  return db;
}

/** Starts the HTTP server and drains it on SIGTERM/SIGINT: readiness fails, in-flight requests finish, the pool closes. */
export async function serve(config: Readonly<Config>): Promise<App> {
  const log = logger(config);
  const db = await openAndPrepare(config, log);
  const app = await buildApp(config, db);
  await app.listen({ port: config.port, host: config.host });

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.log.info({ signal }, 'draining');
    app.state.draining = true;
    try {
      await app.close();
      await db.close();
      app.log.info('stopped');
      process.exit(0);
    } catch (err) {
      app.log.error({ err }, 'shutdown failed');
      process.exit(1);
    }
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
  return app;
}
