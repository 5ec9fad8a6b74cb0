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
