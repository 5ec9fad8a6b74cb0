-- Enabling a tool again starts a new enablement period: enabled_at moves to the moment it
-- was enabled, so nothing that happened while it was disabled reaches it later
-- (tenantry_tool_receives, sql/tool-events.sql), whatever the writing code sets.
create or replace function tenantry_enablement_period() returns trigger
language plpgsql as $$
begin
  if new.status = 'active' and old.status <> 'active' then
    new.enabled_at := now();
  end if;
  return new;
end $$;

create or replace trigger organization_tools_enablement_period before update of status on organization_tools
  for each row execute function tenantry_enablement_period();
