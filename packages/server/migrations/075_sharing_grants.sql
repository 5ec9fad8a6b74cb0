-- Sharing grants (SPEC §10): in one organization, one tool (the consumer) may use some
-- of another tool's (the provider's) shareable scopes. A tenant table: an organization's
-- owners create, list and revoke its grants, and the token endpoint reads them in the
-- organization's context when a consumer asks for a token at the provider's audience.
create table sharing_grants (
  organization_id uuid not null references organizations (id),
  id uuid not null,
  provider_tool_id uuid not null references tools (id),
  consumer_tool_id uuid not null references tools (id),
  scopes text[] not null check (cardinality(scopes) > 0),
  purpose text not null,
  -- `expired` is stored once a lapsed grant makes way for a new one; until then a grant
  -- past expires_at is still `active` here and answered as expired.
  status text not null default 'active' check (status in ('active', 'revoked', 'suspended', 'expired')),
  granted_by uuid references users (id) on delete set null,
  created_at timestamptz not null default now(),
  expires_at timestamptz,
  revoked_at timestamptz,
  suspended_at timestamptz,
  -- When a token issued under the grant was last audited (sharing_grant.token_issued, at
  -- most once per window): claimed by a conditional update, so concurrent issuances on any
  -- number of instances audit once.
  token_audited_at timestamptz,
  primary key (organization_id, id),
  check (provider_tool_id <> consumer_tool_id),
  check (expires_at is null or expires_at > created_at)
);

-- One active grant per provider and consumer in an organization; it is also how the token
-- endpoint finds the grant.
create unique index sharing_grants_one_active on sharing_grants (organization_id, provider_tool_id, consumer_tool_id)
  where status = 'active';
-- Disabling a tool suspends the grants where it is the consumer as well as the provider.
create index sharing_grants_consumer on sharing_grants (organization_id, consumer_tool_id) where status = 'active';

alter table sharing_grants enable row level security;
alter table sharing_grants force row level security;

-- Its policies: sql/policies/sharing_grants.sql. Only requests in the organization's
-- context (tenantry_app) touch grants; nothing deletes one (revoked grants stay, for the
-- record), and only the state columns ever change.
grant select, insert on sharing_grants to tenantry_app;
grant update (status, revoked_at, suspended_at, token_audited_at) on sharing_grants to tenantry_app;
