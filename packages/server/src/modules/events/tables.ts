// Row types of the event and webhook tables (migration 020), merged into the schema.
import type { ColumnType } from 'kysely';

type CreatedAt = ColumnType<Date, Date | string | undefined, never>;

export type EndpointStatus = 'enabled' | 'disabled' | 'failing';
export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

export interface EventsTable {
  organization_id: string;
  id: string;
  /** xid8 as text: the writing transaction. */
  tx: ColumnType<string, never, never>;
  pos: ColumnType<string, never, never>;
  type: string;
  actor_type: string;
  actor_id: string | null;
  data: ColumnType<Record<string, unknown>, string, never>;
  occurred_at: ColumnType<Date, never, never>;
}

export interface WebhookEndpointsTable {
  id: string;
  url: string;
  event_types: string[];
  tool_id: string | null;
  status: ColumnType<EndpointStatus, EndpointStatus | undefined, EndpointStatus>;
  disabled_reason: string | null;
  secret: string;
  previous_secret: string | null;
  previous_secret_expires_at: Date | null;
  failing_since: Date | null;
  created_at: CreatedAt;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

export interface WebhookDeliveriesTable {
  organization_id: string;
  id: string;
  endpoint_id: string;
  event_id: string;
  event_tx: string;
  event_pos: string;
  status: ColumnType<DeliveryStatus, DeliveryStatus | undefined, DeliveryStatus>;
  attempts: ColumnType<number, number | undefined, number>;
  next_attempt_at: ColumnType<Date, Date | string | undefined, Date | string>;
  leased_until: Date | null;
  lease: string | null;
  last_status_code: number | null;
  last_error: string | null;
  last_attempt_at: Date | null;
  delivered_at: Date | null;
  created_at: CreatedAt;
}

export interface WebhookDispatchCursorTable {
  singleton: ColumnType<boolean, never, never>;
  tx: string;
  pos: string;
}

export interface WebhookSigningKeysTable {
  kid: string;
  public_key: string;
  private_pkcs8: string;
  created_at: CreatedAt;
  retired_at: Date | null;
}

declare module '../../db/schema.js' {
  interface Schema {
    events: EventsTable;
    webhook_endpoints: WebhookEndpointsTable;
    webhook_deliveries: WebhookDeliveriesTable;
    webhook_dispatch_cursor: WebhookDispatchCursorTable;
    webhook_signing_keys: WebhookSigningKeysTable;
  }
}
