// The HTTP server and the background workers, on a database already prepared. Apart from
// server.ts so that these modules (Fastify, the routes, their schemas) load while the
// database opens.
import type pino from 'pino';
import { type App, buildApp } from './app.js';
import { type Config, ConfigError } from './config.js';
import type { Database } from './db/database.js';
import { AppError } from './http/errors.js';
import { AuditCheckpointer } from './modules/audit/audit.checkpoints.js';
import { WebhookDeliverer } from './modules/events/deliverer.js';
import { loadWebhookKey } from './modules/events/signing.js';
import { ensurePlatformAdmin } from './modules/identity/identity.service.js';
import { mailTransport, OutboxDeliverer } from './modules/mail/outbox.js';

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

/** Starts the HTTP server and the email sender on `db`; closes `db` when the start fails. */
export async function startService(
  config: Readonly<Config>,
  db: Database,
  log: pino.Logger,
  opts: { mailPollMs?: number } = {},
): Promise<Running> {
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
