-- A refresh, in one autocommit statement (the refresh grant, src/modules/oauth/grants/refresh-token.ts):
-- enters the anonymous context, finds the session of the presented refresh token, decides
-- every refusal from reads alone, and only then uses the token once, stores its successor and
-- moves the session's scope when a new organization was asked for. Nothing is written before
-- a refusal is known, so no refusal needs a rollback: a refused refresh leaves the presented
-- token usable, and the statement needs no BEGIN and no COMMIT round trip around it.
--
-- The session's row is locked first, so refreshes of one session take their turns. The
-- conditional UPDATE of tenantry_refresh_token() lets exactly one of two presentations of a
-- token win; a token used before is theft ('reused'), which wins over every refusal. The
-- statement that finds the theft also ends the session, so no crash can come between the two;
-- the caller then tells the session's organization (its audit event and event row).
--
-- p_session: the session the token names (tokens issued before they named one: null).
-- p_client: the client the server issues tokens for; another session's client is refused.
-- p_limited: whether the session's refresh limit was found spent before this statement.
-- p_org: the organization asked for, else the session's own (when it has one).
-- p_audience: the tool (RFC 8707 resource) the access token is to be for; null for the API.
--
-- kind: 'rotated'; 'reused'; 'invalid' (unknown token, or a session that has ended); or a
-- refusal that used nothing: 'wrong_client', 'rate_limited', 'not_member', 'suspended',
-- 'invalid_target'.
-- session_org: the organization the session was scoped to before this refresh.
-- target_org, member_role: the organization the new token is scoped to and the user's role
-- there (rotated only; null without an organization).
-- The three-argument form ran inside BEGIN ... COMMIT and left the refusals to the caller.
drop function if exists tenantry_rotate_refresh_token(bytea, bytea, uuid);

create or replace function tenantry_rotate_refresh_token(p_hash bytea, p_next_hash bytea, p_session uuid, p_client text,
                                                         p_limited boolean, p_org uuid, p_audience text)
returns table (kind text, sid uuid, uid uuid, session_org uuid, target_org uuid, member_role text)
language plpgsql volatile as $$
declare
  v_client text;
  v_live boolean;
  v_used boolean;
  v_refusal text;
  v_in_org boolean := false;
  c tenantry_caller;
begin
  -- No request role reads refresh_tokens: the presented hash is looked up and used through
  -- tenantry_refresh_token() (sql/credentials.sql), and the transaction then becomes the
  -- session's user, whose own session rows are all it may see (sql/policies/sessions.sql).
  perform tenantry_enter(null, null, null);
  select t.session_id, t.user_id into sid, uid from tenantry_refresh_token(p_hash, false) t;
  if not found or sid is distinct from coalesce(p_session, sid) then
    kind := 'invalid';
    return next;
    return;
  end if;
  perform tenantry_enter(null, uid, null);
  select s.client_id, s.active_organization_id, s.revoked_at is null and s.expires_at > now()
    into v_client, session_org, v_live
    from sessions s where s.id = sid for update;
  target_org := coalesce(p_org, session_org);

  -- The refusals, in the order the grant has always applied them.
  if not v_live then
    v_refusal := 'invalid';
  elsif v_client is distinct from p_client then
    v_refusal := 'wrong_client';
  elsif p_limited then
    v_refusal := 'rate_limited';
  elsif target_org is not null then
    -- The scope a token may carry there: tokenScope() (src/modules/access/gate.ts).
    c := tenantry_enter_read(target_org, uid, null);
    v_in_org := true;
    if c.member_role is null or c.org_status is null or c.org_status = 'archived' then
      v_refusal := 'not_member';
    elsif c.org_status = 'suspended' then
      v_refusal := 'suspended';
    end if;
    member_role := c.member_role;
  end if;
  -- A token for a tool: only one the organization has enabled (read in its context, as the user).
  if v_refusal is null and p_audience is not null and (target_org is null or not exists (
       select 1 from tools t join organization_tools ot on ot.tool_id = t.id
        where t.audience = p_audience and t.status = 'active'
          and ot.organization_id = target_org and ot.status = 'active')) then
    v_refusal := 'invalid_target';
  end if;
  if v_in_org then
    perform tenantry_enter(null, uid, null); -- back from the organization: the token is used as the user
  end if;

  if v_refusal is not null then
    -- Refused, unless the token was used before: that is theft whatever else is wrong. Using
    -- it is the only way to tell, so that happens in a subtransaction undone at once.
    begin
      select t.used_now into v_used from tenantry_refresh_token(p_hash, true) t;
      raise sqlstate 'TR001';
    exception when sqlstate 'TR001' then
      null;
    end;
    kind := case when v_used then v_refusal else 'reused' end;
    if kind = 'reused' and v_live then
      update sessions s set revoked_at = now(), revoked_reason = 'refresh_token_reuse' where s.id = sid and s.revoked_at is null;
    end if;
    member_role := null;
    target_org := null;
    return next;
    return;
  end if;

  select t.used_now into v_used from tenantry_refresh_token(p_hash, true) t;
  if not v_used then
    update sessions s set revoked_at = now(), revoked_reason = 'refresh_token_reuse' where s.id = sid and s.revoked_at is null;
    kind := 'reused';
    member_role := null;
    target_org := null;
    return next;
    return;
  end if;
  insert into refresh_tokens (token_hash, session_id) values (p_next_hash, sid);
  if target_org is distinct from session_org then
    update sessions s set active_organization_id = target_org where s.id = sid;
  end if;
  kind := 'rotated';
  return next;
end $$;
