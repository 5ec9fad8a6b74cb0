-- The account lifecycle: email verification, password reset and email change, each
-- proved by a token emailed to the address in question.

alter table users add column email_verified_at timestamptz;

-- One row per emailed token, stored only as the SHA-256 of the token. Per user, not per
-- tenant. `email` is the address the token was sent to (the account's address for
-- verification and reset, the new address for a change): a token proves that mailbox
-- only, so it acts only while that address is still the one it was issued for.
create table account_tokens (
  token_hash bytea primary key,
  user_id uuid not null references users (id) on delete cascade,
  purpose text not null check (purpose in ('verify_email', 'reset_password', 'change_email')),
  email text not null,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  used_at timestamptz
);
create index account_tokens_user_id_idx on account_tokens (user_id) where used_at is null;

-- Request roles reach it only through the policies of sql/policies/account_tokens.sql.
alter table account_tokens enable row level security;
alter table account_tokens force row level security;
grant select, insert on account_tokens to tenantry_user;
grant update (used_at) on account_tokens to tenantry_user;

-- Column grants, as migrations/011_least_privilege.sql gives them: whether an address is
-- verified is part of a profile; user mode (tenantry_user) verifies it, switches the
-- address once a change is verified, and deletes its own account.
grant select (email_verified_at) on users to tenantry_app, tenantry_user, tenantry_platform;
grant update (email, email_verified_at) on users to tenantry_user;
grant delete on users to tenantry_user;
