-- Row-level security on memberships: this file is the table's whole set of policies.
-- It drops every policy the table has and creates the ones below, in one transaction.
select tenantry_reset_policies('memberships');

-- tenantry_app: the organization of the transaction only.
create policy memberships_select on memberships for select to tenantry_app
  using (organization_id = (select tenantry_org_id()));
create policy memberships_insert on memberships for insert to tenantry_app
  with check (organization_id = (select tenantry_org_id()));
create policy memberships_update on memberships for update to tenantry_app
  using (organization_id = (select tenantry_org_id()))
  with check (organization_id = (select tenantry_org_id()));
create policy memberships_delete on memberships for delete to tenantry_app
  using (organization_id = (select tenantry_org_id()));

-- tenantry_user (no organization selected): the user's own memberships, read only.
create policy memberships_own on memberships for select to tenantry_user
  using (user_id = (select tenantry_user_id()));

-- tenantry_maintenance re-renders entries in every organization (sql/member-entry.sql,
-- and the migrator's re-render); its grants let it change the entry column only. A
-- policy applies to every member of its role, and the database owner is one: the
-- condition holds only while acting as tenantry_maintenance itself, so the owner's
-- own queries stay bound by forced row-level security.
create policy memberships_maintenance_select on memberships for select to tenantry_maintenance
  using ((select current_user) = 'tenantry_maintenance');
create policy memberships_maintenance_update on memberships for update to tenantry_maintenance
  using ((select current_user) = 'tenantry_maintenance')
  with check ((select current_user) = 'tenantry_maintenance');
