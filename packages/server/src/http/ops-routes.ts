import { sql } from 'kysely';
import type { Registry } from 'prom-client';
import type { App } from '../app.js';
import { unavailable } from './errors.js';
import { healthzSchema, metricsSchema, openapiSchema, readyzSchema } from './ops.schemas.js';

export function opsRoutes(app: App, metrics: Registry) {
  app.get('/healthz', { schema: healthzSchema }, async () => ({ status: 'ok' }));

  app.get('/readyz', { schema: readyzSchema }, async () => {
    if (app.state.draining) throw unavailable('Shutting down', 5);
    try {
      await sql`select 1`.execute(app.db.kysely);
    } catch (err) {
      if (err instanceof Error && 'status' in err) throw err;
      throw unavailable('The database is unavailable', 5);
    }
    return { status: 'ready' };
  });

  app.get('/metrics', { schema: metricsSchema }, async (_req, reply) => {
    reply.type(metrics.contentType);
    return metrics.metrics();
  });

  app.get('/openapi.json', { schema: openapiSchema }, async () => app.swagger());
}
