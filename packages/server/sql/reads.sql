-- The hottest reads, a page of an organization's members and the organization itself,
-- run as one statement each: the function enters the tenant context
-- (tenantry_enter_read) and, only for a caller who may see the organization at all,
-- reads under the request role's row-level security. One statement is one round trip
-- in its own implicit transaction, at whose end the role and the settings revert. The
-- application applies the permission table to the returned context before it sends
-- anything. Each returns one row: the caller's context, and what it read, which is
-- null unless may_see.

-- Members after p_after (null: from the first), by user id. data is the JSON array of
-- the memberships' stored entries (sql/member-entry.sql); next_after is the last user id
-- on the page when more members follow.
--
-- A page reads one more entry than it returns, in user id order (ARRAY() keeps the
-- subquery's order, with no sort: the primary key's index gives it). When that extra
-- entry exists, the cursor is the user id of the page's last entry, read from the same
-- snapshot as the page.
create or replace function tenantry_members_page(p_org uuid, p_user uuid, p_session uuid, p_after uuid, p_limit int)
returns table (member_role text, org_status text, platform_role text, session_live boolean, may_see boolean,
               data text, next_after uuid)
language plpgsql volatile as $$
declare
  c tenantry_caller;
  entries text[];
begin
  c := tenantry_enter_read(p_org, p_user, p_session);
  -- The caller's context, as the first columns of the row returned.
  member_role := c.member_role; org_status := c.org_status; platform_role := c.platform_role;
  session_live := c.session_live; may_see := c.may_see;
  if c.may_see then
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
  return next; -- one row, with no statement of its own (unlike RETURN QUERY)
end $$;

-- The organization, with the columns of the API's organization (ORGANIZATION_COLUMNS).
create or replace function tenantry_organization(p_org uuid, p_user uuid, p_session uuid)
returns table (member_role text, org_status text, platform_role text, session_live boolean, may_see boolean,
               id uuid, name text, slug text, industry text, size text, domains text[], status text,
               metadata jsonb, created_at timestamptz, updated_at timestamptz)
language plpgsql volatile as $$
declare
  c tenantry_caller;
begin
  c := tenantry_enter_read(p_org, p_user, p_session);
  -- The caller's context, as the first columns of the row returned.
  member_role := c.member_role; org_status := c.org_status; platform_role := c.platform_role;
  session_live := c.session_live; may_see := c.may_see;
  if c.may_see then
    select o.id, o.name, o.slug, o.industry, o.size, o.domains, o.status, o.metadata, o.created_at, o.updated_at
      into id, name, slug, industry, size, domains, status, metadata, created_at, updated_at
      from organizations o where o.id = p_org;
  end if;
  return next;
end $$;

-- The same two reads for an organization API key: tenantry_enter_api_key (sql/api-keys.sql)
-- enters the key's context, as a statement of its own, and its columns come first in the
-- row returned; the read happens only for a key that may make it
-- (tenantry_api_key_may_read). The key's state is read fresh here, under the
-- organization's row-level security, so a key revoked or expired a moment ago reads
-- nothing from its next request on, and a key of another organization is not found.
-- What each reads is the same as the user's read above.
create or replace function tenantry_members_page_as_key(p_org uuid, p_key uuid, p_after uuid, p_limit int)
returns table (org_status text, key_live boolean, scopes text[], tool_id uuid, expires_at timestamptz, may_see boolean,
               data text, next_after uuid)
language plpgsql volatile as $$
declare
  entries text[];
begin
  select e.org_status, e.key_live, e.scopes, e.tool_id, e.expires_at
    into org_status, key_live, scopes, tool_id, expires_at
    from tenantry_enter_api_key(p_org, p_key) e;
  may_see := tenantry_api_key_may_read(key_live, org_status, tool_id, scopes, 'members:read');
  if may_see then
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

create or replace function tenantry_organization_as_key(p_org uuid, p_key uuid)
returns table (org_status text, key_live boolean, scopes text[], tool_id uuid, expires_at timestamptz, may_see boolean,
               id uuid, name text, slug text, industry text, size text, domains text[], status text,
               metadata jsonb, created_at timestamptz, updated_at timestamptz)
language plpgsql volatile as $$
begin
  select e.org_status, e.key_live, e.scopes, e.tool_id, e.expires_at
    into org_status, key_live, scopes, tool_id, expires_at
    from tenantry_enter_api_key(p_org, p_key) e;
  may_see := tenantry_api_key_may_read(key_live, org_status, tool_id, scopes, 'organization:read');
  if may_see then
    select o.id, o.name, o.slug, o.industry, o.size, o.domains, o.status, o.metadata, o.created_at, o.updated_at
      into id, name, slug, industry, size, domains, status, metadata, created_at, updated_at
      from organizations o where o.id = p_org;
  end if;
  return next;
end $$;
