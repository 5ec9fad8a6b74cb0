-- Row-level security on sessions (enabled, not forced: the owner, i.e. the CLI's
-- promotion of an admin, ends any account's sessions). This file is the table's whole
-- set of policies.
select tenantry_reset_policies('sessions');

-- A user context: its own sessions only (login, refresh, logout, a password change).
create policy sessions_self on sessions for all to tenantry_user
  using (user_id = (select tenantry_user_id()))
  with check (user_id = (select tenantry_user_id()));

-- In an organization: the caller's own sessions (a login scoped to it, switching
-- organization on refresh) and the sessions scoped to this organization, which
-- removing a member or suspending the organization ends.
create policy sessions_tenant on sessions for all to tenantry_app
  using (user_id = (select tenantry_user_id()) or active_organization_id = (select tenantry_org_id()))
  with check (user_id = (select tenantry_user_id()) or active_organization_id = (select tenantry_org_id()));
