-- Row-level security on invitations: this file is the table's whole set of policies.
select tenantry_reset_policies('invitations');

create policy invitations_tenant on invitations for all to tenantry_app
  using (organization_id = (select tenantry_org_id()))
  with check (organization_id = (select tenantry_org_id()));
