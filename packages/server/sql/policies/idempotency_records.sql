-- Row-level security on idempotency_records: this file is the table's whole set of policies.
select tenantry_reset_policies('idempotency_records');

-- A request sees and writes only the records of the principal it runs as: the user
-- (tenantry_user_id()), the tool (tenantry_tool_id(), sql/tools.sql) or the API key
-- (tenantry_api_key_id(), sql/api-keys.sql).
create policy idempotency_records_own on idempotency_records for all to tenantry_app, tenantry_user, tenantry_platform
  using (principal = 'user:' || tenantry_user_id()::text or principal = 'tool:' || tenantry_tool_id()::text
         or principal = 'api_key:' || tenantry_api_key_id()::text)
  with check (principal = 'user:' || tenantry_user_id()::text or principal = 'tool:' || tenantry_tool_id()::text
         or principal = 'api_key:' || tenantry_api_key_id()::text);

-- The expiry job runs on nobody's behalf: it may find and remove expired records, and
-- nothing else (a delete whose WHERE reads the rows needs them visible to select as well).
create policy idempotency_records_expired_select on idempotency_records for select to tenantry_user
  using (tenantry_user_id() is null and tenantry_tool_id() is null and tenantry_api_key_id() is null and expires_at <= now());
create policy idempotency_records_expired_delete on idempotency_records for delete to tenantry_user
  using (tenantry_user_id() is null and tenantry_tool_id() is null and tenantry_api_key_id() is null and expires_at <= now());
