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
-- statement that finds the theft also ends the session and tells the session's organization
-- (tenantry_end_reused_session): the ending, its audit event and its event row commit
-- together, so no crash can come between them.
--
-- p_session: the session the token names (sessionNamedBy; for a token from before tokens
-- named their session, the one the caller looked up first).
-- p_client: the client the server issues tokens for; another session's client is refused.
-- p_limited: whether the session's refresh limit was found spent before this statement.
-- p_org: the organization asked for, else the session's own (when it has one).
-- p_audience: the tool (RFC 8707 resource) the access token is to be for; null for the API.
-- p_ip, p_request_id, p_audit_id, p_event_id: the request's, and the ids the audit event and
-- event row of a reuse get (UUIDv7, made by the caller as for every audit event).
--
-- kind: 'rotated'; 'reused'; 'invalid' (unknown token, or a session that has ended); or a
-- refusal that used nothing: 'wrong_client', 'rate_limited', 'not_member', 'suspended',
-- 'invalid_target'.
-- session_org: the organization the session was scoped to before this refresh.
-- target_org, member_role: the organization the new token is scoped to and the user's role
-- there (rotated only; null without an organization).
-- The three-argument form ran inside BEGIN ... COMMIT and left the refusals to the caller;
-- the seven-argument one left telling the organization of a reuse to a second transaction.
drop function if exists tenantry_rotate_refresh_token(bytea, bytea, uuid);
drop function if exists tenantry_rotate_refresh_token(bytea, bytea, uuid, text, boolean, uuid, text);

-- A used refresh token came back: ends its session (when it was still live), then, in the
-- organization the session was scoped to, records session.refresh_reuse_detected as the
-- system and, when this ended the session, its session.revoked event (the rows
-- record() and emitSessionsRevoked() write elsewhere, src/modules/audit, src/modules/events).
-- Runs as the session's user, and leaves the transaction in the organization.
create or replace function tenantry_end_reused_session(p_session uuid, p_user uuid, p_org uuid,
                                                       p_ip text, p_request_id text, p_audit_id uuid, p_event_id uuid)
returns void
language plpgsql volatile as $$
declare
  v_ended boolean;
begin
  update sessions s set revoked_at = now(), revoked_reason = 'refresh_token_reuse'
   where s.id = p_session and s.revoked_at is null and s.expires_at > now();
  v_ended := found;
  if p_org is null then
    return;
  end if;
  perform tenantry_enter(p_org, null, null);
  insert into audit_events (organization_id, id, actor_type, actor_id, action, target_type, target_id, data, ip, request_id)
  values (p_org, p_audit_id, 'system', null, 'session.refresh_reuse_detected', 'session', p_session::text,
          jsonb_build_object('user_id', p_user), p_ip, p_request_id);
  if v_ended then
    insert into events (organization_id, id, type, actor_type, actor_id, data)
    values (p_org, p_event_id, 'session.revoked', 'system', null,
            jsonb_build_object('session_id', p_session, 'user_id', p_user, 'reason', 'refresh_token_reuse'));
  end if;
end $$;

create or replace function tenantry_rotate_refresh_token(p_hash bytea, p_next_hash bytea, p_session uuid, p_client text,
                                                         p_limited boolean, p_org uuid, p_audience text,
                                                         p_ip text, p_request_id text, p_audit_id uuid, p_event_id uuid)
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
  if not found or sid is distinct from p_session then
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
    if kind = 'reused' then
      perform tenantry_end_reused_session(sid, uid, session_org, p_ip, p_request_id, p_audit_id, p_event_id);
    end if;
    member_role := null;
    target_org := null;
    return next;
    return;
  end if;

  select t.used_now into v_used from tenantry_refresh_token(p_hash, true) t;
  if not v_used then
    perform tenantry_end_reused_session(sid, uid, session_org, p_ip, p_request_id, p_audit_id, p_event_id);
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
