import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withTenant } from '../src/db/tenant-context.js';
import { hashClientSecret } from '../src/modules/tools/credentials.js';
import { createKey } from './helpers/api-keys.js';
import { startApp, type TestApp } from './helpers/app.js';
import { ENGINES } from './helpers/db.js';
import { type OrgWithRoles, orgWithRoles } from './helpers/orgs.js';
import { basic, enableTool, platformAdminToken, type RegisteredTool, registerTool, tokenRequest } from './helpers/tools.js';

// A tool's client secret is checked by one statement (sql/tools.sql) that also reads what
// the endpoint needs: the tool's standing in the organization a token is for, or the API
// key it introspects (sql/introspection.sql). The statement writes a credential's
// last_used_at at most once a minute, and it is the only way a request role has to a hash.

const PERMISSION_DENIED = '42501';
/** Statements of the app's own background work, which may fall inside a request's window. */
const BACKGROUND = /signing_keys|idempotency_records/;

describe.each(ENGINES)('a tool’s client secret in one statement (%s)', (engine) => {
  let t: TestApp;
  let admin: string;
  let org: OrgWithRoles;
  let tool: RegisteredTool;
  const statements: string[] = [];
  beforeAll(async () => {
    t = await startApp(engine, {}, { onQuery: (q) => statements.push(q) });
    admin = await platformAdminToken(t);
    org = await orgWithRoles(t.app, t.db, 'One statement');
    tool = await registerTool(t, admin);
    await enableTool(t, org.owner.access, org.id, tool.id);
  });
  afterAll(() => t.close());

  /** The statements `work` sent to the database. */
  const statementsOf = async (work: () => Promise<unknown>) => {
    const before = statements.length;
    await work();
    return statements.slice(before).filter((q) => !BACKGROUND.test(q));
  };
  const token = (secret = tool.secret, form: Record<string, string> = { organization_id: org.id }) =>
    tokenRequest(t, { grant_type: 'client_credentials', ...form }, { authorization: basic(tool.clientId, secret) });
  const introspect = (key: string) =>
    t.app.inject({
      method: 'POST',
      url: '/oauth/introspect',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(tool.clientId, tool.secret) },
      payload: new URLSearchParams({ token: key }).toString(),
    });
  const lastUsed = async (credentialId: string) =>
    (await sql<{ last_used_at: Date | null }>`select last_used_at from tool_credentials where id = ${credentialId}`.execute(t.db.kysely))
      .rows[0]!.last_used_at;
  const setLastUsed = (credentialId: string, secondsAgo: number) =>
    sql`update tool_credentials set last_used_at = now() - make_interval(secs => ${secondsAgo}) where id = ${credentialId}`.execute(
      t.db.kysely,
    );

  it('a client_credentials token by client secret, and a refusal, are each one statement', async () => {
    let res: Awaited<ReturnType<typeof token>> | undefined;
    const issued = await statementsOf(async () => {
      res = await token();
    });
    expect(res!.statusCode, res!.body).toBe(200);
    expect(issued).toEqual([expect.stringMatching(/^select \* from tenantry_tool_client_check\(/)]);

    const post = await statementsOf(async () => {
      res = await tokenRequest(t, { grant_type: 'client_credentials', client_id: tool.clientId, client_secret: tool.secret });
    });
    expect(res!.statusCode, res!.body).toBe(200);
    expect(post).toEqual([expect.stringMatching(/^select \* from tenantry_tool_client_check\(/)]);

    const refused = await statementsOf(async () => {
      res = await token(`${tool.secret}x`);
    });
    expect([res!.statusCode, res!.json().error]).toEqual([401, 'invalid_client']);
    expect(refused).toHaveLength(1);
  });

  it('the introspection of an API key by client secret is one statement, with the same answer', async () => {
    const k = await createKey(t.app, org.id, org.admin.access, { scopes: ['members:read'] });
    let res: Awaited<ReturnType<typeof introspect>> | undefined;
    const asked = await statementsOf(async () => {
      res = await introspect(k.key);
    });
    expect(res!.json()).toMatchObject({ active: true, principal: 'api_key', sub: k.id, org_id: org.id, scope: 'members:read' });
    expect(asked).toEqual([expect.stringMatching(/^\s*select \* from tenantry_introspect_api_key\(/)]);
  });

  it('writes a credential’s last_used_at at most once a minute, and never for a wrong secret', async () => {
    const fresh = await registerTool(t, admin);
    await enableTool(t, org.owner.access, org.id, fresh.id);
    const asFresh = (secret: string) =>
      tokenRequest(t, { grant_type: 'client_credentials', organization_id: org.id }, { authorization: basic(fresh.clientId, secret) });

    expect((await asFresh(`${fresh.secret}x`)).statusCode).toBe(401);
    expect(await lastUsed(fresh.credentialId)).toBeNull();

    expect((await asFresh(fresh.secret)).statusCode).toBe(200);
    const first = await lastUsed(fresh.credentialId);
    expect(first).not.toBeNull();

    // Used again within the minute: no write.
    await setLastUsed(fresh.credentialId, 50);
    const recent = await lastUsed(fresh.credentialId);
    expect((await asFresh(fresh.secret)).statusCode).toBe(200);
    expect(await lastUsed(fresh.credentialId)).toEqual(recent);

    // A minute old: the next use writes it again.
    await setLastUsed(fresh.credentialId, 61);
    const old = (await lastUsed(fresh.credentialId))!;
    expect((await asFresh(fresh.secret)).statusCode).toBe(200);
    const marked = (await lastUsed(fresh.credentialId))!;
    expect(marked.getTime()).toBeGreaterThan(old.getTime() + 60_000);

    // An introspection is a use of the credential too.
    await setLastUsed(fresh.credentialId, 120);
    const before = (await lastUsed(fresh.credentialId))!;
    const k = await createKey(t.app, org.id, org.admin.access, { scopes: ['members:read'] });
    const asked = await t.app.inject({
      method: 'POST',
      url: '/oauth/introspect',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(fresh.clientId, fresh.secret) },
      payload: new URLSearchParams({ token: k.key }).toString(),
    });
    expect(asked.json().active).toBe(true);
    expect((await lastUsed(fresh.credentialId))!.getTime()).toBeGreaterThan(before.getTime() + 60_000);
  });

  it('a revoked or expired secret is refused, and another live secret of the tool still works', async () => {
    const rotated = await registerTool(t, admin);
    const second = await t.app.inject({
      method: 'POST',
      url: `/v1/tools/${rotated.id}/credentials`,
      headers: { authorization: `Bearer ${admin}` },
      payload: { type: 'client_secret' },
    });
    expect(second.statusCode, second.body).toBe(201);
    const secondSecret = second.json().client_secret as string;
    const as = (secret: string) =>
      tokenRequest(t, { grant_type: 'client_credentials' }, { authorization: basic(rotated.clientId, secret) });
    expect((await as(rotated.secret)).statusCode).toBe(200);
    expect((await as(secondSecret)).statusCode).toBe(200);
    await sql`update tool_credentials set expires_at = now() - interval '1 second' where id = ${rotated.credentialId}`.execute(t.db.kysely);
    expect((await as(rotated.secret)).json().error).toBe('invalid_client');
    expect((await as(secondSecret)).statusCode).toBe(200);
    await sql`update tool_credentials set revoked_at = now() where tool_id = ${rotated.id}`.execute(t.db.kysely);
    expect((await as(secondSecret)).json().error).toBe('invalid_client');
  });

  it('a request role cannot read a hash through the check: the organization role may not call it, and it returns none', async () => {
    const hash = hashClientSecret(tool.secret);
    await expect(
      withTenant(t.db, { orgId: org.id, userId: null }, (tx) =>
        sql`select * from tenantry_tool_secret_check(${tool.clientId}, ${hash})`.execute(tx),
      ),
    ).rejects.toMatchObject({ code: PERMISSION_DENIED });
    const rows = await withTenant(
      t.db,
      { orgId: null, userId: null },
      async (tx) =>
        (await sql<Record<string, unknown>>`select * from tenantry_tool_secret_check(${tool.clientId}, ${hash})`.execute(tx)).rows,
    );
    expect(rows).toHaveLength(1);
    expect(Object.keys(rows[0]!).sort()).toEqual(['audience', 'authenticated', 'scopes', 'tool_id', 'tool_status']);
    expect(rows[0]!.authenticated).toBe(true);
    // The hash itself is still refused to the request role.
    await expect(
      withTenant(t.db, { orgId: null, userId: null }, (tx) => sql`select secret_hash from tool_credentials`.execute(tx)),
    ).rejects.toMatchObject({ code: PERMISSION_DENIED });
  });
});
