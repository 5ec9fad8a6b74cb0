-- Row-level security on audit_events: this file is the table's whole set of policies.
-- The application may only add and read events, never change them.
select tenantry_reset_policies('audit_events');

create policy audit_events_select on audit_events for select to tenantry_app
  using (organization_id = (select tenantry_org_id()));
create policy audit_events_insert on audit_events for insert to tenantry_app
  with check (organization_id = (select tenantry_org_id()));
