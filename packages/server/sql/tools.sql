-- Platform tools in the database: the tool a transaction acts for, the context a tool's
-- request enters, and the one way the token endpoint reads a tool's credential hashes.

-- The tool of the current transaction, set by tenantry_enter_tool(); null for everyone else.
create or replace function tenantry_tool_id() returns uuid language sql stable parallel safe as
$$ select nullif(current_setting('app.tool_id', true), '')::uuid $$;

-- Enters a tool's context in one statement, as tenantry_enter does a user's: the request
-- role (tenantry_app in an organization, tenantry_user without one), the tenant, no user,
-- and the tool. Returns the tool's status and, in an organization, the organization's
-- status and the tool's enablement there, read fresh: a disabled tool or enablement stops
-- the tool's next request.
create or replace function tenantry_enter_tool(p_org uuid, p_tool uuid)
returns table (tool_status text, org_status text, enablement_status text, scopes text[])
language plpgsql volatile as $$
begin
  perform set_config('role', case when p_org is null then 'tenantry_user' else 'tenantry_app' end, true),
          set_config('app.org_id', coalesce(p_org::text, ''), true),
          set_config('app.user_id', '', true),
          set_config('app.tool_id', coalesce(p_tool::text, ''), true),
          set_config('app.api_key_id', '', true);
  return query
    select t.status, o.status, ot.status, ot.scopes
    from (select 1) as one
    left join tools t on t.id = p_tool
    left join organizations o on o.id = p_org
    left join organization_tools ot on ot.organization_id = o.id and ot.tool_id = t.id;
end $$;

-- A tool by its client id, with its credentials that are neither revoked nor expired: the
-- only way a request role reads a secret hash (migrations/060_platform_tools.sql grants
-- the column to nobody else). Owner's rights, pinned search_path; only tenantry_user, the
-- role of the token endpoint, may execute it.
create or replace function tenantry_tool_client(p_client_id text)
returns table (tool_id uuid, tool_status text, audience text, scopes jsonb,
               credential_id uuid, type text, secret_hash bytea, jwks jsonb, last_used_at timestamptz)
language sql stable security definer set search_path = pg_catalog, public as $$
  select t.id, t.status, t.audience, t.scopes, c.id, c.type, c.secret_hash, c.jwks, c.last_used_at
  from public.tools t
  left join public.tool_credentials c
    on c.tool_id = t.id and c.revoked_at is null and (c.expires_at is null or c.expires_at > now())
  where t.client_id = p_client_id
  order by c.created_at
$$;

revoke execute on function tenantry_tool_client(text) from public;
grant execute on function tenantry_tool_client(text) to tenantry_user;
