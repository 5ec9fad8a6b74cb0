-- Introspection of an organization API key by a tool (RFC 7662), as one statement: the
-- tool's client authentication by secret (sql/tools.sql), and, for a tool that
-- authenticated and is active, the key by its key id and keyed hash
-- (tenantry_api_key_of, sql/api-keys.sql), then, for a live key that is for no tool or for
-- this one, the key's state in its organization's context and the tool's standing in the
-- tool's own context there, each read under row-level security as the two contexts would
-- read them. One round trip; the application judges what comes back. Columns of a part
-- not reached are null.
create or replace function tenantry_introspect_api_key(p_client_id text, p_secret_hash bytea, p_key_id text, p_key_hash bytea)
returns table (tool_id uuid, tool_status text, audience text, scopes jsonb, authenticated boolean,
               key_id uuid, key_org uuid, key_tool uuid, key_found_live boolean,
               key_org_status text, key_live boolean, key_scopes text[], key_expires_at timestamptz,
               standing_tool_status text, standing_org_status text, enablement_status text)
language plpgsql volatile as $$
declare
  k record;
begin
  select c.tool_id, c.tool_status, c.audience, c.scopes, c.authenticated
    into tool_id, tool_status, audience, scopes, authenticated
    from tenantry_tool_client_check(p_client_id, p_secret_hash, null) c;
  if not found then
    return;
  end if;
  if authenticated and tool_status = 'active' then
    select f.organization_id, f.id, f.tool_id, f.live into k from tenantry_api_key_of(p_key_id, p_key_hash) f;
    if found then
      key_id := k.id; key_org := k.organization_id; key_tool := k.tool_id; key_found_live := k.live;
      if k.live and (k.tool_id is null or k.tool_id = tool_id) then
        select e.org_status, e.key_live, e.scopes, e.expires_at
          into key_org_status, key_live, key_scopes, key_expires_at
          from tenantry_enter_api_key(k.organization_id, k.id) e;
        select e.tool_status, e.org_status, e.enablement_status
          into standing_tool_status, standing_org_status, enablement_status
          from tenantry_enter_tool(k.organization_id, tool_id) e;
      end if;
    end if;
  end if;
  return next;
end $$;
