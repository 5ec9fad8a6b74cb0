-- The hottest reads, a page of an organization's members and the organization itself,
-- run as one statement each: the function enters the tenant context (tenantry_enter)
-- and, only for a caller who may see the organization at all, reads under the
-- application role's row-level security. One statement is one round trip in its own
-- implicit transaction, at whose end the role and the settings revert. The application
-- applies the permission table to the returned context before it sends anything.

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

-- Each function returns one row: the caller's context, may_see (the guard above), and
-- what it read, which is null unless may_see.

-- Members after p_after (null: from the first), by user id. data is the page's JSON
-- array; next_after is the last user id on the page when more members follow.
create function tenantry_members_page(p_org uuid, p_user uuid, p_session uuid, p_after uuid, p_limit int)
returns table (member_role text, org_status text, platform_role text, session_live boolean, may_see boolean,
               data text, next_after uuid)
language plpgsql volatile as $$
declare
  e record;
  last_id uuid;
begin
  select * into e from tenantry_enter(p_org, p_user, p_session);
  member_role := e.member_role;
  org_status := e.org_status;
  platform_role := e.platform_role;
  session_live := e.session_live;
  may_see := tenantry_caller_may_see(e.member_role, e.org_status, e.platform_role, e.session_live);
  if may_see then
    -- ">= lower bound, and not the cursor itself" keeps one index range condition for
    -- both the first page and the next ones. The subquery's columns are the API's
    -- member fields: json_agg renders each row as an object with those keys.
    select coalesce(json_agg(p order by p.user_id), '[]')::text, (array_agg(p.user_id order by p.user_id desc))[1]
      into data, last_id
      from (select m.user_id, u.email, u.name, m.role, tenantry_iso(m.created_at) as joined_at
            from memberships m
            join users u on u.id = m.user_id
            where m.organization_id = p_org
              and m.user_id >= coalesce(p_after, '00000000-0000-0000-0000-000000000000'::uuid)
              and m.user_id is distinct from p_after
            order by m.user_id
            limit p_limit) p;
    if exists (select 1 from memberships m where m.organization_id = p_org and m.user_id > last_id) then
      next_after := last_id;
    end if;
  end if;
  return next;
end $$;

-- The organization, with the columns of the API's organization (ORGANIZATION_COLUMNS).
create function tenantry_organization(p_org uuid, p_user uuid, p_session uuid)
returns table (member_role text, org_status text, platform_role text, session_live boolean, may_see boolean,
               id uuid, name text, slug text, industry text, size text, domains text[], status text,
               metadata jsonb, created_at timestamptz, updated_at timestamptz)
language plpgsql volatile as $$
declare
  e record;
begin
  select * into e from tenantry_enter(p_org, p_user, p_session);
  return query
    select e.member_role, e.org_status, e.platform_role, e.session_live, v.ok,
           o.id, o.name, o.slug, o.industry, o.size, o.domains, o.status, o.metadata, o.created_at, o.updated_at
    from (select tenantry_caller_may_see(e.member_role, e.org_status, e.platform_role, e.session_live) as ok) v
    left join organizations o on v.ok and o.id = p_org;
end $$;
