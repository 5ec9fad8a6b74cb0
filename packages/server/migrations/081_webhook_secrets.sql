-- Webhook secrets are written by platform admins (creation, rotation) and read only by
-- the deliverer (tenantry_worker), which signs with them. tenantry_platform keeps every
-- other column; a rotation, which moves the current secret to previous_secret, goes
-- through tenantry_rotate_webhook_secret() (sql/webhook-secrets.sql) without reading it.
revoke select, update on webhook_endpoints from tenantry_platform;
grant select (id, url, event_types, tool_id, status, disabled_reason, previous_secret_expires_at, failing_since, created_at, updated_at)
  on webhook_endpoints to tenantry_platform;
grant update (url, event_types, status, disabled_reason, failing_since, updated_at) on webhook_endpoints to tenantry_platform;
