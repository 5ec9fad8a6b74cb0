-- Rotates an endpoint's signing secret: the current one keeps signing next to the new
-- one for p_grace_seconds. With the owner's rights and a pinned search_path, because
-- its callers may write a secret but read none (migrations/081_webhook_secrets.sql,
-- 085_tool_events.sql). Running as the owner skips row-level security, so the function
-- itself keeps to what the calling request role may see: a platform admin any endpoint,
-- a tool (tenantry_user with the tool set) its own. False when there is no such endpoint.
create or replace function tenantry_rotate_webhook_secret(p_id uuid, p_secret text, p_grace_seconds integer)
returns boolean
language sql volatile security definer set search_path = pg_catalog, public as $$
  with rotated as (
    update public.webhook_endpoints
    set previous_secret = secret,
        previous_secret_expires_at = now() + make_interval(secs => p_grace_seconds),
        secret = p_secret,
        updated_at = now()
    where id = p_id
      and (current_setting('role') = 'tenantry_platform'
           or (current_setting('role') = 'tenantry_user' and tool_id = public.tenantry_tool_id()))
    returning 1)
  select exists (select 1 from rotated)
$$;

revoke execute on function tenantry_rotate_webhook_secret(uuid, text, integer) from public;
grant execute on function tenantry_rotate_webhook_secret(uuid, text, integer) to tenantry_platform, tenantry_user;
