-- Which events a tool may have (SPEC §11): those of an organization where it is enabled,
-- that happened during its current enablement (enabled_at marks its start, see
-- sql/enablement-period.sql). When the tool has been disabled it still gets the event of
-- its own disabling, and nothing else of that organization. The pull API, the fan-out to
-- its endpoints, the check before each delivery, replays and the events policy all ask here.
-- Invoker's rights: the caller's row-level security on organization_tools applies (a tool
-- sees only its own enablements, the worker all).
create or replace function tenantry_tool_receives(p_tool uuid, p_org uuid, p_type text, p_data jsonb, p_at timestamptz)
returns boolean
language sql stable parallel safe as $$
  select exists (
    select 1 from organization_tools ot
    where ot.organization_id = p_org and ot.tool_id = p_tool and ot.enabled_at <= p_at
      and (ot.status = 'active' or (p_type = 'organization_tool.disabled' and p_data ->> 'tool_id' = p_tool::text)))
$$;
