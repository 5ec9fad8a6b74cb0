-- Row-level security on organization_tools: this file is the table's whole set of policies.
select tenantry_reset_policies('organization_tools');

-- tenantry_app: the organization of the transaction only.
create policy organization_tools_tenant on organization_tools for all to tenantry_app
  using (organization_id = (select tenantry_org_id()))
  with check (organization_id = (select tenantry_org_id()));

-- tenantry_user as a tool (no organization selected): the tool's own enablements, read
-- only, for discovery (GET /v1/tool/organizations).
create policy organization_tools_own on organization_tools for select to tenantry_user
  using (tool_id = (select tenantry_tool_id()));
