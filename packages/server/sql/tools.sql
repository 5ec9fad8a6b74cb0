-- Platform tools in the database: the tool a transaction acts for, the context a tool's
-- request enters, and how a tool's client authentication reads its credentials: a secret
-- is compared with its hash in the database (tenantry_tool_secret_check), so the token
-- endpoint never receives a hash.

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
  -- One statement per request role, as in tenantry_enter (sql/tenant-context.sql): each keeps
  -- its cached plan.
  if p_org is null then
    return query
      select t.status, null::text, null::text, null::text[]
      from (select 1) as one
      left join tools t on t.id = p_tool;
  else
    return query
      select t.status, o.status, ot.status, ot.scopes
      from (select 1) as one
      left join tools t on t.id = p_tool
      left join organizations o on o.id = p_org
      left join organization_tools ot on ot.organization_id = o.id and ot.tool_id = t.id;
  end if;
end $$;

-- A tool by its client id, with its credentials that are neither revoked nor expired: the
-- only way a request role reads a secret hash (migrations/060_platform_tools.sql grants
-- the column to nobody else). Owner's rights, pinned search_path; only tenantry_user, the
-- role of the token endpoint, may execute it, and tenantry_tool_keys() is what calls it.
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

-- The public keys private_key_jwt verifies with, as one statement of its own: the
-- anonymous context (tenantry_user, the role that may execute tenantry_tool_client) reads
-- the tool's live credentials, and only those of private_key_jwt come back, with no hash.
create or replace function tenantry_tool_keys(p_client_id text)
returns table (tool_id uuid, tool_status text, audience text, scopes jsonb,
               credential_id uuid, jwks jsonb, last_used_at timestamptz)
language plpgsql volatile as $$
begin
  perform tenantry_enter(null, null, null);
  return query
    select c.tool_id, c.tool_status, c.audience, c.scopes, c.credential_id, c.jwks, c.last_used_at
    from tenantry_tool_client(p_client_id) c
    where c.type = 'private_key_jwt';
end $$;

-- A presented client secret checked, with no hash leaving the database: the tool by its
-- client id (no row when none has it) and whether the secret's SHA-256 is the hash of one
-- of its client secrets that is neither revoked nor expired. The credential's last_used_at
-- is written only when it is more than a minute old: a busy tool is not a write per
-- request. Owner's rights, pinned search_path; only tenantry_user may execute it, and
-- tenantry_tool_client_check() is how a request does.
create or replace function tenantry_tool_secret_check(p_client_id text, p_secret_hash bytea)
returns table (tool_id uuid, tool_status text, audience text, scopes jsonb, authenticated boolean)
language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare
  v_tool public.tools%rowtype;
  v_credential uuid;
  v_used timestamptz;
begin
  select * into v_tool from public.tools t where t.client_id = p_client_id;
  if not found then
    return;
  end if;
  select c.id, c.last_used_at into v_credential, v_used
  from public.tool_credentials c
  where c.tool_id = v_tool.id and c.type = 'client_secret' and c.secret_hash = p_secret_hash
    and c.revoked_at is null and (c.expires_at is null or c.expires_at > now())
  limit 1;
  if v_credential is not null and (v_used is null or v_used < now() - interval '1 minute') then
    update public.tool_credentials c set last_used_at = now()
    where c.id = v_credential and (c.last_used_at is null or c.last_used_at < now() - interval '1 minute');
  end if;
  tool_id := v_tool.id; tool_status := v_tool.status; audience := v_tool.audience; scopes := v_tool.scopes;
  authenticated := v_credential is not null;
  return next;
end $$;

revoke execute on function tenantry_tool_secret_check(text, bytea) from public;
grant execute on function tenantry_tool_secret_check(text, bytea) to tenantry_user;

-- A tool's client authentication by secret and, with p_org, its standing there, as one
-- statement (one round trip in its own implicit transaction, at whose end the role and the
-- settings revert): the anonymous context checks the secret, and only a tool that
-- authenticated and is active then enters its own context in p_org (tenantry_enter_tool),
-- which reads the organization's status and the enablement under row-level security. The
-- application judges what comes back; the organization's columns are null unless read.
create or replace function tenantry_tool_client_check(p_client_id text, p_secret_hash bytea, p_org uuid)
returns table (tool_id uuid, tool_status text, audience text, scopes jsonb, authenticated boolean,
               org_status text, enablement_status text, enabled_scopes text[])
language plpgsql volatile as $$
begin
  perform tenantry_enter(null, null, null);
  select s.tool_id, s.tool_status, s.audience, s.scopes, s.authenticated
    into tool_id, tool_status, audience, scopes, authenticated
    from tenantry_tool_secret_check(p_client_id, p_secret_hash) s;
  if not found then
    return;
  end if;
  if authenticated and tool_status = 'active' and p_org is not null then
    select e.org_status, e.enablement_status, e.scopes into org_status, enablement_status, enabled_scopes
      from tenantry_enter_tool(p_org, tool_id) e;
  end if;
  return next;
end $$;
