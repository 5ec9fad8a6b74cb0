-- The answers of creating requests sent with an Idempotency-Key, kept for 24 h so a retry
-- gets the original answer instead of creating again. A record is written in the same
-- transaction as the change it answers: a commit whose reply was lost still has its record.
-- Global (a principal's keys are theirs in every organization), so its rows are guarded by
-- the principal, not by a tenant.
create table idempotency_records (
  principal text not null,
  idempotency_key text not null,
  request_hash text not null,
  status smallint not null,
  response jsonb not null,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  primary key (principal, idempotency_key)
);
create index idempotency_records_expiry on idempotency_records (expires_at);

alter table idempotency_records enable row level security;
alter table idempotency_records force row level security;

-- Its policies: sql/policies/idempotency_records.sql.
grant select, insert, update, delete on idempotency_records to tenantry_app, tenantry_user, tenantry_platform;
