-- Platform tools (SPEC §10): the platform's other services, registered once by platform
-- admins (the registry is global), enabled per organization (a tenant table), and
-- authenticated as OAuth clients by their credentials.

-- The registry. `audience` is the RFC 8707 resource that names the tool; `scopes` is its
-- catalogue: [{name, description, shareable, requires}].
create table tools (
  id uuid primary key,
  slug text not null unique,
  name text not null,
  description text not null default '',
  client_id text not null unique,
  audience text not null unique,
  status text not null default 'active' check (status in ('active', 'disabled')),
  scopes jsonb not null default '[]' check (jsonb_typeof(scopes) = 'array'),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

-- A tool's credentials: a client secret (stored only as its SHA-256: a 256-bit random
-- secret needs no slow hash) or the JWKS whose keys sign its private_key_jwt assertions.
create table tool_credentials (
  id uuid primary key,
  tool_id uuid not null references tools (id) on delete cascade,
  type text not null check (type in ('client_secret', 'private_key_jwt')),
  secret_hash bytea,
  hint text not null,
  jwks jsonb,
  created_at timestamptz not null default now(),
  last_used_at timestamptz,
  expires_at timestamptz,
  revoked_at timestamptz,
  check ((type = 'client_secret') = (secret_hash is not null)),
  check ((type = 'private_key_jwt') = (jwks is not null))
);
create index tool_credentials_tool_id_idx on tool_credentials (tool_id) where revoked_at is null;

-- The `jti`s of private_key_jwt assertions already used (RFC 7523 §3: single use), kept
-- until the assertion would have expired anyway.
create table tool_assertion_jtis (
  tool_id uuid not null references tools (id) on delete cascade,
  jti text not null,
  expires_at timestamptz not null,
  primary key (tool_id, jti)
);
create index tool_assertion_jtis_expiry on tool_assertion_jtis (expires_at);

-- Enablement: which tools an organization uses, with the scopes it grants each.
create table organization_tools (
  organization_id uuid not null references organizations (id),
  tool_id uuid not null references tools (id),
  status text not null default 'active' check (status in ('active', 'disabled')),
  scopes text[] not null default '{}',
  enabled_by uuid references users (id) on delete set null,
  enabled_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (organization_id, tool_id)
);
-- A tool's own enablements across organizations (discovery, GET /v1/tool/organizations).
create index organization_tools_tool_id_idx on organization_tools (tool_id, organization_id);

alter table organization_tools enable row level security;
alter table organization_tools force row level security;

-- The platform's own log: registry acts (tool.*), which belong to no organization.
create table platform_audit_events (
  id uuid primary key,
  actor_type text not null check (actor_type in ('user', 'platform_admin', 'system', 'tool', 'api_key')),
  actor_id uuid,
  action text not null,
  target_type text,
  target_id text,
  data jsonb not null default '{}',
  ip text,
  request_id text,
  occurred_at timestamptz not null default now()
);

-- Tools and API keys act in organizations' logs too.
alter table audit_events drop constraint audit_events_actor_type_check;
alter table audit_events add constraint audit_events_actor_type_check
  check (actor_type in ('user', 'platform_admin', 'system', 'tool', 'api_key'));

-- Grants, least privilege (as migrations/011_least_privilege.sql).
-- The registry holds no secret: every request role reads it (the catalogue, enablement,
-- the tool context); only platform admins' role writes it.
grant select on tools to tenantry_app, tenantry_user, tenantry_platform;
grant insert, update (slug, name, description, audience, status, scopes, updated_at) on tools to tenantry_platform;

-- Credentials: platform admins add, list and revoke them, never reading a hash back. The
-- token endpoint (tenantry_user, on nobody's behalf) reads the hashes only through
-- tenantry_tool_client() (sql/tools.sql) and marks a credential used.
grant select (id, tool_id, type, hint, jwks, created_at, last_used_at, expires_at, revoked_at) on tool_credentials to tenantry_platform;
grant insert (id, tool_id, type, secret_hash, hint, jwks, expires_at) on tool_credentials to tenantry_platform;
grant update (revoked_at) on tool_credentials to tenantry_platform;
grant select (id, last_used_at) on tool_credentials to tenantry_user;
grant update (last_used_at) on tool_credentials to tenantry_user;

-- Used assertion ids: recorded and expired by the token endpoint.
grant select, insert, delete on tool_assertion_jtis to tenantry_user;

-- Enablement: an organization's admins in its tenant context; a tool reads its own
-- enablements across organizations in user mode (sql/policies/organization_tools.sql).
grant select, insert on organization_tools to tenantry_app;
grant update (status, scopes, enabled_by, enabled_at, updated_at) on organization_tools to tenantry_app;
grant select on organization_tools to tenantry_user;

-- The platform log: written and read by platform admins' role only.
grant select, insert on platform_audit_events to tenantry_platform;
