import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKey, expireKeyIn, insertEnabledTool } from './helpers/api-keys.js';
import { startApp, type TestApp } from './helpers/app.js';
import { ENGINES } from './helpers/db.js';
import { type OrgWithRoles, orgWithRoles } from './helpers/orgs.js';
import { authed } from './helpers/users.js';

// The member list and the organization read with an API key as bearer are one statement
// each, like a user's (sql/reads.sql): the key's state is read by that statement, so
// every rule of a key holds from the very next request, with nothing kept in between.
describe.each(ENGINES)('API key reads as one statement (%s)', (engine) => {
  let t: TestApp;
  let org: OrgWithRoles;
  let other: OrgWithRoles;
  const statements: string[] = [];
  beforeAll(async () => {
    // One connection: the last test looks at the connection the reads ran on.
    t = await startApp(engine, {}, { onQuery: (q) => statements.push(q), pool: { poolMax: 1, connectionTimeoutMs: 10_000 } });
    org = await orgWithRoles(t.app, t.db, 'Key reads');
    other = await orgWithRoles(t.app, t.db, 'Other key reads');
  });
  afterAll(() => t.close());

  const newKey = (scopes = ['members:read', 'organization:read'], o = org) => createKey(t.app, o.id, o.admin.access, { scopes });
  const members = (key: string, orgId = org.id) => authed(t.app, 'GET', `/v1/organizations/${orgId}/members?limit=100`, key);
  /** The statements `request` sent to the database. */
  const statementsOf = async <T>(request: () => Promise<T>): Promise<{ result: T; sent: string[] }> => {
    const before = statements.length;
    const result = await request();
    return { result, sent: statements.slice(before) };
  };
  /** What the database itself reads for a key, called as the application calls it. */
  const directPage = async (orgId: string, keyId: string) =>
    (
      await sql<{
        key_live: boolean;
        may_see: boolean;
        data: string | null;
      }>`select key_live, may_see, data from tenantry_members_page_as_key(${orgId}::uuid, ${keyId}::uuid, null, 100)`.execute(t.db.kysely)
    ).rows;

  it('a used key reads the member list and the organization in one statement each, with no transaction and no write', async () => {
    const k = await newKey();
    expect((await members(k.key)).statusCode).toBe(200); // resolves the key and marks it used
    const list = await statementsOf(() => members(k.key));
    expect(list.result.statusCode).toBe(200);
    expect(list.result.body).toBe((await members(org.admin.access)).body);
    expect(list.sent).toHaveLength(1);
    expect(list.sent[0]).toMatch(/^select \* from tenantry_members_page_as_key\(/);
    const one = await statementsOf(() => authed(t.app, 'GET', `/v1/organizations/${org.id}`, k.key));
    expect(one.result.statusCode).toBe(200);
    expect(one.result.body).toBe((await authed(t.app, 'GET', `/v1/organizations/${org.id}`, org.admin.access)).body);
    expect(one.sent).toHaveLength(1);
    expect(one.sent[0]).toMatch(/^select \* from tenantry_organization_as_key\(/);
  });

  it('a revoked key is refused on the very next request, by the one statement itself', async () => {
    const k = await newKey();
    expect((await members(k.key)).statusCode).toBe(200);
    expect((await members(k.key)).statusCode).toBe(200);
    expect((await authed(t.app, 'DELETE', `/v1/organizations/${org.id}/api-keys/${k.id}`, org.admin.access)).statusCode).toBe(204);
    const next = await statementsOf(() => members(k.key));
    expect(next.result.statusCode).toBe(401);
    expect(next.result.json().code).toBe('UNAUTHENTICATED');
    expect(next.result.body).not.toContain(org.owner.id);
    expect(next.sent).toHaveLength(1);
    expect(await directPage(org.id, k.id)).toEqual([{ key_live: false, may_see: false, data: null }]);
  });

  it("a key of organization A on organization B's list is the same 404 as a missing organization, with no statement", async () => {
    const k = await newKey();
    expect((await members(k.key)).statusCode).toBe(200);
    const onB = await statementsOf(() => members(k.key, other.id));
    const missing = await members(k.key, '01a20000-0000-7000-8000-000000000000');
    expect(onB.result.statusCode).toBe(404);
    expect({ ...onB.result.json(), request_id: 0, instance: 0 }).toEqual({ ...missing.json(), request_id: 0, instance: 0 });
    expect(onB.result.body).not.toContain(other.owner.id);
    expect(onB.sent).toEqual([]);
    // The database finds no such key in B at all: its row-level security is B's.
    expect(await directPage(other.id, k.id)).toEqual([{ key_live: false, may_see: false, data: null }]);
  });

  it('the database reads nothing for a key the gate refuses: expired, without the scope, for a tool, or in a suspended organization', async () => {
    const live = await newKey(['members:read']);
    expect(await directPage(org.id, live.id)).toEqual([{ key_live: true, may_see: true, data: expect.stringContaining(org.owner.id) }]);

    const expired = await newKey(['members:read']);
    await expireKeyIn(t.db, expired.id, -1);
    expect(await directPage(org.id, expired.id)).toEqual([{ key_live: false, may_see: false, data: null }]);

    const unscoped = await newKey(['organization:read']);
    expect(await directPage(org.id, unscoped.id)).toEqual([{ key_live: true, may_see: false, data: null }]);
    expect((await members(unscoped.key)).statusCode).toBe(403);

    const tool = await insertEnabledTool(t.db, org.id, { scopes: ['crm:contacts:read'] });
    const forTool = await createKey(t.app, org.id, org.admin.access, { scopes: ['crm:contacts:read'], audience: tool.audience });
    // Even were a tool's key to carry a permission of Tenantry's, it reads nothing here.
    await sql`update api_keys set scopes = '{members:read}' where id = ${forTool.id}`.execute(t.db.kysely);
    expect(await directPage(org.id, forTool.id)).toEqual([{ key_live: true, may_see: false, data: null }]);
    expect((await members(forTool.key)).statusCode).toBe(401);

    const o = await orgWithRoles(t.app, t.db, 'Suspended key reads');
    const k = await newKey(['members:read', 'organization:read'], o);
    expect((await members(k.key, o.id)).statusCode).toBe(200);
    await sql`update organizations set status = 'suspended' where id = ${o.id}`.execute(t.db.kysely);
    expect(await directPage(o.id, k.id)).toEqual([{ key_live: true, may_see: false, data: null }]);
    const org1 = await sql<Record<string, unknown>>`select * from tenantry_organization_as_key(${o.id}::uuid, ${k.id}::uuid)`.execute(
      t.db.kysely,
    );
    expect(org1.rows).toEqual([expect.objectContaining({ org_status: 'suspended', may_see: false, id: null, name: null })]);
    const res = await authed(t.app, 'GET', `/v1/organizations/${o.id}`, k.key);
    expect(res.statusCode).toBe(403);
    expect(res.json().code).toBe('ORGANIZATION_SUSPENDED');
  });

  it("in a key's context, as its reads enter it, no key hash can be read, not even its own", async () => {
    const k = await newKey();
    await expect(
      t.db.kysely.transaction().execute(async (tx) => {
        await sql`select * from tenantry_enter_api_key(${org.id}::uuid, ${k.id}::uuid)`.execute(tx);
        return sql`select key_hash from api_keys where id = ${k.id}`.execute(tx);
      }),
    ).rejects.toThrow(/permission denied/);
  });

  it('leaves the pooled connection as it found it after a key read: connecting role, no tenant, no key', async () => {
    const k = await newKey();
    expect((await members(k.key)).statusCode).toBe(200);
    expect((await authed(t.app, 'GET', `/v1/organizations/${org.id}`, k.key)).statusCode).toBe(200);
    const state = await t.db.withConnection((c) =>
      c.query(
        `select current_user::text as role, session_user::text as login, current_setting('app.org_id', true) as org, current_setting('app.api_key_id', true) as key`,
        [],
      ),
    );
    const row = state.rows[0] as { role: string; login: string; org: string | null; key: string | null };
    expect(row.role).toBe(row.login);
    expect(row.org ?? '').toBe('');
    expect(row.key ?? '').toBe('');
  });
});
