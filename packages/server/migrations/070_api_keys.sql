-- Organization API keys (SPEC §10): `tnty_<key id>_<secret><checksum>`, for scripts and
-- tools that hold one key per organization. A tenant table: the key acts in its own
-- organization only.

-- `key_id` is the key's public part (16 base62 characters), by which a presented key is
-- found; `key_hash` the HMAC-SHA-256 of the whole key under the server's secret (never
-- the key itself); `start` the first characters, which listings show. `tool_id` is the
-- tool whose audience the key is for (null: Tenantry's API and any enabled tool).
-- `replaced_by` links a rotated key to its successor.
create table api_keys (
  organization_id uuid not null references organizations (id),
  id uuid not null,
  key_id text not null check (key_id ~ '^[0-9A-Za-z]{16}$'),
  key_hash bytea not null check (octet_length(key_hash) = 32),
  start text not null,
  name text not null,
  scopes text[] not null default '{}',
  tool_id uuid references tools (id),
  created_by uuid references users (id) on delete set null,
  created_at timestamptz not null default now(),
  expires_at timestamptz,
  last_used_at timestamptz,
  revoked_at timestamptz,
  replaced_by uuid,
  primary key (organization_id, id)
);
-- A presented key is found by its key id alone (it does not name its organization).
create unique index api_keys_key_id on api_keys (key_id);

alter table api_keys enable row level security;
alter table api_keys force row level security;

-- The server secret the key hashes are keyed with, when API_KEY_SECRET is not set: made
-- once and kept here, like the signing keys. Global; no request role has any privilege.
create table api_key_secrets (
  id smallint primary key default 1 check (id = 1),
  secret bytea not null check (octet_length(secret) >= 32),
  created_at timestamptz not null default now()
);
revoke all on api_key_secrets from public;

-- tenantry_keyring finds a presented key by its key id across organizations, through
-- tenantry_api_key_of() only (sql/api-keys.sql), which it owns. Like the request roles
-- it owns no table and cannot bypass row-level security; its policy is in
-- sql/policies/api_keys.sql.
do $$
begin
  if not exists (select 1 from pg_roles where rolname = 'tenantry_keyring') then
    create role tenantry_keyring nologin nosuperuser nocreatedb nocreaterole nobypassrls;
  end if;
exception when duplicate_object or unique_violation then null;
end $$;
grant tenantry_keyring to current_user;
grant usage on schema public to tenantry_keyring;
grant select (organization_id, id, key_id, key_hash, tool_id, revoked_at, expires_at) on api_keys to tenantry_keyring;

-- Least privilege for the request role of an organization: its admins create, list,
-- revoke and rotate keys, and a key's own requests mark it used. It writes a key's hash
-- once, when creating it, and never reads one back: a presented key is compared by
-- tenantry_api_key_of().
grant select (organization_id, id, key_id, start, name, scopes, tool_id, created_by, created_at, expires_at,
              last_used_at, revoked_at, replaced_by) on api_keys to tenantry_app;
grant insert (organization_id, id, key_id, key_hash, start, name, scopes, tool_id, created_by, expires_at) on api_keys to tenantry_app;
grant update (expires_at, last_used_at, revoked_at, replaced_by) on api_keys to tenantry_app;
