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

-- A request sees and writes only the records of the user it runs as (tenantry_user_id()).
create policy idempotency_records_own on idempotency_records
  for all to tenantry_app, tenantry_user, tenantry_platform
  using (principal = 'user:' || tenantry_user_id()::text)
  with check (principal = 'user:' || tenantry_user_id()::text);

-- The expiry job runs on nobody's behalf: it may find and remove expired records, and
-- nothing else (a delete whose WHERE reads the rows needs them visible to select as well).
create policy idempotency_records_expired_select on idempotency_records
  for select to tenantry_user
  using (tenantry_user_id() is null and expires_at <= now());
create policy idempotency_records_expired_delete on idempotency_records
  for delete to tenantry_user
  using (tenantry_user_id() is null and expires_at <= now());

grant select, insert, update, delete on idempotency_records to tenantry_app, tenantry_user, tenantry_platform;
