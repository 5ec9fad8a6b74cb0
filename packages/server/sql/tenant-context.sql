-- The tenant context of a transaction: who is calling and in which organization,
-- entered in one statement at the start of every request's transaction.

-- The tenant and user of the current transaction, set by tenantry_enter().
-- '' (not NULL) once a setting has been set in a session, hence nullif.
create or replace function tenantry_org_id() returns uuid language sql stable parallel safe as
$$ select nullif(current_setting('app.org_id', true), '')::uuid $$;

create or replace function tenantry_user_id() returns uuid language sql stable parallel safe as
$$ select nullif(current_setting('app.user_id', true), '')::uuid $$;

-- Enters a request's context in one statement: switches to the request role
-- (tenantry_app in an organization, tenantry_user without one), sets tenant and user
-- for this transaction only, and returns the caller's current membership, platform
-- role and whether the session is still live, so authorization is fresh without
-- another round trip. The session is looked up by its primary key only: with the user
-- id in the same WHERE, the planner could walk every session of a user who has many.
create or replace function tenantry_enter(p_org uuid, p_user uuid, p_session uuid)
returns table (member_role text, org_status text, platform_role text, session_live boolean)
language plpgsql volatile as $$
begin
  -- Every entry sets the whole context: a transaction that entered as a tool or an API key
  -- before (sql/tools.sql, sql/api-keys.sql) keeps neither.
  perform set_config('role', case when p_org is null then 'tenantry_user' else 'tenantry_app' end, true),
          set_config('app.org_id', coalesce(p_org::text, ''), true),
          set_config('app.user_id', coalesce(p_user::text, ''), true),
          set_config('app.tool_id', '', true),
          set_config('app.api_key_id', '', true);
  -- One statement per request role: a cached plan of a query under row-level security holds
  -- for the role it was planned as, so one statement run as both roles in turn was planned
  -- again at each change (in a refresh, twice: about 0.7 ms of PostgreSQL's CPU).
  if p_org is null then
    return query
      select null::text, null::text, u.platform_role,
             (p_session is null or coalesce((
                select s.user_id = p_user and s.revoked_at is null and s.expires_at > now()
                from sessions s where s.id = p_session), false))
      from (select 1) as one
      left join users u on u.id = p_user;
  else
    return query
      select m.role, o.status, u.platform_role,
             (p_session is null or coalesce((
                select s.user_id = p_user and s.revoked_at is null and s.expires_at > now()
                from sessions s where s.id = p_session), false))
      from (select 1) as one
      left join users u on u.id = p_user
      left join organizations o on o.id = p_org
      left join memberships m on m.organization_id = o.id and m.user_id = p_user;
  end if;
end $$;

-- Platform listing: enters as tenantry_platform, only for a user the database
-- itself knows to be a platform admin with a live session.
create or replace function tenantry_enter_platform(p_user uuid, p_session uuid)
returns boolean
language plpgsql volatile as $$
begin
  if not coalesce((
    select s.user_id = p_user and s.revoked_at is null and s.expires_at > now()
           and exists (select 1 from users u where u.id = p_user and u.platform_role = 'platform_admin')
    from sessions s where s.id = p_session), false)
  then
    return false;
  end if;
  perform set_config('role', 'tenantry_platform', true),
          set_config('app.org_id', '', true),
          set_config('app.user_id', p_user::text, true);
  return true;
end $$;

-- Who may see an organization at all: a live session, and a member of an organization
-- that is not archived, or a platform admin. The application's gate decides the same
-- first (404), then suspension and permission (403).
create or replace function tenantry_caller_may_see(p_member_role text, p_org_status text, p_platform_role text, p_session_live boolean)
returns boolean
language sql immutable as $$
  select coalesce(p_session_live and p_org_status is not null
     and ((p_member_role is not null and p_org_status <> 'archived') or p_platform_role = 'platform_admin'), false)
$$;

-- The prologue of every one-statement read (sql/reads.sql): enters the context and
-- returns it with the guard above. A read calls this first, as a statement of its own,
-- so that what it reads next is planned under the request role's row-level security.
-- PL/pgSQL returning one composite value, so a read's `c := tenantry_enter_read(...)` is a
-- plain function call: as an SQL function it ran through the SQL function executor on
-- top of tenantry_enter's, which cost a fifth of the member list's instructions in
-- PostgreSQL.
create or replace function tenantry_enter_read(p_org uuid, p_user uuid, p_session uuid)
returns tenantry_caller
language plpgsql volatile as $$
declare
  c tenantry_caller;
begin
  select e.member_role, e.org_status, e.platform_role, e.session_live,
         tenantry_caller_may_see(e.member_role, e.org_status, e.platform_role, e.session_live)
    into c
    from tenantry_enter(p_org, p_user, p_session) e;
  return c;
end $$;
