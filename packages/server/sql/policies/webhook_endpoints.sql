-- Row-level security on webhook_endpoints: this file is the table's whole set of policies.
-- Endpoints are the platform's: platform admins manage every one, the worker reads them
-- and records their failures, and a tool (tenantry_user with app.tool_id set) manages the
-- endpoints bound to it and no other: another tool's are not there for it.
select tenantry_reset_policies('webhook_endpoints');

create policy webhook_endpoints_platform on webhook_endpoints for all to tenantry_platform
  using ((select current_user) = 'tenantry_platform')
  with check ((select current_user) = 'tenantry_platform');
create policy webhook_endpoints_worker_select on webhook_endpoints for select to tenantry_worker
  using ((select current_user) = 'tenantry_worker');
create policy webhook_endpoints_worker_update on webhook_endpoints for update to tenantry_worker
  using ((select current_user) = 'tenantry_worker')
  with check ((select current_user) = 'tenantry_worker');
create policy webhook_endpoints_tool on webhook_endpoints for all to tenantry_user
  using (tool_id = (select tenantry_tool_id()))
  with check (tool_id = (select tenantry_tool_id()));
