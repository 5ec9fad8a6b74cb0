-- Row-level security on audit_events: this file is the table's whole set of policies.
-- The application may only add and read events, never change them.
select tenantry_reset_policies('audit_events');

create policy audit_events_select on audit_events for select to tenantry_app
  using (organization_id = (select tenantry_org_id()));
create policy audit_events_insert on audit_events for insert to tenantry_app
  with check (organization_id = (select tenantry_org_id()));

-- Maintenance may only chain events written before the chain existed (sql/audit-chain.sql):
-- it reads events, but a chained event is out of reach of its updates. (An UPDATE's new row
-- must pass the SELECT policy as well, so that one cannot be limited to unchained rows.)
create policy audit_events_maintenance_select on audit_events for select to tenantry_maintenance
  using (true);
create policy audit_events_maintenance_chain on audit_events for update to tenantry_maintenance
  using (hash is null) with check (hash is not null);
