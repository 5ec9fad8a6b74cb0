-- Organization API keys in the database: finding a presented key, and the context a
-- key's request enters.

-- The API key of the current transaction, set by tenantry_enter_api_key(); null for everyone else.
create or replace function tenantry_api_key_id() returns uuid language sql stable parallel safe as
$$ select nullif(current_setting('app.api_key_id', true), '')::uuid $$;

-- A presented key by its key id and the HMAC of the whole key: its organization, id and
-- tool (the audience it is for, if any), and whether it is live (neither revoked nor
-- expired), or no row when no key has both.
-- A key does not name its organization, so this reads across organizations: with the
-- rights of tenantry_keyring, which owns it and may read only these columns of api_keys
-- (never a name or scopes, and no hash leaves it). Only the request roles may call it.
create or replace function tenantry_api_key_of(p_key_id text, p_hash bytea)
returns table (organization_id uuid, id uuid, tool_id uuid, live boolean)
language sql stable security definer set search_path = pg_catalog, public as $$
  select k.organization_id, k.id, k.tool_id, k.revoked_at is null and (k.expires_at is null or k.expires_at > now())
  from public.api_keys k
  where k.key_id = p_key_id and k.key_hash = p_hash
$$;

-- Owned by tenantry_keyring so that it runs as that role. Changing the owner needs the
-- new owner to be able to create in the schema, for this statement only.
grant create on schema public to tenantry_keyring;
alter function tenantry_api_key_of(text, bytea) owner to tenantry_keyring;
revoke create on schema public from tenantry_keyring;
revoke execute on function tenantry_api_key_of(text, bytea) from public;
grant execute on function tenantry_api_key_of(text, bytea) to tenantry_app, tenantry_user;

-- Enters an API key's context in one statement, as tenantry_enter does a user's: the
-- organization's request role, the tenant, no user, and the key. Returns the
-- organization's status and the key's state, read fresh under the key organization's
-- row-level security: a key revoked or expired a moment ago stops its next request, and
-- a key of another organization is not found at all.
create or replace function tenantry_enter_api_key(p_org uuid, p_key uuid)
returns table (org_status text, key_live boolean, scopes text[], tool_id uuid, expires_at timestamptz)
language plpgsql volatile as $$
begin
  perform set_config('role', 'tenantry_app', true),
          set_config('app.org_id', coalesce(p_org::text, ''), true),
          set_config('app.user_id', '', true),
          set_config('app.tool_id', '', true),
          set_config('app.api_key_id', coalesce(p_key::text, ''), true);
  return query
    select o.status,
           -- A key not found here (another organization's, or none) is not live.
           k.id is not null and k.revoked_at is null and (k.expires_at is null or k.expires_at > now()),
           k.scopes, k.tool_id, k.expires_at
    from (select 1) as one
    left join organizations o on o.id = p_org
    left join api_keys k on k.organization_id = o.id and k.id = p_key;
end $$;

-- Whether an API key may make a one-statement read (sql/reads.sql) that needs
-- `p_permission`: a live key for no tool (a tool's key is for that tool's API), in an
-- active organization (no key acts in a suspended or archived one), carrying the
-- permission. The application's gate (admitApiKey) decides the same first, with its
-- answers (401, 404, 403); this is the database's own guard, so nothing is read where
-- the gate would refuse.
create or replace function tenantry_api_key_may_read(p_key_live boolean, p_org_status text, p_tool_id uuid, p_scopes text[],
                                                     p_permission text)
returns boolean
language sql immutable as $$
  select coalesce(p_key_live and p_org_status = 'active' and p_tool_id is null and p_permission = any(p_scopes), false)
$$;
