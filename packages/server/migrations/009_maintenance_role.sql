-- Functions, triggers and policies now live in sql/, one concern per file, and the
-- migrator re-applies a file whenever it changes. This migration adds what those
-- files need that is not code: a role for maintenance work, and the row type of the
-- caller's context that the one-statement reads share.

-- tenantry_maintenance re-renders stored projections (the member-list entries) across
-- every organization: the migrator switches to it for each batch of a re-render, and
-- the re-rendering after a rename runs as it. Like the request roles it owns no table
-- and cannot bypass row-level security; its reach is written out in policies (sql/policies).
do $$
begin
  if not exists (select 1 from pg_roles where rolname = 'tenantry_maintenance') then
    create role tenantry_maintenance nologin nosuperuser nocreatedb nocreaterole nobypassrls;
  end if;
exception when duplicate_object or unique_violation then null;
end $$;

grant tenantry_maintenance to current_user;
grant usage on schema public to tenantry_maintenance;
grant select on users, memberships to tenantry_maintenance;
grant update (entry) on memberships to tenantry_maintenance;

-- The re-rendering after a rename runs as tenantry_maintenance now, so user mode no
-- longer needs to write entries (sql/policies/memberships.sql drops its policy).
revoke update (entry) on memberships from tenantry_user;

-- The caller's context as a one-statement read reports it: tenantry_enter's row and
-- whether the caller may see the organization at all (tenantry_enter_read).
create type tenantry_caller as (
  member_role text,
  org_status text,
  platform_role text,
  session_live boolean,
  may_see boolean
);
