-- Identity: signing keys, sessions and refresh tokens. These are global (per user,
-- not per tenant) tables; the application role never sees private keys.

create table signing_keys (
  kid text primary key,
  alg text not null default 'EdDSA',
  public_jwk jsonb not null,
  private_pkcs8 text not null,
  created_at timestamptz not null default now(),
  retired_at timestamptz
);
-- Exactly one current key at a time.
create unique index signing_keys_one_current on signing_keys ((true)) where retired_at is null;

create table sessions (
  id uuid primary key,
  user_id uuid not null references users (id) on delete cascade,
  client_id text not null,
  -- The organization the session's tokens are scoped to (not tenant data: a session is the user's).
  active_organization_id uuid references organizations (id),
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  revoked_at timestamptz,
  revoked_reason text
);
create index sessions_user_id_idx on sessions (user_id) where revoked_at is null;
create index sessions_active_org_idx on sessions (active_organization_id) where revoked_at is null;

create table refresh_tokens (
  token_hash bytea primary key,
  session_id uuid not null references sessions (id) on delete cascade,
  created_at timestamptz not null default now(),
  used_at timestamptz
);
create index refresh_tokens_session_id_idx on refresh_tokens (session_id);

grant select, insert, update on sessions to tenantry_app;
grant select, insert, update on refresh_tokens to tenantry_app;

-- The request context now also reports the caller's platform role and whether the
-- session behind the access token is still live, in the same single statement.
drop function tenantry_enter(uuid, uuid);
create function tenantry_enter(p_org uuid, p_user uuid, p_session uuid)
returns table (member_role text, org_status text, platform_role text, session_live boolean)
language plpgsql volatile as $$
begin
  perform set_config('role', 'tenantry_app', true);
  perform set_config('app.org_id', coalesce(p_org::text, ''), true);
  perform set_config('app.user_id', coalesce(p_user::text, ''), true);
  return query
    select m.role, o.status, u.platform_role,
           (p_session is null or exists (
              select 1 from sessions s
              where s.id = p_session and s.user_id = p_user and s.revoked_at is null and s.expires_at > now()))
    from (select 1) as one
    left join users u on u.id = p_user
    left join organizations o on o.id = p_org
    left join memberships m on m.organization_id = o.id and m.user_id = p_user;
end $$;
