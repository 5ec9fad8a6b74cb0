-- Row-level security on organizations: this file is the table's whole set of policies.
select tenantry_reset_policies('organizations');

-- tenantry_app: the organization of the transaction only.
create policy organizations_select on organizations for select to tenantry_app
  using (id = (select tenantry_org_id()));
create policy organizations_insert on organizations for insert to tenantry_app
  with check (id = (select tenantry_org_id()));
create policy organizations_update on organizations for update to tenantry_app
  using (id = (select tenantry_org_id()))
  with check (id = (select tenantry_org_id()));

-- tenantry_user: the organizations the user is a member of.
create policy organizations_own on organizations for select to tenantry_user
  using (id in (select m.organization_id from memberships m where m.user_id = (select tenantry_user_id())));

-- tenantry_platform (platform admins' cross-tenant listing): every organization, read
-- only, while acting as tenantry_platform itself (tenantry_enter_platform): the
-- database owner is a member of the role, and its own queries see no organization.
create policy organizations_platform_select on organizations for select to tenantry_platform
  using ((select current_user) = 'tenantry_platform');
