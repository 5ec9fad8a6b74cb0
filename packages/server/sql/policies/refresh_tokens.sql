-- Row-level security on refresh_tokens (enabled, not forced). This file is the table's
-- whole set of policies. No request role reads a hash (they are looked up through
-- tenantry_refresh_token(), sql/credentials.sql); a token may be added only to a
-- session the caller sees under sessions' own policies, so no context can plant a
-- token of its own in another account's session.
select tenantry_reset_policies('refresh_tokens');

create policy refresh_tokens_own_session on refresh_tokens for insert to tenantry_user, tenantry_app
  with check (exists (select 1 from sessions s where s.id = session_id and s.user_id = (select tenantry_user_id())));
