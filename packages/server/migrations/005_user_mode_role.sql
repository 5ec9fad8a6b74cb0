-- User-level work (no organization selected: /v1/me, the caller's organization list,
-- signup, login, refresh) runs as its own role, tenantry_user. tenantry_app's policies
-- then name a single condition each (organization_id = the tenant), which the planner
-- turns into a plain index scan instead of an OR of two.
do $$
begin
  if not exists (select 1 from pg_roles where rolname = 'tenantry_user') then
    create role tenantry_user nologin nosuperuser nocreatedb nocreaterole nobypassrls;
  end if;
exception when duplicate_object or unique_violation then null;
end $$;

grant tenantry_user to current_user;
grant usage on schema public to tenantry_user;
grant select, insert, update on users, sessions, refresh_tokens, email_outbox to tenantry_user;
grant select on memberships, organizations to tenantry_user;

drop policy memberships_select on memberships;
create policy memberships_select on memberships for select to tenantry_app
  using (organization_id = (select tenantry_org_id()));
create policy memberships_own on memberships for select to tenantry_user
  using (user_id = (select tenantry_user_id()));

drop policy organizations_select on organizations;
create policy organizations_select on organizations for select to tenantry_app
  using (id = (select tenantry_org_id()));
create policy organizations_own on organizations for select to tenantry_user
  using (id in (select m.organization_id from memberships m where m.user_id = (select tenantry_user_id())));

create or replace function tenantry_enter(p_org uuid, p_user uuid, p_session uuid)
returns table (member_role text, org_status text, platform_role text, session_live boolean)
language plpgsql volatile as $$
begin
  perform set_config('role', case when p_org is null then 'tenantry_user' else 'tenantry_app' end, true);
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
