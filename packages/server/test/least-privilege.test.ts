import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkIsolation, TABLES_WITHOUT_RLS } from '../src/db/rls-check.js';
import { type TenantContext, type Tx, withTenant } from '../src/db/tenant-context.js';
import { createTestDatabase, ENGINES, type TestDatabase } from './helpers/db.js';
import { insertMembership, insertOrganization, insertUser } from './helpers/fixtures.js';

// What a request role can do with the global tables, tried in SQL as an attacker who
// controls a query inside one tenant's transaction (or a user's) would.

const PERMISSION_DENIED = '42501';

describe.each(ENGINES)('least privilege of the request roles (%s)', (engine) => {
  let t: TestDatabase;
  let inTenant: TenantContext;
  let asUser: TenantContext;
  let victimId: string;
  let victimSession: string;
  let outsiderId: string;

  beforeAll(async () => {
    t = await createTestDatabase(engine);
    const org = await insertOrganization(t.db);
    const alice = await insertUser(t.db);
    await insertMembership(t.db, org.id, alice.id, 'owner');
    const victim = await insertUser(t.db);
    victimId = victim.id;
    // A member of the same organization, whose session is scoped elsewhere.
    await insertMembership(t.db, org.id, victim.id, 'member');
    outsiderId = (await insertUser(t.db)).id;
    await t.db.kysely.updateTable('users').set({ password_hash: '$argon2id$secret' }).where('id', '=', victim.id).execute();
    victimSession = (
      await sql<{
        id: string;
      }>`insert into sessions (id, user_id, client_id, expires_at) values (gen_random_uuid(), ${victim.id}, 'tenantry', now() + interval '1 day') returning id`.execute(
        t.db.kysely,
      )
    ).rows[0]!.id;
    await sql`insert into refresh_tokens (token_hash, session_id) select '\\x00'::bytea, id from sessions limit 1`.execute(t.db.kysely);
    await sql`insert into email_outbox (id, recipient, subject, text_body, html_body) values (gen_random_uuid(), 'x@example.com', 's', 'inv_secret', 'inv_secret')`.execute(
      t.db.kysely,
    );
    inTenant = { orgId: org.id, userId: alice.id };
    asUser = { orgId: null, userId: alice.id };
  });
  afterAll(() => t?.drop());

  const refused = async (ctx: TenantContext, query: (tx: Tx) => Promise<unknown>) =>
    expect(withTenant(t.db, ctx, query)).rejects.toMatchObject({ code: PERMISSION_DENIED });

  it("inside a tenant, reading another user's password_hash is refused", async () => {
    await refused(inTenant, (tx) => sql`select password_hash from users`.execute(tx));
    await refused(inTenant, (tx) => sql`select * from users`.execute(tx));
  });

  it('inside a tenant, renaming or re-addressing any user is refused', async () => {
    await refused(inTenant, (tx) => sql`update users set name = 'Hijacked'`.execute(tx));
    await refused(inTenant, (tx) => sql`update users set email = 'attacker@example.com'`.execute(tx));
  });

  it('inside a tenant, reading refresh token hashes is refused', async () => {
    await refused(inTenant, (tx) => sql`select token_hash from refresh_tokens`.execute(tx));
  });

  it('inside a tenant, reading outbox bodies (invitation tokens) is refused', async () => {
    await refused(inTenant, (tx) => sql`select text_body from email_outbox`.execute(tx));
    await refused(inTenant, (tx) => sql`select html_body from email_outbox`.execute(tx));
  });

  it('inside a tenant or as a user, making anyone a platform admin is refused', async () => {
    await refused(inTenant, (tx) => sql`update users set platform_role = 'platform_admin'`.execute(tx));
    await refused(asUser, (tx) => sql`update users set platform_role = 'platform_admin'`.execute(tx));
    await refused(asUser, (tx) =>
      sql`insert into users (id, email, name, platform_role) values (gen_random_uuid(), 'evil@example.com', 'E', 'platform_admin')`.execute(
        tx,
      ),
    );
  });

  it("as a user, reading any password_hash directly is refused; the own-hash function gives only one's own", async () => {
    await refused(asUser, (tx) => sql`select password_hash from users`.execute(tx));
    const own = await withTenant(t.db, asUser, (tx) => sql<{ email: string }>`select * from tenantry_own_password_hash()`.execute(tx));
    expect(own.rows).toHaveLength(1);
    await refused(inTenant, (tx) => sql`select * from tenantry_own_password_hash()`.execute(tx));
    await refused(inTenant, (tx) => sql`select * from tenantry_password_hash('x@example.com')`.execute(tx));
  });

  it('no request role touches the signing keys', async () => {
    await refused(inTenant, (tx) => sql`select private_pkcs8 from signing_keys`.execute(tx));
    await refused(asUser, (tx) => sql`select private_pkcs8 from signing_keys`.execute(tx));
  });

  /** Rows a select returned. */
  const seen = async (ctx: TenantContext, query: (tx: Tx) => Promise<{ rows: unknown[] }>) =>
    (await withTenant(t.db, ctx, query)).rows.length;
  /** Rows an update or delete changed. */
  const changed = async (ctx: TenantContext, query: (tx: Tx) => Promise<{ numAffectedRows?: bigint }>) =>
    Number((await withTenant(t.db, ctx, query)).numAffectedRows ?? -1);

  it("a user context cannot read another user's sessions", async () => {
    expect(await seen(asUser, (tx) => sql`select id from sessions where user_id = ${victimId}`.execute(tx))).toBe(0);
    expect(await seen(asUser, (tx) => sql`select id from sessions`.execute(tx))).toBe(0);
  });

  it("a user context cannot end or re-scope another user's sessions", async () => {
    expect(await changed(asUser, (tx) => sql`update sessions set revoked_at = now() where id = ${victimSession}`.execute(tx))).toBe(0);
    expect(await changed(inTenant, (tx) => sql`update sessions set revoked_at = now() where id = ${victimSession}`.execute(tx))).toBe(0);
    expect(
      await changed(inTenant, (tx) =>
        sql`update sessions set active_organization_id = ${inTenant.orgId} where id = ${victimSession}`.execute(tx),
      ),
    ).toBe(0);
  });

  it('a user context cannot start a session for another user', async () => {
    await refused(asUser, (tx) =>
      sql`insert into sessions (id, user_id, client_id, expires_at) values (gen_random_uuid(), ${victimId}, 'tenantry', now() + interval '1 day')`.execute(
        tx,
      ),
    );
    await refused(inTenant, (tx) =>
      sql`insert into sessions (id, user_id, client_id, expires_at) values (gen_random_uuid(), ${victimId}, 'tenantry', now() + interval '1 day')`.execute(
        tx,
      ),
    );
  });

  it("a user context cannot plant a refresh token in another user's session", async () => {
    await refused(asUser, (tx) =>
      sql`insert into refresh_tokens (token_hash, session_id) values ('\\x01'::bytea, ${victimSession})`.execute(tx),
    );
    await refused(inTenant, (tx) =>
      sql`insert into refresh_tokens (token_hash, session_id) values ('\\x02'::bytea, ${victimSession})`.execute(tx),
    );
  });

  it("a user context cannot read or change another user's row", async () => {
    expect(await seen(asUser, (tx) => sql`select email from users where id = ${victimId}`.execute(tx))).toBe(0);
    expect(await seen(asUser, (tx) => sql`select id from users`.execute(tx))).toBe(1);
    expect(await changed(asUser, (tx) => sql`update users set name = 'Hijacked' where id = ${victimId}`.execute(tx))).toBe(0);
    expect(await changed(asUser, (tx) => sql`update users set email_verified_at = now() where id = ${victimId}`.execute(tx))).toBe(0);
    expect(await changed(asUser, (tx) => sql`delete from users where id = ${victimId}`.execute(tx))).toBe(0);
  });

  it('a user context cannot create an account other than its own', async () => {
    await refused(asUser, (tx) =>
      sql`insert into users (id, email, name) values (gen_random_uuid(), ${`${Date.now()}@example.com`}, 'Other')`.execute(tx),
    );
  });

  it('inside a tenant, the rows of users outside the organization are hidden', async () => {
    expect(await seen(inTenant, (tx) => sql`select email from users where id = ${outsiderId}`.execute(tx))).toBe(0);
    expect(await seen(inTenant, (tx) => sql`select email from users where id = ${victimId}`.execute(tx))).toBe(1);
  });

  it('as a user, reading refresh token hashes is refused', async () => {
    await refused(asUser, (tx) => sql`select token_hash from refresh_tokens`.execute(tx));
  });

  it('as a user or in a tenant, reading outbox bodies (one-time links) is refused', async () => {
    await refused(asUser, (tx) => sql`select text_body from email_outbox`.execute(tx));
    await refused(asUser, (tx) => sql`select html_body from email_outbox`.execute(tx));
    await refused({ orgId: null, userId: null }, (tx) => sql`select text_body from email_outbox`.execute(tx));
  });

  it('entering as a user after a tool or an API key keeps neither: the tool and key settings are cleared', async () => {
    const left = await t.db.kysely.transaction().execute(async (tx) => {
      await sql`select * from tenantry_enter_tool(null, ${victimId}::uuid)`.execute(tx);
      await sql`select set_config('app.api_key_id', ${victimId}, true)`.execute(tx);
      await sql`select * from tenantry_enter(null, ${outsiderId}::uuid, null)`.execute(tx);
      return (
        await sql<{ tool: string | null; key: string | null }>`select tenantry_tool_id() as tool, tenantry_api_key_id() as key`.execute(tx)
      ).rows[0];
    });
    expect(left).toEqual({ tool: null, key: null });
  });

  it('the platform role cannot read webhook secrets', async () => {
    const asPlatform = (query: string) =>
      t.db.kysely.transaction().execute(async (tx) => {
        await sql`select set_config('role', 'tenantry_platform', true)`.execute(tx);
        return sql.raw(query).execute(tx);
      });
    await expect(asPlatform('select secret from webhook_endpoints')).rejects.toMatchObject({ code: PERMISSION_DENIED });
    await expect(asPlatform('select previous_secret from webhook_endpoints')).rejects.toMatchObject({ code: PERMISSION_DENIED });
    await expect(asPlatform('select id, url, status from webhook_endpoints')).resolves.toBeDefined();
  });

  it('the start-up check denies by default: a new table without forced RLS is refused unless allowed with a reason', async () => {
    expect((await checkIsolation(t.db)).unprotectedTables).toEqual([]);
    for (const reason of Object.values(TABLES_WITHOUT_RLS)) expect(reason.length).toBeGreaterThan(10);
    await sql`create table global_thing (id int primary key)`.execute(t.db.kysely);
    try {
      expect((await checkIsolation(t.db)).unprotectedTables).toEqual(['global_thing']);
    } finally {
      await sql`drop table global_thing`.execute(t.db.kysely);
    }
  });
});
