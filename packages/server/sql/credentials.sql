-- The only ways a request role reads a password hash: by the email being signed in
-- with (login), and the signed-in user's own (a password change). Both run with the
-- owner's rights (security definer) and a pinned search_path; only tenantry_user,
-- the role of those two paths, may execute them. Every other query of a request role
-- is refused the password_hash column (migrations/011_least_privilege.sql).

create or replace function tenantry_password_hash(p_email text)
returns table (id uuid, password_hash text)
language sql stable security definer set search_path = pg_catalog, public as $$
  select u.id, u.password_hash from public.users u where u.email = p_email
$$;

create or replace function tenantry_own_password_hash()
returns table (email text, password_hash text)
language sql stable security definer set search_path = pg_catalog, public as $$
  select u.email, u.password_hash from public.users u where u.id = public.tenantry_user_id()
$$;

revoke execute on function tenantry_password_hash(text) from public;
revoke execute on function tenantry_own_password_hash() from public;
grant execute on function tenantry_password_hash(text) to tenantry_user;
grant execute on function tenantry_own_password_hash() to tenantry_user;

-- The account an email address belongs to, if any, and nothing else of it: what a
-- password-reset request and an email change need to know about an address that is
-- not the caller's own (a user context sees no other account's row, sql/policies/users.sql).
create or replace function tenantry_user_id_by_email(p_email text)
returns uuid
language sql stable security definer set search_path = pg_catalog, public as $$
  select u.id from public.users u where u.email = p_email
$$;

revoke execute on function tenantry_user_id_by_email(text) from public;
grant execute on function tenantry_user_id_by_email(text) to tenantry_user;

-- A presented refresh token: its session and that session's user. With p_use, the
-- token is used up by a conditional UPDATE, so of two concurrent presentations exactly
-- one gets used_now; a token used before comes back with used_now false (reuse). No
-- request role reads refresh_tokens itself: it knows only the hash it was given.
create or replace function tenantry_refresh_token(p_hash bytea, p_use boolean)
returns table (session_id uuid, user_id uuid, used_now boolean)
language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare
  v_session uuid;
begin
  if p_use then
    update public.refresh_tokens t set used_at = now()
    where t.token_hash = p_hash and t.used_at is null
    returning t.session_id into v_session;
  end if;
  used_now := v_session is not null;
  if v_session is null then
    select t.session_id into v_session from public.refresh_tokens t where t.token_hash = p_hash;
  end if;
  return query select s.id, s.user_id, used_now from public.sessions s where s.id = v_session;
end $$;

revoke execute on function tenantry_refresh_token(bytea, boolean) from public;
grant execute on function tenantry_refresh_token(bytea, boolean) to tenantry_user;
