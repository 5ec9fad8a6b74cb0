import { Type } from '@sinclair/typebox';
import { sql } from 'kysely';
import type { Registry } from 'prom-client';
import type { App } from '../app.js';
import { unavailable } from './errors.js';

const Status = Type.Object({ status: Type.String() });

export function opsRoutes(app: App, metrics: Registry) {
  const hidden = { hide: true };
  app.get('/healthz', { schema: { ...hidden, response: { 200: Status } } }, async () => ({ status: 'ok' }));

  app.get('/readyz', { schema: { ...hidden, response: { 200: Status } } }, async () => {
    if (app.state.draining) throw unavailable('Shutting down', 5);
    try {
      await sql`select 1`.execute(app.db.kysely);
    } catch (err) {
      if (err instanceof Error && 'status' in err) throw err;
      throw unavailable('The database is unavailable', 5);
    }
    return { status: 'ready' };
  });

  app.get('/metrics', { schema: hidden }, async (_req, reply) => {
    reply.type(metrics.contentType);
    return metrics.metrics();
  });

  app.get('/openapi.json', { schema: hidden }, async () => app.swagger());
}
