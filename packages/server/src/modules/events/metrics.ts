import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Database } from '../../db/database.js';
import { withWorker } from '../../db/tenant-context.js';
import { outboxLagSeconds } from './deliveries.queries.js';

export interface WebhookMetrics {
  deliveries: Counter<'outcome'>;
  latency: Histogram;
}

/** Webhook delivery metrics: outcomes, latency, and the outbox lag read from the database at each scrape. */
export function registerWebhookMetrics(registry: Registry, db: Database): WebhookMetrics {
  new Gauge({
    name: 'webhook_outbox_lag_seconds',
    help: 'Age of the oldest due webhook delivery (or event not fanned out yet)',
    registers: [registry],
    async collect() {
      this.set(await withWorker(db, outboxLagSeconds).catch(() => 0));
    },
  });
  return {
    deliveries: new Counter({
      name: 'webhook_deliveries_total',
      help: 'Webhook delivery attempts by outcome (delivered, retrying, failed, gone)',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    latency: new Histogram({
      name: 'webhook_delivery_duration_seconds',
      help: 'Time from sending a webhook to its answer (or failure)',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15],
      registers: [registry],
    }),
  };
}
