-- The session check looks the session up by its primary key only: written with the
-- user id in the same WHERE, the planner could pick the user_id index and walk every
-- session of a user who has many.
create or replace function tenantry_enter(p_org uuid, p_user uuid, p_session uuid)
returns table (member_role text, org_status text, platform_role text, session_live boolean)
language plpgsql volatile as $$
begin
  perform set_config('role', case when p_org is null then 'tenantry_user' else 'tenantry_app' end, true),
          set_config('app.org_id', coalesce(p_org::text, ''), true),
          set_config('app.user_id', coalesce(p_user::text, ''), true);
  return query
    select m.role, o.status, u.platform_role,
           (p_session is null or coalesce((
              select s.user_id = p_user and s.revoked_at is null and s.expires_at > now()
              from sessions s where s.id = p_session), false))
    from (select 1) as one
    left join users u on u.id = p_user
    left join organizations o on o.id = p_org
    left join memberships m on m.organization_id = o.id and m.user_id = p_user;
end $$;

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
