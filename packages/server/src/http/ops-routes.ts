import { Type } from '@sinclair/typebox';
import type { Registry } from 'prom-client';
import type { App } from '../app.js';
import { unreachableRetryAfter } from '../db/faults.js';
import { DRAINING_RETRY_AFTER } from './draining.js';
import { unavailable } from './errors.js';

/** A readiness probe gives up this soon: it is asked often and must not pile up. */
const READY_TIMEOUT_MS = 1_000;

const Status = Type.Object({ status: Type.String() });

export function opsRoutes(app: App, metrics: Registry) {
  const hidden = { hide: true };
  app.get('/healthz', { schema: { ...hidden, response: { 200: Status } } }, async () => ({ status: 'ok' }));

  app.get('/readyz', { schema: { ...hidden, response: { 200: Status } } }, async () => {
    if (app.state.draining) throw unavailable('Shutting down', DRAINING_RETRY_AFTER);
    try {
      await app.db.ping(Math.min(READY_TIMEOUT_MS, app.config.db.connectionTimeoutMs));
    } catch {
      throw unavailable('The database is unavailable', unreachableRetryAfter(app.config.db.connectionTimeoutMs));
    }
    return { status: 'ready' };
  });

  app.get('/metrics', { schema: hidden }, async (_req, reply) => {
    reply.type(metrics.contentType);
    return metrics.metrics();
  });

  app.get('/openapi.json', { schema: hidden }, async () => app.swagger());
}
