-- Row-level security on audit_chain_heads: this file is the table's whole set of policies.
-- The chain trigger (sql/audit-chain.sql) moves the head of the organization it writes in;
-- maintenance chains the events written before the chain existed, in every organization.
select tenantry_reset_policies('audit_chain_heads');

create policy audit_chain_heads_tenant on audit_chain_heads for all to tenantry_app
  using (organization_id = (select tenantry_org_id()))
  with check (organization_id = (select tenantry_org_id()));
create policy audit_chain_heads_maintenance on audit_chain_heads for all to tenantry_maintenance
  using (true) with check (true);
-- The checkpoint job: which organizations' chains have grown (column grants in 082_checkpoint_job).
create policy audit_chain_heads_worker on audit_chain_heads for select to tenantry_worker
  using ((select current_user) = 'tenantry_worker');
