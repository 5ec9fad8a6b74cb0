import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseKey } from '../src/modules/api-keys/key-format.js';
import { insertEnabledTool } from './helpers/api-keys.js';
import { startApp, type TestApp } from './helpers/app.js';
import { ENGINES } from './helpers/db.js';
import { type OrgWithRoles, orgWithRoles } from './helpers/orgs.js';
import { authed, bearer } from './helpers/users.js';

describe.each(ENGINES)('organization API keys (%s)', (engine) => {
  let t: TestApp;
  let org: OrgWithRoles;
  beforeAll(async () => {
    t = await startApp(engine);
    org = await orgWithRoles(t.app, t.db, 'Keys Org');
  });
  afterAll(() => t.close());

  const keysUrl = (o = org.id) => `/v1/organizations/${o}/api-keys`;
  const create = (token: string, body: Record<string, unknown>, o = org.id) => authed(t.app, 'POST', keysUrl(o), token, body);
  const newKey = async (body: Record<string, unknown> = {}) => {
    const res = await create(org.admin.access, { name: 'CI script', scopes: ['members:read'], ...body });
    expect(res.statusCode, res.body).toBe(201);
    return res.json() as { id: string; key: string; start: string; expires_at: string | null; scopes: string[] };
  };
  const auditActions = async (orgId: string) =>
    (
      await t.db.kysely
        .selectFrom('audit_events')
        .select(['action', 'actor_type', 'actor_id', 'target_id', 'data'])
        .where('organization_id', '=', orgId)
        .execute()
    ).filter((e) => e.action.startsWith('api_key.'));

  it('creates a key shown once, in the checksummed format, stored only as a keyed hash, and audited', async () => {
    const res = await create(org.admin.access, { name: 'Deploy bot', scopes: ['members:read', 'organization:read'], expires_in: 3600 });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.headers['cache-control']).toBe('no-store');
    const k = res.json();
    expect(parseKey(k.key)).not.toBeNull();
    expect(k).toMatchObject({
      name: 'Deploy bot',
      scopes: ['members:read', 'organization:read'],
      audience: null,
      created_by: org.admin.id,
    });
    expect(k.key.startsWith(k.start)).toBe(true);
    expect(k.start.length).toBeLessThan(20);
    expect(new Date(k.expires_at).getTime() - Date.now()).toBeGreaterThan(3500_000);

    const stored = await t.db.kysely.selectFrom('api_keys').selectAll().where('id', '=', k.id).executeTakeFirstOrThrow();
    expect(stored.key_hash.length).toBe(32);
    expect(JSON.stringify(stored)).not.toContain(k.key.slice(22));

    const list = await authed(t.app, 'GET', `${keysUrl()}?limit=100`, org.admin.access);
    expect(list.statusCode).toBe(200);
    const listed = list.json().data.find((x: { id: string }) => x.id === k.id);
    expect(listed).toMatchObject({ start: k.start, name: 'Deploy bot' });
    expect(listed.key).toBeUndefined();
    expect(list.body).not.toContain(k.key);

    const created = (await auditActions(org.id)).find((e) => e.action === 'api_key.created' && e.target_id === k.id);
    expect(created).toMatchObject({ actor_type: 'user', actor_id: org.admin.id });
    expect(JSON.stringify(created)).not.toContain(k.key);
    const events = await t.db.kysely.selectFrom('events').select(['type', 'data']).where('organization_id', '=', org.id).execute();
    const ev = events.find((e) => e.type === 'api_key.created' && (e.data as { api_key_id?: string }).api_key_id === k.id);
    expect(ev?.data).toMatchObject({ api_key_id: k.id, name: 'Deploy bot', scopes: ['members:read', 'organization:read'] });
    expect(JSON.stringify(events)).not.toContain(k.key);
  });

  it('pages the list with a cursor', async () => {
    const o = await orgWithRoles(t.app, t.db, 'Paged Keys');
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await create(o.admin.access, { name: `k${i}`, scopes: ['members:read'] }, o.id);
      ids.push(r.json().id);
    }
    const first = (await authed(t.app, 'GET', `${keysUrl(o.id)}?limit=2`, o.admin.access)).json();
    expect(first.data.map((k: { id: string }) => k.id)).toEqual(ids.slice(0, 2));
    const second = (await authed(t.app, 'GET', `${keysUrl(o.id)}?limit=2&cursor=${first.next_cursor}`, o.admin.access)).json();
    expect(second.data.map((k: { id: string }) => k.id)).toEqual(ids.slice(2));
    expect(second.next_cursor).toBeNull();
  });

  it('needs api_keys:manage (admin+): members and viewers get 403, outsiders 404', async () => {
    for (const u of [org.member, org.viewer]) {
      expect((await create(u.access, { name: 'x', scopes: ['members:read'] })).statusCode).toBe(403);
      expect((await authed(t.app, 'GET', keysUrl(), u.access)).statusCode).toBe(403);
    }
    const other = await orgWithRoles(t.app, t.db, 'Outsiders');
    expect((await create(other.owner.access, { name: 'x', scopes: ['members:read'] })).statusCode).toBe(404);
    expect((await authed(t.app, 'GET', keysUrl(), other.owner.access)).statusCode).toBe(404);
  });

  it("never grants a key more than its creator holds: an admin cannot give owners' permissions; unknown scopes are a 400", async () => {
    const above = await create(org.admin.access, { name: 'x', scopes: ['members:read', 'owners:manage'] });
    expect(above.statusCode).toBe(403);
    expect(above.json().detail).toContain('owners:manage');
    const unknown = await create(org.admin.access, { name: 'x', scopes: ['crm:contacts:read'] });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().errors[0].path).toBe('/body/scopes/0');
    expect((await create(org.owner.access, { name: 'x', scopes: ['owners:manage'] })).statusCode).toBe(201);
    expect((await create(org.admin.access, { name: 'x', scopes: [] })).statusCode).toBe(400);
    expect((await create(org.admin.access, { name: 'x', scopes: ['members:read'], expires_in: 0 })).statusCode).toBe(400);
  });

  it('takes an Idempotency-Key like the other creates: a retry answers the same key, not a second one', async () => {
    const headers = { ...bearer(org.admin.access), 'idempotency-key': `key-${Date.now()}` };
    const payload = { name: 'Retried', scopes: ['members:read'] };
    const first = await t.app.inject({ method: 'POST', url: keysUrl(), headers, payload });
    const again = await t.app.inject({ method: 'POST', url: keysUrl(), headers, payload });
    expect(first.statusCode).toBe(201);
    expect(again.statusCode).toBe(201);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.json().id).toBe(first.json().id);
    const other = await t.app.inject({ method: 'POST', url: keysUrl(), headers, payload: { ...payload, name: 'Other' } });
    expect(other.statusCode).toBe(422);
  });

  it('revokes a key (audited); revoking it again is 409; a key of another organization is 404', async () => {
    const k = await newKey();
    const del = await authed(t.app, 'DELETE', `${keysUrl()}/${k.id}`, org.admin.access);
    expect(del.statusCode).toBe(204);
    const row = await t.db.kysely.selectFrom('api_keys').select('revoked_at').where('id', '=', k.id).executeTakeFirstOrThrow();
    expect(row.revoked_at).not.toBeNull();
    expect((await authed(t.app, 'DELETE', `${keysUrl()}/${k.id}`, org.admin.access)).statusCode).toBe(409);
    expect((await auditActions(org.id)).some((e) => e.action === 'api_key.revoked' && e.actor_id === org.admin.id)).toBe(true);

    const other = await orgWithRoles(t.app, t.db, 'Other keys');
    expect((await authed(t.app, 'DELETE', `${keysUrl(other.id)}/${k.id}`, other.owner.access)).statusCode).toBe(404);
  });

  it('rotates a key: a new key with the same name and scopes, the old one ends after the grace (audited)', async () => {
    const k = await newKey({ name: 'Rotating', expires_in: 7200 });
    const res = await authed(t.app, 'POST', `${keysUrl()}/${k.id}/rotate`, org.admin.access, { grace_seconds: 600 });
    expect(res.statusCode, res.body).toBe(201);
    const n = res.json();
    expect(n.id).not.toBe(k.id);
    expect(n.key).not.toBe(k.key);
    expect(parseKey(n.key)).not.toBeNull();
    expect(n).toMatchObject({ name: 'Rotating', scopes: k.scopes, expires_at: k.expires_at });
    const old = await t.db.kysely
      .selectFrom('api_keys')
      .select(['expires_at', 'replaced_by'])
      .where('id', '=', k.id)
      .executeTakeFirstOrThrow();
    expect(old.replaced_by).toBe(n.id);
    const left = old.expires_at!.getTime() - Date.now();
    expect(left).toBeGreaterThan(500_000);
    expect(left).toBeLessThanOrEqual(600_000);
    // A rotated key is not rotated again; a grace above a day is refused.
    expect((await authed(t.app, 'POST', `${keysUrl()}/${k.id}/rotate`, org.admin.access, { grace_seconds: 0 })).statusCode).toBe(409);
    expect((await authed(t.app, 'POST', `${keysUrl()}/${n.id}/rotate`, org.admin.access, { grace_seconds: 86_401 })).statusCode).toBe(400);
    const rotated = (await auditActions(org.id)).find(
      (e) => e.action === 'api_key.rotated' && e.target_id === k.id && e.data.new_api_key_id === n.id,
    );
    expect(rotated).toBeDefined();
  });

  it('may carry the scopes of tools enabled in the organization, each only if the creator holds what it requires', async () => {
    const o = await orgWithRoles(t.app, t.db, 'Tool scopes');
    const crm = await insertEnabledTool(t.db, o.id, {
      scopes: ['crm:contacts:read', 'crm:settings:write'],
      requires: { 'crm:settings:write': 'owners:manage' },
    });
    const off = await insertEnabledTool(t.db, o.id, { scopes: ['erp:orders:read'], enabled: false });
    const ok = await create(o.admin.access, { name: 'Mixed', scopes: ['members:read', 'crm:contacts:read'] }, o.id);
    expect(ok.statusCode, ok.body).toBe(201);
    expect(ok.json().audience).toBeNull();
    // A scope whose `requires` is above the admin's own; a scope of a disabled enablement.
    expect((await create(o.admin.access, { name: 'x', scopes: ['crm:settings:write'] }, o.id)).statusCode).toBe(403);
    expect((await create(o.owner.access, { name: 'x', scopes: ['crm:settings:write'] }, o.id)).statusCode).toBe(201);
    const disabled = await create(o.admin.access, { name: 'x', scopes: ['erp:orders:read'] }, o.id);
    expect(disabled.statusCode).toBe(400);
    // A key with an audience is that tool's, with that tool's scopes only.
    const forCrm = await create(o.admin.access, { name: 'For CRM', scopes: ['crm:contacts:read'], audience: crm.audience }, o.id);
    expect(forCrm.statusCode, forCrm.body).toBe(201);
    expect(forCrm.json().audience).toBe(crm.audience);
    const listed = (await authed(t.app, 'GET', `${keysUrl(o.id)}?limit=100`, o.admin.access)).json().data;
    expect(listed.find((k: { id: string }) => k.id === forCrm.json().id).audience).toBe(crm.audience);
    const mixed = await create(o.admin.access, { name: 'x', scopes: ['crm:contacts:read', 'members:read'], audience: crm.audience }, o.id);
    expect(mixed.statusCode).toBe(400);
    expect(mixed.json().errors[0].path).toBe('/body/scopes/1');
    for (const audience of [off.audience, 'https://nowhere.example.com']) {
      const res = await create(o.admin.access, { name: 'x', scopes: ['erp:orders:read'], audience }, o.id);
      expect(res.statusCode).toBe(400);
      expect(res.json().errors[0].path).toBe('/body/audience');
    }
    // Another organization's enabled tool gives nothing here.
    const elsewhere = await insertEnabledTool(t.db, org.id, { scopes: ['hr:people:read'] });
    expect((await create(o.admin.access, { name: 'x', scopes: ['hr:people:read'] }, o.id)).statusCode).toBe(400);
    expect((await create(org.admin.access, { name: 'x', scopes: ['hr:people:read'], audience: elsewhere.audience })).statusCode).toBe(201);
  });

  it('an admin cannot rotate a key that carries an owner’s permissions (a new secret for them)', async () => {
    const res = await create(org.owner.access, { name: 'Owner key', scopes: ['owners:manage'] });
    const rot = await authed(t.app, 'POST', `${keysUrl()}/${res.json().id}/rotate`, org.admin.access, { grace_seconds: 0 });
    expect(rot.statusCode).toBe(403);
  });

  it('keeps the server secret in the database when API_KEY_SECRET is not set, unreadable by the request roles', async () => {
    await newKey();
    const { rows } = await sql<{ n: string }>`select count(*) as n from api_key_secrets`.execute(t.db.kysely);
    expect(Number(rows[0]!.n)).toBe(1);
    for (const role of ['tenantry_app', 'tenantry_user', 'tenantry_platform']) {
      const read = await t.db.kysely
        .transaction()
        .execute(async (tx) => {
          await sql`select set_config('role', ${role}, true)`.execute(tx);
          return sql`select secret from api_key_secrets`.execute(tx);
        })
        .then(
          () => 'read',
          (err: { code?: string }) => err.code,
        );
      expect(read).toBe('42501');
    }
  });
});
