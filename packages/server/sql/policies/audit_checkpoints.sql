-- Row-level security on audit_checkpoints: this file is the table's whole set of policies.
-- The application adds and reads its organization's checkpoints, never changes them.
select tenantry_reset_policies('audit_checkpoints');

create policy audit_checkpoints_select on audit_checkpoints for select to tenantry_app
  using (organization_id = (select tenantry_org_id()));
create policy audit_checkpoints_insert on audit_checkpoints for insert to tenantry_app
  with check (organization_id = (select tenantry_org_id()));
-- The checkpoint job: how far each organization's checkpoints reach (082_checkpoint_job).
create policy audit_checkpoints_worker on audit_checkpoints for select to tenantry_worker
  using ((select current_user) = 'tenantry_worker');
