-- Each membership keeps its entry in the member list: the member's JSON as the API
-- answers it ({user_id, email, name, role, joined_at}), rendered by the database
-- whenever the membership is written or the user's email or name changes. A page of
-- members is then one index range of memberships, joined to nothing and rendered
-- once, instead of 50 user lookups and 50 JSON renderings on every read.

-- The one place the member's JSON is rendered. row_to_json keeps the column order as
-- the keys' order; tenantry_iso is the API's timestamp form.
create function tenantry_member_entry(p_user_id uuid, p_email text, p_name text, p_role text, p_joined_at timestamptz)
returns text
language sql stable as $$
  select row_to_json(e)::text
  from (select p_user_id as user_id, p_email as email, p_name as name, p_role as role,
               tenantry_iso(p_joined_at) as joined_at) e
$$;

alter table memberships add column entry text;

-- Every insert and update of a membership renders its entry from the row being
-- written and its user, so no writer can leave it stale or set it to anything else.
-- A missing user leaves email and name null here; the foreign key then refuses the row.
--
-- A new membership is invisible to a rename committing at the same time, whose
-- re-rendering (below) would then miss it: the insert reads the user FOR SHARE, so it
-- waits for a rename in progress and reads the new name, or a later rename waits for
-- it and then re-renders it too. An update needs no lock: a rename re-renders the same
-- membership row, so one of the two waits for the other's row lock and renders last.
create function tenantry_render_membership_entry()
returns trigger
language plpgsql as $$
declare
  v_email text;
  v_name text;
begin
  if tg_op = 'INSERT' then
    select u.email, u.name into v_email, v_name from users u where u.id = new.user_id for share;
  else
    select u.email, u.name into v_email, v_name from users u where u.id = new.user_id;
  end if;
  new.entry := tenantry_member_entry(new.user_id, v_email, v_name, new.role, new.created_at);
  return new;
end $$;

create trigger memberships_entry before insert or update on memberships
  for each row execute function tenantry_render_membership_entry();

-- A user's email or name is part of the entry in each of their organizations. The
-- update that changes it re-renders them all in the same transaction, so it must see
-- all of them: as that user in user mode (tenantry_user, whose policy shows only the
-- user's own memberships), or as a role that bypasses row-level security. Anything
-- else would update some organizations and silently skip the rest, so it is refused.
create function tenantry_rerender_user_entries()
returns trigger
language plpgsql as $$
begin
  if not (current_user = 'tenantry_user' and new.id = tenantry_user_id())
     and not exists (select 1 from pg_roles r where r.rolname = current_user and (r.rolsuper or r.rolbypassrls)) then
    raise exception 'a user''s email or name changes only as that user (tenantry_user with app.user_id set to them), so every organization''s member list follows'
      using errcode = '42501';
  end if;
  update memberships set entry = null where user_id = new.id;
  return null;
end $$;

create trigger users_member_entries after update of email, name on users
  for each row when (old.email is distinct from new.email or old.name is distinct from new.name)
  execute function tenantry_rerender_user_entries();

-- User mode may touch only the entry of the user's own memberships (the trigger above
-- re-renders them); their role and every other column stay out of its reach.
grant update (entry) on memberships to tenantry_user;
create policy memberships_own_entry on memberships for update to tenantry_user
  using (user_id = (select tenantry_user_id()))
  with check (user_id = (select tenantry_user_id()));

-- Existing memberships get their entries. Forced row-level security would hide every
-- row from a table owner that is not a superuser, so it is lifted for this update
-- only; the migration's transaction holds the table locked until it is forced again.
alter table memberships no force row level security;
update memberships set entry = null;
alter table memberships force row level security;
alter table memberships alter column entry set not null;

-- A page reads one more entry than it returns, in user id order (ARRAY() keeps the
-- subquery's order, with no sort: the primary key's index gives it). When that extra
-- entry exists, the cursor is the user id of the page's last entry, read from the same
-- snapshot as the page.
create or replace function tenantry_members_page(p_org uuid, p_user uuid, p_session uuid, p_after uuid, p_limit int)
returns table (member_role text, org_status text, platform_role text, session_live boolean, may_see boolean,
               data text, next_after uuid)
language plpgsql volatile as $$
declare
  e record;
  entries text[];
begin
  select * into e from tenantry_enter(p_org, p_user, p_session);
  member_role := e.member_role;
  org_status := e.org_status;
  platform_role := e.platform_role;
  session_live := e.session_live;
  may_see := tenantry_caller_may_see(e.member_role, e.org_status, e.platform_role, e.session_live);
  if may_see then
    -- ">= lower bound, and not the cursor itself" keeps one index range condition for
    -- both the first page and the next ones.
    entries := array(select m.entry
                     from memberships m
                     where m.organization_id = p_org
                       and m.user_id >= coalesce(p_after, '00000000-0000-0000-0000-000000000000'::uuid)
                       and m.user_id is distinct from p_after
                     order by m.user_id
                     limit p_limit + 1);
    if cardinality(entries) > p_limit then
      next_after := (entries[p_limit]::json ->> 'user_id')::uuid;
    end if;
    data := '[' || array_to_string(entries[1:p_limit], ',') || ']';
  end if;
  return next;
end $$;
