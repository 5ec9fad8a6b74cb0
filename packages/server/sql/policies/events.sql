-- Row-level security on events: this file is the table's whole set of policies.
-- Requests add and read their organization's events; nothing changes one.
select tenantry_reset_policies('events');

create policy events_select on events for select to tenantry_app
  using (organization_id = (select tenantry_org_id()));
create policy events_insert on events for insert to tenantry_app
  with check (organization_id = (select tenantry_org_id()));

-- Platform admins read every organization's events (GET /v1/events), while acting as
-- tenantry_platform itself: the database owner is a member of the role.
create policy events_platform_select on events for select to tenantry_platform
  using ((select current_user) = 'tenantry_platform');

-- The worker fans events out to webhooks and deletes them after the retention period.
create policy events_worker_select on events for select to tenantry_worker
  using ((select current_user) = 'tenantry_worker');
create policy events_worker_delete on events for delete to tenantry_worker
  using ((select current_user) = 'tenantry_worker');

-- A tool (tenantry_user with app.tool_id set) reads the events of the organizations where
-- it is enabled, during its enablement (sql/tool-events.sql); users in that role read none.
create policy events_tool_select on events for select to tenantry_user
  using (tenantry_tool_receives((select tenantry_tool_id()), organization_id, type, data, occurred_at));
