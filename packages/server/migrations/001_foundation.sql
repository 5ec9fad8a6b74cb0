-- Roles are cluster-wide: create them once and tolerate a concurrent creator.
-- tenantry_app runs every request; it owns nothing and cannot bypass RLS.
do $$
begin
  if not exists (select 1 from pg_roles where rolname = 'tenantry_app') then
    create role tenantry_app nologin nosuperuser nocreatedb nocreaterole nobypassrls;
  end if;
exception when duplicate_object or unique_violation then null;
end $$;

grant tenantry_app to current_user;
revoke create on schema public from public;
grant usage on schema public to tenantry_app;

-- The tenant and user of the current transaction, set by tenantry_enter().
-- '' (not NULL) once a setting has been set in a session, hence nullif.
create function tenantry_org_id() returns uuid language sql stable parallel safe as
$$ select nullif(current_setting('app.org_id', true), '')::uuid $$;

create function tenantry_user_id() returns uuid language sql stable parallel safe as
$$ select nullif(current_setting('app.user_id', true), '')::uuid $$;

create table users (
  id uuid primary key,
  email text not null unique,
  name text not null,
  password_hash text,
  platform_role text check (platform_role in ('platform_admin')),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create table organizations (
  id uuid primary key,
  name text not null,
  slug text not null,
  industry text not null,
  size text,
  domains text[] not null default '{}',
  status text not null default 'active' check (status in ('active', 'suspended', 'archived')),
  metadata jsonb not null default '{}',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint organizations_slug_key unique (slug)
);

create table memberships (
  organization_id uuid not null references organizations (id),
  user_id uuid not null references users (id) on delete cascade,
  role text not null check (role in ('owner', 'admin', 'member', 'viewer')),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (organization_id, user_id)
);
create index memberships_user_id_idx on memberships (user_id);

alter table organizations enable row level security;
alter table organizations force row level security;
alter table memberships enable row level security;
alter table memberships force row level security;

-- Tenant mode (an organization is set): that organization's rows only.
-- User mode (no organization, a user is set): the user's own memberships and their organizations.
create policy memberships_select on memberships for select to tenantry_app using (
  organization_id = (select tenantry_org_id())
  or ((select tenantry_org_id()) is null and user_id = (select tenantry_user_id()))
);
create policy memberships_insert on memberships for insert to tenantry_app
  with check (organization_id = (select tenantry_org_id()));
create policy memberships_update on memberships for update to tenantry_app
  using (organization_id = (select tenantry_org_id()))
  with check (organization_id = (select tenantry_org_id()));
create policy memberships_delete on memberships for delete to tenantry_app
  using (organization_id = (select tenantry_org_id()));

create policy organizations_select on organizations for select to tenantry_app using (
  id = (select tenantry_org_id())
  or ((select tenantry_org_id()) is null
      and id in (select m.organization_id from memberships m where m.user_id = (select tenantry_user_id())))
);
create policy organizations_insert on organizations for insert to tenantry_app
  with check (id = (select tenantry_org_id()));
create policy organizations_update on organizations for update to tenantry_app
  using (id = (select tenantry_org_id()))
  with check (id = (select tenantry_org_id()));

grant select, insert, update on users to tenantry_app;
grant select, insert, update on organizations to tenantry_app;
grant select, insert, update, delete on memberships to tenantry_app;

-- Enters a request's context in one statement: switches to the application role,
-- sets tenant and user for this transaction only, and returns the caller's current
-- membership so authorization is fresh without another round trip.
create function tenantry_enter(p_org uuid, p_user uuid)
returns table (member_role text, org_status text)
language plpgsql volatile as $$
begin
  perform set_config('role', 'tenantry_app', true);
  perform set_config('app.org_id', coalesce(p_org::text, ''), true);
  perform set_config('app.user_id', coalesce(p_user::text, ''), true);
  return query
    select m.role, o.status
    from organizations o
    left join memberships m on m.organization_id = o.id and m.user_id = p_user
    where o.id = p_org;
end $$;
