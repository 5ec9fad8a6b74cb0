-- Platform administration and the per-tenant audit log.

-- tenantry_platform serves platform admins' cross-tenant listing: it may read every
-- organization and nothing else across tenants. Like tenantry_app it owns nothing
-- and cannot bypass RLS; its access is written out in policies below.
do $$
begin
  if not exists (select 1 from pg_roles where rolname = 'tenantry_platform') then
    create role tenantry_platform nologin nosuperuser nocreatedb nocreaterole nobypassrls;
  end if;
exception when duplicate_object or unique_violation then null;
end $$;

grant tenantry_platform to current_user;
grant usage on schema public to tenantry_platform;
grant select on organizations to tenantry_platform;
grant select on users to tenantry_platform;
create policy organizations_platform_select on organizations for select to tenantry_platform using (true);

-- Audit events: the application may only add and read them, never change them.
create table audit_events (
  organization_id uuid not null references organizations (id),
  id uuid not null,
  actor_type text not null check (actor_type in ('user', 'platform_admin', 'system')),
  actor_id uuid,
  action text not null,
  target_type text,
  target_id text,
  data jsonb not null default '{}',
  ip text,
  request_id text,
  occurred_at timestamptz not null default now(),
  primary key (organization_id, id)
);
create index audit_events_action_idx on audit_events (organization_id, action, id);

alter table audit_events enable row level security;
alter table audit_events force row level security;
create policy audit_events_select on audit_events for select to tenantry_app
  using (organization_id = (select tenantry_org_id()));
create policy audit_events_insert on audit_events for insert to tenantry_app
  with check (organization_id = (select tenantry_org_id()));
grant select, insert on audit_events to tenantry_app;

-- Listing and filtering organizations for platform admins.
create index organizations_name_idx on organizations (lower(name) text_pattern_ops);

-- Platform listing: enters as tenantry_platform, only for a user the database
-- itself knows to be a platform admin.
create function tenantry_enter_platform(p_user uuid, p_session uuid)
returns boolean
language plpgsql volatile as $$
begin
  if not exists (
    select 1 from users u
    join sessions s on s.user_id = u.id
    where u.id = p_user and u.platform_role = 'platform_admin'
      and s.id = p_session and s.revoked_at is null and s.expires_at > now()
  ) then
    return false;
  end if;
  perform set_config('role', 'tenantry_platform', true);
  perform set_config('app.org_id', '', true);
  perform set_config('app.user_id', p_user::text, true);
  return true;
end $$;
