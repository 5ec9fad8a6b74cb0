-- Least privilege for the request roles on the global tables. A request runs in one
-- organization (tenantry_app) or as one user (tenantry_user); neither needs another
-- user's credentials, and none may make anyone a platform admin.
--
-- users: the request and maintenance roles see the columns of a profile, never
-- password_hash; the hash is read only through the functions of sql/credentials.sql
-- that the login and password-change paths call. platform_role is written only by the
-- database owner (the CLI and the bootstrap at start), never by a request role.
revoke select, insert, update on users from tenantry_app, tenantry_user, tenantry_platform, tenantry_maintenance;
grant select (id, email, name, platform_role, created_at, updated_at) on users to tenantry_app, tenantry_user, tenantry_platform;
grant select (id, email, name) on users to tenantry_maintenance;
-- A member entry locks the user row it renders (FOR SHARE), which needs an UPDATE
-- privilege on some column: updated_at is the one that changes nothing of consequence.
grant update (updated_at) on users to tenantry_app;
-- Signup and a change of name or password.
grant insert (id, email, name, password_hash) on users to tenantry_user;
grant update (name, password_hash, updated_at) on users to tenantry_user;

-- refresh_tokens: inside an organization a session may be started (login scoped to an
-- organization), so tenantry_app adds tokens, but it reads no hash and rotates nothing.
revoke select, update on refresh_tokens from tenantry_app;

-- email_outbox: the bodies carry one-time links (invitation tokens). A request in an
-- organization queues a message and reads none; delivery runs outside any organization.
revoke select, update on email_outbox from tenantry_app;

-- sessions hold no secret; inside an organization they are started, checked (the
-- context statement) and ended (removal, suspension), which these columns cover.
revoke select, insert, update on sessions from tenantry_app;
grant select (id, user_id, client_id, active_organization_id, created_at, expires_at, revoked_at) on sessions to tenantry_app;
grant insert (id, user_id, client_id, active_organization_id, expires_at) on sessions to tenantry_app;
grant update (active_organization_id, revoked_at, revoked_reason) on sessions to tenantry_app;

-- signing_keys: no request role has, or ever had, any privilege on the private keys.
revoke all on signing_keys from tenantry_app, tenantry_user, tenantry_platform, tenantry_maintenance;
