import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKey, expireKeyIn, insertEnabledTool } from './helpers/api-keys.js';
import { startApp, type TestApp } from './helpers/app.js';
import { ENGINES } from './helpers/db.js';
import { type OrgWithRoles, orgWithRoles } from './helpers/orgs.js';
import { authed } from './helpers/users.js';

// An organization API key as `Authorization: Bearer tnty_…` on Tenantry's API.

describe.each(ENGINES)('API keys as bearer (%s)', (engine) => {
  let t: TestApp;
  let org: OrgWithRoles;
  const statements: string[] = [];
  beforeAll(async () => {
    t = await startApp(engine, {}, { onQuery: (q) => statements.push(q) });
    org = await orgWithRoles(t.app, t.db, 'Bearer Org');
  });
  afterAll(() => t.close());

  const newKey = (scopes = ['members:read', 'organization:read'], o = org) => createKey(t.app, o.id, o.admin.access, { scopes });
  const members = (key: string, o = org.id) => authed(t.app, 'GET', `/v1/organizations/${o}/members?limit=100`, key);
  const expireInSql = (id: string, secondsFromNow: number) => expireKeyIn(t.db, id, secondsFromNow);

  it('reads within its scopes: the member list and the organization, as a user with that permission would', async () => {
    const k = await newKey();
    const res = await members(k.key);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.body).toBe((await members(org.admin.access)).body);
    const one = await authed(t.app, 'GET', `/v1/organizations/${org.id}`, k.key);
    expect(one.statusCode).toBe(200);
    expect(one.json().id).toBe(org.id);
  });

  it('is refused outside its scopes (403) and on routes that manage keys', async () => {
    const k = await newKey(['organization:read']);
    expect((await members(k.key)).statusCode).toBe(403);
    expect((await authed(t.app, 'GET', `/v1/organizations/${org.id}/audit-events`, k.key)).statusCode).toBe(403);
    const mint = await authed(t.app, 'POST', `/v1/organizations/${org.id}/api-keys`, k.key, { name: 'x', scopes: ['organization:read'] });
    expect(mint.statusCode).toBe(403);
  });

  it('a revoked key is refused from its next request, even after it was used', async () => {
    const k = await newKey();
    expect((await members(k.key)).statusCode).toBe(200);
    expect((await authed(t.app, 'DELETE', `/v1/organizations/${org.id}/api-keys/${k.id}`, org.admin.access)).statusCode).toBe(204);
    const res = await members(k.key);
    expect(res.statusCode).toBe(401);
    expect(res.json().code).toBe('UNAUTHENTICATED');
  });

  it('an expired key is refused at once (expiry set in the database, no waiting)', async () => {
    const k = await newKey();
    expect((await members(k.key)).statusCode).toBe(200);
    await expireInSql(k.id, -1);
    expect((await members(k.key)).statusCode).toBe(401);
  });

  it('an expired key never used before is refused too', async () => {
    const k = await newKey();
    await expireInSql(k.id, -1);
    expect((await members(k.key)).statusCode).toBe(401);
  });

  it('rotation with no grace ends the old key at once; the new key works', async () => {
    const k = await newKey();
    expect((await members(k.key)).statusCode).toBe(200);
    const rot = await authed(t.app, 'POST', `/v1/organizations/${org.id}/api-keys/${k.id}/rotate`, org.admin.access, { grace_seconds: 0 });
    expect(rot.statusCode).toBe(201);
    expect((await members(k.key)).statusCode).toBe(401);
    expect((await members(rot.json().key)).statusCode).toBe(200);
  });

  it('rotation with a grace keeps the old key working during it, and not after it', async () => {
    const k = await newKey();
    const rot = await authed(t.app, 'POST', `/v1/organizations/${org.id}/api-keys/${k.id}/rotate`, org.admin.access, {
      grace_seconds: 3600,
    });
    expect(rot.statusCode).toBe(201);
    expect((await members(k.key)).statusCode).toBe(200);
    expect((await members(rot.json().key)).statusCode).toBe(200);
    // The grace period is over (its end moved into the past in the database).
    await expireInSql(k.id, -1);
    expect((await members(k.key)).statusCode).toBe(401);
    expect((await members(rot.json().key)).statusCode).toBe(200);
  });

  it('marks last_used_at, with at most one write a minute per key however many requests', async () => {
    const k = await newKey();
    const before = statements.length;
    for (let i = 0; i < 5; i++) expect((await members(k.key)).statusCode).toBe(200);
    const writes = statements.slice(before).filter((q) => /update "api_keys" set "last_used_at"/i.test(q));
    expect(writes).toHaveLength(1);
    const row = await t.db.kysely.selectFrom('api_keys').select('last_used_at').where('id', '=', k.id).executeTakeFirstOrThrow();
    expect(row.last_used_at).not.toBeNull();
    const listed = (await authed(t.app, 'GET', `/v1/organizations/${org.id}/api-keys?limit=100`, org.admin.access)).json();
    expect(listed.data.find((x: { id: string }) => x.id === k.id).last_used_at).not.toBeNull();
  });

  it('the scopes are read fresh per request: a scope removed in the database stops at once', async () => {
    const k = await newKey();
    expect((await members(k.key)).statusCode).toBe(200);
    await sql`update api_keys set scopes = '{organization:read}' where id = ${k.id}`.execute(t.db.kysely);
    expect((await members(k.key)).statusCode).toBe(403);
  });

  it('a key of a suspended organization is refused (403 ORGANIZATION_SUSPENDED), of an archived one 404', async () => {
    const o = await orgWithRoles(t.app, t.db, 'Suspended keys');
    const k = await newKey(['members:read'], o);
    expect((await members(k.key, o.id)).statusCode).toBe(200);
    await sql`update organizations set status = 'suspended' where id = ${o.id}`.execute(t.db.kysely);
    const res = await members(k.key, o.id);
    expect(res.statusCode).toBe(403);
    expect(res.json().code).toBe('ORGANIZATION_SUSPENDED');
    await sql`update organizations set status = 'archived' where id = ${o.id}`.execute(t.db.kysely);
    expect((await members(k.key, o.id)).statusCode).toBe(404);
  });

  it("a key for a tool (with an audience) is refused on Tenantry's API", async () => {
    const tool = await insertEnabledTool(t.db, org.id, { scopes: ['crm:contacts:read'] });
    const k = await createKey(t.app, org.id, org.admin.access, { scopes: ['crm:contacts:read'], audience: tool.audience });
    const res = await authed(t.app, 'GET', `/v1/organizations/${org.id}`, k.key);
    expect(res.statusCode).toBe(401);
  });

  it('reads the audit log with the audit:read scope', async () => {
    const k = await newKey(['audit:read']);
    const res = await authed(t.app, 'GET', `/v1/organizations/${org.id}/audit-events?limit=5`, k.key);
    expect(res.statusCode).toBe(200);
  });
});
