import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import pino from 'pino';
import { type App, buildApp, LOG_REDACT } from './app.js';
import { type Config, ConfigError } from './config.js';
import { describeConnectFailure } from './db/connect-errors.js';
import { type Database, openDatabase } from './db/database.js';
import { migrate } from './db/migrate.js';
import { assertIsolation } from './db/rls-check.js';
import { AppError } from './http/errors.js';
import { AuditCheckpointer } from './modules/audit/audit.checkpoints.js';
import { WebhookDeliverer } from './modules/events/deliverer.js';
import { loadWebhookKey } from './modules/events/signing.js';
import { ensurePlatformAdmin } from './modules/identity/identity.service.js';
import { prepareDummyHash } from './modules/identity/passwords.js';
import { mailTransport, OutboxDeliverer } from './modules/mail/outbox.js';

/** The process logger; `fd` 2 (stderr) for commands whose stdout is their result. */
export const logger = (config: Readonly<Config>, fd: 1 | 2 = 1) =>
  pino({ level: config.logLevel, redact: { paths: LOG_REDACT, censor: '[redacted]' } }, pino.destination({ fd, sync: true }));

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
    const cause = config.databaseUrl ? describeConnectFailure(err, config.databaseUrl) : undefined;
    throw cause ? new Error(`The database is unavailable: ${cause}`, { cause: err }) : err;
  }
  log.info({ engine: db.engine, ...(dataDir ? { dataDir } : {}) }, 'database ready');
  return db;
}

/** BOOTSTRAP_ADMIN_EMAIL + BOOTSTRAP_ADMIN_PASSWORD: create or update that platform admin (idempotent). */
async function bootstrapAdmin(config: Readonly<Config>, db: Database, log: pino.Logger): Promise<void> {
  const { bootstrapAdminEmail: email, bootstrapAdminPassword: password } = config;
  if (email === undefined || password === undefined) return;
  try {
    await ensurePlatformAdmin(db, email, password);
  } catch (err) {
    // The service names the field ("email", "password"); report it as the variable to fix.
    if (err instanceof AppError && err.errors) {
      throw new ConfigError(err.errors.map((e) => `BOOTSTRAP_ADMIN_${e.path.toUpperCase()}: ${e.message}`));
    }
    throw err;
  }
  log.info({ email: email.toLowerCase() }, 'platform admin from BOOTSTRAP_ADMIN_EMAIL is ready');
}

async function start(config: Readonly<Config>, db: Database, log: pino.Logger): Promise<App> {
  await bootstrapAdmin(config, db, log);
  const app = await buildApp(config, db);
  try {
    await app.listen({ port: config.port, host: config.host });
  } catch (err) {
    await app.close().catch(() => undefined);
    throw err;
  }
  return app;
}

export interface Running {
  app: App;
  db: Database;
  /** Drains: readiness fails, in-flight requests finish, the sender and the pool close. */
  stop(): Promise<void>;
}

/** Starts the HTTP server and the email sender. */
export async function serve(config: Readonly<Config>, opts: { mailPollMs?: number } = {}): Promise<Running> {
  const log = logger(config);
  // The login's dummy hash (argon2, on libuv's threads) is computed while the database opens.
  prepareDummyHash().catch(() => undefined);
  const db = await openAndPrepare(config, log);
  const app = await start(config, db, log).catch(async (err: unknown) => {
    await db.close();
    throw err;
  });
  // Invitation emails: sent over SMTP_URL, or logged when it is not set.
  const mail = new OutboxDeliverer(db, mailTransport(config.smtpUrl, config.mailFrom, app.log), app.log);
  mail.start(opts.mailPollMs);
  // Webhooks: fan-out, delivery and event retention.
  const webhooks = new WebhookDeliverer(db, await loadWebhookKey(db.kysely), app.log, app.services.webhookMetrics, {
    allowPrivate: config.webhookAllowPrivate,
    retentionDays: config.eventRetentionDays,
  });
  webhooks.start(opts.mailPollMs);
  // Signed checkpoints of the audit chains that grew.
  const checkpoints = new AuditCheckpointer(db, app.log);
  checkpoints.start(config.auditCheckpointIntervalMs);

  let stopped: Promise<void> | undefined;
  const stop = () => (stopped ??= drain(app, db, [mail, webhooks, checkpoints], config.shutdownTimeoutMs));
  return { app, db, stop };
}

/**
 * Readiness fails and new requests are refused at once; in-flight requests get until the
 * deadline to finish. Then the sockets still open are closed and the pool is ended without
 * waiting for connections stuck on a stalled database (their sockets are abandoned).
 */
async function drain(app: App, db: Database, workers: readonly { stop(): Promise<void> }[], timeoutMs: number): Promise<void> {
  app.log.info({ timeoutMs }, 'draining');
  app.state.draining = true;
  const deadline = Date.now() + timeoutMs;
  const untilDeadline = <T>(work: Promise<T>, what: string) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(
        () => {
          app.log.warn(`shutdown deadline reached while waiting for ${what}; closing anyway`);
          resolve();
        },
        Math.max(0, deadline - Date.now()),
      );
      work.then(
        () => resolve(),
        (err: unknown) => {
          app.log.warn({ err }, `${what} failed to close cleanly`);
          resolve();
        },
      );
      void work.finally(() => clearTimeout(timer)).catch(() => undefined);
    });
  const closing = app.close();
  await untilDeadline(closing, 'in-flight requests');
  app.server.closeAllConnections();
  await untilDeadline(Promise.all(workers.map((w) => w.stop())), 'the background workers');
  await untilDeadline(db.close(), 'the database');
  app.log.info('stopped');
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
