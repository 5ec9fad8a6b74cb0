import type { Registry } from 'prom-client';
import type { App } from '../app.js';
import { unreachableRetryAfter } from '../db/faults.js';
import { DRAINING_RETRY_AFTER } from './draining.js';
import { unavailable } from './errors.js';
import { healthzSchema, metricsSchema, openapiSchema, readyzSchema } from './ops.schemas.js';

/** A readiness probe gives up this soon: it is asked often and must not pile up. */
const READY_TIMEOUT_MS = 1_000;

export function opsRoutes(app: App, metrics: Registry) {
  app.get('/healthz', { schema: healthzSchema }, async () => ({ status: 'ok' }));

  app.get('/readyz', { schema: readyzSchema }, async () => {
    if (app.state.draining) throw unavailable('Shutting down', DRAINING_RETRY_AFTER);
    try {
      await app.db.ping(Math.min(READY_TIMEOUT_MS, app.config.db.connectionTimeoutMs));
    } catch {
      throw unavailable('The database is unavailable', unreachableRetryAfter(app.config.db.connectionTimeoutMs));
    }
    return { status: 'ready' };
  });

  app.get('/metrics', { schema: metricsSchema }, async (_req, reply) => {
    reply.type(metrics.contentType);
    return metrics.metrics();
  });

  app.get('/openapi.json', { schema: openapiSchema }, async () => app.swagger());
}
