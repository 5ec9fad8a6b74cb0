-- Row-level security on api_keys: this file is the table's whole set of policies.
select tenantry_reset_policies('api_keys');

-- tenantry_app: the organization of the transaction only.
create policy api_keys_tenant on api_keys for all to tenantry_app
  using (organization_id = (select tenantry_org_id()))
  with check (organization_id = (select tenantry_org_id()));

-- tenantry_keyring finds a presented key in any organization, reading only what its
-- column grants allow (no name, no scopes), and only while acting as itself: the
-- database owner is a member of the role, and its own queries stay bound by forced RLS.
create policy api_keys_keyring on api_keys for select to tenantry_keyring
  using ((select current_user) = 'tenantry_keyring');
