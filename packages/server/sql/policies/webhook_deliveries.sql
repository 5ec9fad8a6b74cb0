-- Row-level security on webhook_deliveries: this file is the table's whole set of policies.
-- Deliveries go to the platform's endpoints from every organization: the worker and
-- platform admins (delivery log, retry, replay) reach all of them, while acting as
-- that role itself; tenant requests reach none.
select tenantry_reset_policies('webhook_deliveries');

create policy webhook_deliveries_worker on webhook_deliveries for all to tenantry_worker
  using ((select current_user) = 'tenantry_worker')
  with check ((select current_user) = 'tenantry_worker');
create policy webhook_deliveries_platform on webhook_deliveries for all to tenantry_platform
  using ((select current_user) = 'tenantry_platform')
  with check ((select current_user) = 'tenantry_platform');

-- A tool: the deliveries of its own endpoints (delivery log, retry, replay), through the
-- endpoints it can see (sql/policies/webhook_endpoints.sql). A replay adds only events the
-- tool may read itself (sql/policies/events.sql).
create policy webhook_deliveries_tool on webhook_deliveries for all to tenantry_user
  using (endpoint_id in (select w.id from webhook_endpoints w where w.tool_id = (select tenantry_tool_id())))
  with check (endpoint_id in (select w.id from webhook_endpoints w where w.tool_id = (select tenantry_tool_id())));
