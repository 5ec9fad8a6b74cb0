-- Row-level security on sharing_grants: this file is the table's whole set of policies.
select tenantry_reset_policies('sharing_grants');

-- tenantry_app: the organization of the transaction only (its owners, and the token
-- endpoint acting for a tool in that organization).
create policy sharing_grants_tenant on sharing_grants for all to tenantry_app
  using (organization_id = (select tenantry_org_id()))
  with check (organization_id = (select tenantry_org_id()));
