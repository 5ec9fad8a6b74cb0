-- The hottest read, a page of an organization's members, runs as one statement: the
-- function enters the tenant context (tenantry_enter) and, only for a caller who may
-- see the organization at all, reads the page under the application role's row-level
-- security and renders it as JSON. One statement is one round trip in its own implicit
-- transaction, at whose end the role and the settings revert. The application applies
-- the permission table to the returned context before it sends the page.

-- Who may see an organization at all: a live session, and a member of an organization
-- that is not archived, or a platform admin. The application's gate decides the same
-- first (404), then suspension and permission (403).
create function tenantry_caller_may_see(p_member_role text, p_org_status text, p_platform_role text, p_session_live boolean)
returns boolean
language sql immutable as $$
  select coalesce(p_session_live and p_org_status is not null
     and ((p_member_role is not null and p_org_status <> 'archived') or p_platform_role = 'platform_admin'), false)
$$;

-- The API's timestamp form: ISO 8601 in UTC with milliseconds, as JavaScript's toISOString.
create function tenantry_iso(p_at timestamptz)
returns text
language sql stable as $$
  select to_char(p_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
$$;

-- Members after p_after (null: from the first), by user id. data is the page's JSON
-- array; next_after is the last user id on the page when more members follow.
create function tenantry_members_page(p_org uuid, p_user uuid, p_session uuid, p_after uuid, p_limit int)
returns table (member_role text, org_status text, platform_role text, session_live boolean, data text, next_after uuid)
language plpgsql volatile as $$
declare
  e record;
begin
  select * into e from tenantry_enter(p_org, p_user, p_session);
  member_role := e.member_role;
  org_status := e.org_status;
  platform_role := e.platform_role;
  session_live := e.session_live;
  if tenantry_caller_may_see(e.member_role, e.org_status, e.platform_role, e.session_live) then
    -- ">= lower bound, and not the cursor itself" keeps one index range condition for
    -- both the first page and the next ones.
    with page as (
      select m.user_id, m.role, m.created_at, row_number() over (order by m.user_id) as n
      from memberships m
      where m.organization_id = p_org
        and m.user_id >= coalesce(p_after, '00000000-0000-0000-0000-000000000000'::uuid)
        and m.user_id is distinct from p_after
      order by m.user_id
      limit p_limit + 1
    )
    select coalesce(json_agg(json_build_object('user_id', p.user_id, 'email', u.email, 'name', u.name,
                                               'role', p.role, 'joined_at', tenantry_iso(p.created_at))
                             order by p.n) filter (where p.n <= p_limit), '[]')::text,
           case when count(*) > p_limit then (array_agg(p.user_id order by p.n desc) filter (where p.n <= p_limit))[1] end
      into data, next_after
      from page p join users u on u.id = p.user_id;
  end if;
  return next;
end $$;
