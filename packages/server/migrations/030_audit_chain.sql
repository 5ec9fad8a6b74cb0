-- A tamper-evident audit log: each organization's events form a hash chain, and signed
-- checkpoints record where the chain stood. The chaining itself (a trigger) and the
-- chaining of events written before this migration live in sql/audit-chain.sql.

-- An event's place in its organization's chain (1, 2, ...), its predecessor's hash and
-- its own. Null only until sql/audit-chain.sql has chained the events already there.
alter table audit_events
  add column chain_seq bigint,
  add column prev_hash bytea,
  add column hash bytea;
create unique index audit_events_chain_idx on audit_events (organization_id, chain_seq);

-- The end of each organization's chain. The trigger locks this row to link an event, so
-- two transactions writing in one organization take turns, and the chain follows commit order.
create table audit_chain_heads (
  organization_id uuid not null references organizations (id),
  seq bigint not null default 0,
  last_event_id uuid,
  -- The head before the last link, so the trigger learns it from the same UPDATE.
  prev_hash bytea,
  hash bytea,
  primary key (organization_id)
);
alter table audit_chain_heads enable row level security;
alter table audit_chain_heads force row level security;
grant select, insert, update on audit_chain_heads to tenantry_app;

-- Ed25519 keys that sign checkpoints. Separate from signing_keys (the access-token keys):
-- a checkpoint must stay verifiable for as long as the log is kept, long after a token
-- key has left the JWKS, and a key that signs tokens signs nothing else. Read and
-- written as the connecting user, like signing_keys: the application role has no grant.
create table audit_signing_keys (
  kid text primary key,
  public_jwk jsonb not null,
  private_pkcs8 text not null,
  created_at timestamptz not null default now(),
  retired_at timestamptz
);
create unique index audit_signing_keys_one_current on audit_signing_keys ((true)) where retired_at is null;

-- A signed statement that the organization's chain had `hash` at event `last_event_id`
-- (its `chain_seq`-th event) at `signed_at`.
create table audit_checkpoints (
  organization_id uuid not null references organizations (id),
  chain_seq bigint not null,
  last_event_id uuid not null,
  hash bytea not null,
  signed_at timestamptz not null,
  kid text not null references audit_signing_keys (kid),
  signature bytea not null,
  primary key (organization_id, chain_seq)
);
alter table audit_checkpoints enable row level security;
alter table audit_checkpoints force row level security;
grant select, insert on audit_checkpoints to tenantry_app;

-- Chaining the events written before this migration runs as tenantry_maintenance, bound by
-- row-level security like the request roles (sql/policies/audit_events.sql lets it
-- touch only events not yet chained).
grant select, update (occurred_at, chain_seq, prev_hash, hash) on audit_events to tenantry_maintenance;
grant select, insert, update on audit_chain_heads to tenantry_maintenance;
