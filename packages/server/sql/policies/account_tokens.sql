-- Row-level security on account_tokens: this file is the table's whole set of policies.
select tenantry_reset_policies('account_tokens');

-- The hash of the token the request presents, set transaction-locally by the code that
-- consumes a token. A token row is reachable by whoever presents the token itself (its
-- hash cannot be read without knowing the token) or by its own user.
create or replace function tenantry_presented_token() returns bytea
language sql stable parallel safe as
$$ select decode(nullif(current_setting('app.presented_token', true), ''), 'hex') $$;

-- tenantry_user as the token's user: issues tokens for itself and uses up its own.
create policy account_tokens_own_insert on account_tokens for insert to tenantry_user
  with check (user_id = (select tenantry_user_id()));
create policy account_tokens_own_select on account_tokens for select to tenantry_user
  using (user_id = (select tenantry_user_id()));
create policy account_tokens_own_update on account_tokens for update to tenantry_user
  using (user_id = (select tenantry_user_id()))
  with check (user_id = (select tenantry_user_id()));

-- tenantry_user presenting a token (no user known yet): that one row, to use it once.
create policy account_tokens_presented_select on account_tokens for select to tenantry_user
  using (token_hash = (select tenantry_presented_token()));
create policy account_tokens_presented_update on account_tokens for update to tenantry_user
  using (token_hash = (select tenantry_presented_token()))
  with check (token_hash = (select tenantry_presented_token()));
