-- Row-level security on users (enabled, not forced: the owner, i.e. the CLI and the
-- bootstrap, reaches every account). This file is the table's whole set of policies.
-- Columns are granted in migrations/011_least_privilege.sql and 040_account_tokens.sql.
select tenantry_reset_policies('users');

-- A user context (tenantry_user) is one account: it creates itself at signup, reads,
-- renames, verifies and deletes itself, and no other row.
create policy users_self on users for all to tenantry_user
  using (id = (select tenantry_user_id()))
  with check (id = (select tenantry_user_id()));

-- In an organization (tenantry_app): the caller and the organization's members, whose
-- names and addresses the member list and invitations show. A member entry locks the
-- member's row (FOR SHARE), which the UPDATE policy must let it see.
create policy users_tenant_select on users for select to tenantry_app
  using (id = (select tenantry_user_id())
         or exists (select 1 from memberships m where m.user_id = users.id and m.organization_id = (select tenantry_org_id())));
create policy users_tenant_update on users for update to tenantry_app
  using (id = (select tenantry_user_id())
         or exists (select 1 from memberships m where m.user_id = users.id and m.organization_id = (select tenantry_org_id())))
  with check (id = (select tenantry_user_id())
         or exists (select 1 from memberships m where m.user_id = users.id and m.organization_id = (select tenantry_org_id())));

-- Platform admins list accounts; the maintenance role re-renders every member entry.
create policy users_platform_select on users for select to tenantry_platform
  using ((select current_user) = 'tenantry_platform');
create policy users_maintenance_select on users for select to tenantry_maintenance
  using ((select current_user) = 'tenantry_maintenance');
