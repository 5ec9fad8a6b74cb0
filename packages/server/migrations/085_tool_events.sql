-- Tools and events (SPEC §11): a tool manages its own webhook endpoints, and it reads and
-- receives the events of the organizations where it is enabled only.

-- An endpoint bound to a tool goes with it.
alter table webhook_endpoints
  add constraint webhook_endpoints_tool_id_fkey foreign key (tool_id) references tools (id) on delete cascade;
create index webhook_endpoints_tool_id_idx on webhook_endpoints (tool_id) where tool_id is not null;

-- Endpoints now have rows a request role other than the platform's may reach (a tool's
-- own), so the table is under row-level security (sql/policies/webhook_endpoints.sql).
alter table webhook_endpoints enable row level security;
alter table webhook_endpoints force row level security;

-- A tool's requests about its endpoints and the events it may pull run as tenantry_user
-- with the tool set (tenantry_enter_tool without an organization). The policies give it
-- its own endpoints, their deliveries, and the events of organizations where it is enabled.
-- As for the platform role (081_webhook_secrets.sql), a secret is written, never read back:
-- a rotation goes through tenantry_rotate_webhook_secret() (sql/webhook-secrets.sql).
grant select (id, url, event_types, tool_id, status, disabled_reason, created_at, updated_at)
  on webhook_endpoints to tenantry_user;
grant insert (id, url, event_types, tool_id, secret) on webhook_endpoints to tenantry_user;
grant update (url, event_types, status, disabled_reason, failing_since, updated_at) on webhook_endpoints to tenantry_user;
grant delete on webhook_endpoints to tenantry_user;

grant select (organization_id, id, endpoint_id, event_id, status, attempts, last_status_code, last_error,
              next_attempt_at, last_attempt_at, delivered_at, created_at) on webhook_deliveries to tenantry_user;
grant insert (organization_id, id, endpoint_id, event_id, event_tx, event_pos) on webhook_deliveries to tenantry_user;
grant update (status, next_attempt_at) on webhook_deliveries to tenantry_user;

grant select on events to tenantry_user;

-- The worker decides, per event and per delivery, whether a tool's endpoint may have it.
grant select (organization_id, tool_id, status, enabled_at) on organization_tools to tenantry_worker;
