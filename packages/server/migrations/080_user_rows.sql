-- Least privilege on the global account tables, by row as well as by column (see
-- 011_least_privilege.sql for the columns). Row-level security is enabled, and not
-- forced: the database owner (the CLI, the bootstrap at start, the functions of
-- sql/credentials.sql) acts on every account; each request role sees only the rows
-- its work needs (sql/policies/users.sql, sessions.sql, refresh_tokens.sql).
alter table users enable row level security;
alter table sessions enable row level security;
alter table refresh_tokens enable row level security;

-- Refresh token hashes: added by the request that starts or rotates a session, read by
-- no request role; a presented token is looked up through tenantry_refresh_token()
-- (sql/credentials.sql).
revoke select, update on refresh_tokens from tenantry_user;

-- The email outbox: a request queues a message and reads none of it (the bodies hold
-- one-time links); the sender runs as tenantry_worker, the role of background work.
revoke select, update on email_outbox from tenantry_user;
grant select, update on email_outbox to tenantry_worker;
