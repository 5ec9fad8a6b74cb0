-- Invitations and the email outbox.

create table invitations (
  organization_id uuid not null references organizations (id),
  id uuid not null,
  email text not null,
  role text not null check (role in ('owner', 'admin', 'member', 'viewer')),
  token_hash bytea not null unique,
  invited_by uuid references users (id) on delete set null,
  -- 'expired' is written when a newer invitation replaces a lapsed one; reads also
  -- report a pending invitation past expires_at as expired.
  status text not null default 'pending' check (status in ('pending', 'accepted', 'revoked', 'expired')),
  expires_at timestamptz not null,
  created_at timestamptz not null default now(),
  accepted_at timestamptz,
  accepted_by uuid references users (id) on delete set null,
  revoked_at timestamptz,
  primary key (organization_id, id)
);
-- At most one pending invitation per email and organization.
create unique index invitations_one_pending on invitations (organization_id, email) where status = 'pending';

alter table invitations enable row level security;
alter table invitations force row level security;
create policy invitations_tenant on invitations for all to tenantry_app
  using (organization_id = (select tenantry_org_id()))
  with check (organization_id = (select tenantry_org_id()));
grant select, insert, update on invitations to tenantry_app;

-- Outgoing email, written in the transaction of the change that causes it and
-- delivered by a background worker (FOR UPDATE SKIP LOCKED: one sender per message).
create table email_outbox (
  id uuid primary key,
  recipient text not null,
  subject text not null,
  -- The bodies hold a one-time link; they are erased once the message is sent.
  text_body text,
  html_body text,
  attempts integer not null default 0,
  next_attempt_at timestamptz not null default now(),
  last_error text,
  sent_at timestamptz,
  failed_at timestamptz,
  created_at timestamptz not null default now()
);
create index email_outbox_due_idx on email_outbox (next_attempt_at) where sent_at is null and failed_at is null;
grant select, insert, update on email_outbox to tenantry_app;
