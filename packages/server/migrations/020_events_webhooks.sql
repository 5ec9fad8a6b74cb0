-- Events: every audited change also writes an event row in its own transaction (a
-- transactional outbox), read by the pull API and fanned out to webhook endpoints.

-- tenantry_worker runs the background work on events across organizations: fan-out to
-- webhook deliveries, delivery and retention. Like the request roles it owns no table
-- and cannot bypass row-level security; its reach is written out in sql/policies.
do $$
begin
  if not exists (select 1 from pg_roles where rolname = 'tenantry_worker') then
    create role tenantry_worker nologin nosuperuser nocreatedb nocreaterole nobypassrls;
  end if;
exception when duplicate_object or unique_violation then null;
end $$;

grant tenantry_worker to current_user;
grant usage on schema public to tenantry_worker;

-- tx is the writing transaction's id and pos the order within it: readers page by
-- (tx, pos) and only below the oldest transaction still running, a prefix no later
-- commit can add to (see events.queries.ts).
create table events (
  organization_id uuid not null references organizations (id),
  id uuid not null,
  tx xid8 not null default pg_current_xact_id(),
  pos bigint generated always as identity,
  type text not null,
  actor_type text not null,
  actor_id uuid,
  data jsonb not null,
  occurred_at timestamptz not null default now(),
  primary key (organization_id, id)
);
create index events_position_idx on events (tx, pos);
create index events_org_position_idx on events (organization_id, tx, pos);
create index events_occurred_idx on events (occurred_at);
alter table events enable row level security;
alter table events force row level security;
grant select, insert on events to tenantry_app;
grant select on events to tenantry_platform;
grant select, delete on events to tenantry_worker;

-- Endpoints are the platform's, not a tenant's (tool_id binds one to a tool later).
create table webhook_endpoints (
  id uuid primary key,
  url text not null,
  event_types text[] not null,
  tool_id uuid,
  status text not null default 'enabled' check (status in ('enabled', 'disabled', 'failing')),
  disabled_reason text,
  secret text not null,
  previous_secret text,
  previous_secret_expires_at timestamptz,
  failing_since timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
grant select, insert, update, delete on webhook_endpoints to tenantry_platform;
grant select, update on webhook_endpoints to tenantry_worker;

-- One row per event and endpoint (and per replay): the delivery's state and its lease.
create table webhook_deliveries (
  organization_id uuid not null,
  id uuid not null,
  endpoint_id uuid not null references webhook_endpoints (id) on delete cascade,
  event_id uuid not null,
  event_tx xid8 not null,
  event_pos bigint not null,
  status text not null default 'pending' check (status in ('pending', 'delivered', 'failed')),
  attempts int not null default 0,
  next_attempt_at timestamptz not null default now(),
  leased_until timestamptz,
  lease uuid,
  last_status_code int,
  last_error text,
  last_attempt_at timestamptz,
  delivered_at timestamptz,
  created_at timestamptz not null default now(),
  primary key (organization_id, id),
  foreign key (organization_id, event_id) references events (organization_id, id) on delete cascade
);
create index webhook_deliveries_due_idx on webhook_deliveries (event_tx, event_pos) where status = 'pending';
create index webhook_deliveries_endpoint_idx on webhook_deliveries (endpoint_id, created_at desc);
create index webhook_deliveries_event_idx on webhook_deliveries (organization_id, event_id);
alter table webhook_deliveries enable row level security;
alter table webhook_deliveries force row level security;
grant select, insert, update on webhook_deliveries to tenantry_worker, tenantry_platform;

-- How far the fan-out has read the events: one row.
create table webhook_dispatch_cursor (
  singleton boolean primary key default true check (singleton),
  tx xid8 not null,
  pos bigint not null
);
insert into webhook_dispatch_cursor (tx, pos) values ('0', 0);
grant select, update on webhook_dispatch_cursor to tenantry_worker;

-- Ed25519 keys of the v1a webhook signatures, read and written as the connecting user
-- like the token signing keys.
create table webhook_signing_keys (
  kid text primary key,
  public_key text not null,
  private_pkcs8 text not null,
  created_at timestamptz not null default now(),
  retired_at timestamptz
);
