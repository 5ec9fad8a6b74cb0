-- A refresh, in one statement (the refresh grant, src/modules/oauth/grants/refresh-token.ts):
-- enters the anonymous context, uses the presented refresh token once, stores its successor,
-- and, when the session is (or is being) scoped to an organization, enters that organization
-- as the session's user and reports the membership there, moving the session's scope when a
-- new organization was asked for. Before, the same work took five statements after BEGIN.
--
-- The conditional UPDATE lets exactly one of two concurrent presentations win; presenting a
-- token already used ends the whole session ('reused'). The caller decides from what is
-- returned, in the same transaction: a refusal (another client, the rate limit, no longer a
-- member) rolls back, and the presented token stays usable.
--
-- kind: 'rotated', 'reused' or 'invalid' (unknown token, or a session that has ended).
-- session_org: the organization the session was scoped to before this refresh.
-- member_role, org_status, platform_role, session_live: tenantry_enter's report in the target
-- organization (p_org, else session_org); null when there is none.
create or replace function tenantry_rotate_refresh_token(p_hash bytea, p_next_hash bytea, p_org uuid)
returns table (kind text, sid uuid, uid uuid, cid text, session_org uuid,
               member_role text, org_status text, platform_role text, session_live boolean)
language plpgsql volatile as $$
declare
  v_used boolean;
  v_live boolean;
  v_target uuid;
  c tenantry_caller;
begin
  -- No request role reads refresh_tokens: the presented hash is used up through
  -- tenantry_refresh_token() (sql/credentials.sql), and the transaction then becomes the
  -- session's user, whose own session rows are all it may see (sql/policies/sessions.sql).
  perform tenantry_enter(null, null, null);
  select t.session_id, t.user_id, t.used_now into sid, uid, v_used from tenantry_refresh_token(p_hash, true) t;
  if not found then
    kind := 'invalid';
    return next;
    return;
  end if;
  perform tenantry_enter(null, uid, null);
  select s.client_id, s.active_organization_id, s.revoked_at is null and s.expires_at > now()
    into cid, session_org, v_live
    from sessions s where s.id = sid for update;
  if not v_used then
    if v_live then
      update sessions s set revoked_at = now(), revoked_reason = 'refresh_token_reuse'
       where s.id = sid and s.revoked_at is null;
    end if;
    kind := 'reused';
    return next;
    return;
  end if;
  if not v_live then
    kind := 'invalid';
    return next;
    return;
  end if;
  insert into refresh_tokens (token_hash, session_id) values (p_next_hash, sid);
  kind := 'rotated';
  v_target := coalesce(p_org, session_org);
  if v_target is not null then
    c := tenantry_enter_read(v_target, uid, null);
    member_role := c.member_role;
    org_status := c.org_status;
    platform_role := c.platform_role;
    session_live := c.session_live;
    if v_target is distinct from session_org then
      update sessions s set active_organization_id = v_target where s.id = sid;
    end if;
  end if;
  return next;
end $$;
