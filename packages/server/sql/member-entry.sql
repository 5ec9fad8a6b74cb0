-- Each membership keeps its entry in the member list: the member's JSON as the API
-- answers it, rendered by the database whenever the membership is written or the
-- user's email or name changes. A page of members is then one index range of
-- memberships, joined to nothing and rendered once. Every response that returns a
-- member (the list, and the member after a role change) sends this stored entry.
--
-- The shape is the Member schema (src/modules/members/members.schemas.ts). When this
-- file changes, the migrator re-renders every membership's entry in batches.

-- The one place the member's JSON is rendered. row_to_json keeps the column order as
-- the keys' order; tenantry_iso is the API's timestamp form.
create or replace function tenantry_member_entry(p_user_id uuid, p_email text, p_name text, p_role text, p_joined_at timestamptz)
returns text
language sql stable as $$
  select row_to_json(e)::text
  from (select p_user_id as user_id, p_email as email, p_name as name, p_role as role,
               tenantry_iso(p_joined_at) as joined_at) e
$$;

-- Every insert and update of a membership renders its entry from the row being
-- written and its user, so no writer can leave it stale or set it to anything else.
-- A missing user leaves email and name null here; the foreign key then refuses the row.
--
-- A new membership is invisible to a rename committing at the same time, whose
-- re-rendering (below) would then miss it: the insert reads the user FOR SHARE, so it
-- waits for a rename in progress and reads the new name, or a later rename waits for
-- it and then re-renders it too. An update needs no lock: a rename re-renders the same
-- membership row, so one of the two waits for the other's row lock and renders last.
--
-- It reads the member's row with the owner's rights (security definer, pinned
-- search_path): a request in an organization sees only the users who are its members
-- already (sql/policies/users.sql), and the one being added is not one yet. What it
-- reads goes only into the entry of the membership the request was allowed to write.
create or replace function tenantry_render_membership_entry()
returns trigger
language plpgsql security definer set search_path = pg_catalog, public as $$
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

create or replace trigger memberships_entry before insert or update on memberships
  for each row execute function tenantry_render_membership_entry();

-- A user's email or name is part of the entry in each of their organizations, and the
-- update that changes it re-renders them all in the same transaction, whoever makes
-- it. Who may rename whom is the application's rule (only PATCH /v1/me renames, and
-- only the caller); the database makes every rename reach every organization. The
-- re-rendering runs as tenantry_maintenance (SECURITY DEFINER), whose policy on
-- memberships covers every organization: as the caller it would see only the
-- memberships its own policies show and silently skip the rest.
create or replace function tenantry_rerender_user_entries()
returns trigger
language plpgsql security definer set search_path = pg_catalog, public as $$
begin
  update memberships set entry = null where user_id = new.id;
  return null;
end $$;

-- Owned by tenantry_maintenance so that it runs as that role. Changing the owner needs
-- the new owner to be able to create in the schema, for this statement only.
grant create on schema public to tenantry_maintenance;
alter function tenantry_rerender_user_entries() owner to tenantry_maintenance;
revoke create on schema public from tenantry_maintenance;
revoke execute on function tenantry_rerender_user_entries() from public;

create or replace trigger users_member_entries after update of email, name on users
  for each row when (old.email is distinct from new.email or old.name is distinct from new.name)
  execute function tenantry_rerender_user_entries();
