import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from './helpers/app.js';
import { ENGINES } from './helpers/db.js';
import { orgWithRoles } from './helpers/orgs.js';
import { authed, signupUser } from './helpers/users.js';

// The member list and the organization read are one statement each that enters the
// tenant and reads (migration 007); the member page is rendered as JSON in the database.
// These tests hold them to what every other route answers: the same shapes, the same
// pagination and the same gate.
describe.each(ENGINES)('reads as one statement (%s)', (engine) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp(engine, {}, { pool: { poolMax: 1, connectionTimeoutMs: 10_000 } });
  });
  afterAll(() => t.close());

  const list = (orgId: string, token: string, query = '') => authed(t.app, 'GET', `/v1/organizations/${orgId}/members${query}`, token);

  it('renders each member exactly as the serialized member of PATCH, as JSON, names included verbatim', async () => {
    const o = await orgWithRoles(t.app, t.db);
    const name = 'Zoë "Quoted" \\ Back\u00a0slash 🚀 </script>';
    expect((await authed(t.app, 'PATCH', '/v1/me', o.member.access, { name })).statusCode).toBe(200);
    const res = await list(o.id, o.viewer.access);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    const body = res.json();
    expect(Object.keys(body).sort()).toEqual(['data', 'next_cursor']);
    expect(body.next_cursor).toBeNull();
    expect(body.data).toHaveLength(4);
    for (const m of body.data) {
      // Setting a member's current role is a change that answers with the member.
      const same = await authed(t.app, 'PATCH', `/v1/organizations/${o.id}/members/${m.user_id}`, o.owner.access, { role: m.role });
      expect(same.statusCode).toBe(200);
      expect(m).toStrictEqual(same.json());
    }
    expect(body.data.find((m: { user_id: string }) => m.user_id === o.member.id).name).toBe(name);
    const stored = await t.db.kysely
      .selectFrom('memberships')
      .select(['user_id', 'created_at'])
      .where('organization_id', '=', o.id)
      .execute();
    for (const row of stored) {
      expect(body.data.find((m: { user_id: string }) => m.user_id === row.user_id).joined_at).toBe(row.created_at.toISOString());
    }
  });

  it('pages by user id: a cursor only when more follow, and every member exactly once', async () => {
    const o = await orgWithRoles(t.app, t.db);
    const all = [o.owner.id, o.admin.id, o.member.id, o.viewer.id].sort();
    const full = (await list(o.id, o.member.access, '?limit=4')).json();
    expect(full.data.map((m: { user_id: string }) => m.user_id)).toEqual(all);
    expect(full.next_cursor).toBeNull();

    const first = (await list(o.id, o.member.access, '?limit=3')).json();
    expect(first.data.map((m: { user_id: string }) => m.user_id)).toEqual(all.slice(0, 3));
    expect(typeof first.next_cursor).toBe('string');
    const rest = (await list(o.id, o.member.access, `?limit=3&cursor=${first.next_cursor}`)).json();
    expect(rest).toEqual({ data: [expect.objectContaining({ user_id: all[3] })], next_cursor: null });

    const last = Buffer.from(all[3]!, 'utf8').toString('base64url');
    expect((await list(o.id, o.member.access, `?cursor=${last}`)).json()).toEqual({ data: [], next_cursor: null });
  });

  it('answers 404 to an outsider and 401 once the session has ended, with no member in the answer', async () => {
    const o = await orgWithRoles(t.app, t.db);
    const outsider = await signupUser(t.app);
    const missing = await list('01a20000-0000-7000-8000-000000000000', outsider.access);
    const other = await list(o.id, outsider.access);
    expect(other.statusCode).toBe(404);
    expect({ ...other.json(), request_id: 0, instance: 0 }).toEqual({ ...missing.json(), request_id: 0, instance: 0 });
    expect(other.body).not.toContain(o.owner.id);
    // The database itself reads nothing for an outsider: the gate above is not the only guard.
    const sid = JSON.parse(Buffer.from(outsider.access.split('.')[1]!, 'base64url').toString()).sid;
    const direct = await sql<{
      data: string | null;
      member_role: string | null;
    }>`select * from tenantry_members_page(${o.id}::uuid, ${outsider.id}::uuid, ${sid}::uuid, null, 50)`.execute(t.db.kysely);
    expect(direct.rows).toEqual([expect.objectContaining({ member_role: null, data: null, next_after: null })]);

    const revoked = await t.app.inject({ method: 'POST', url: '/oauth/revoke', payload: { token: o.viewer.refresh } });
    expect(revoked.statusCode).toBe(200);
    const ended = await list(o.id, o.viewer.access);
    expect(ended.statusCode).toBe(401);
    expect(ended.body).not.toContain(o.owner.id);
  });

  it('reads the organization exactly as its create and update answer it, domains and metadata included', async () => {
    const owner = await signupUser(t.app);
    const created = await authed(t.app, 'POST', '/v1/organizations', owner.access, {
      name: 'Read Co',
      industry: 'finance',
      size: '11-50',
      domains: ['read.example', 'bücher.example'],
      metadata: { plan: 'gold', seats: 12, trial: false, note: 'a "quoted" \\ value' },
    });
    expect(created.statusCode).toBe(201);
    const org = created.json();
    const read = await authed(t.app, 'GET', `/v1/organizations/${org.id}`, owner.access);
    expect(read.statusCode).toBe(200);
    expect(read.json()).toStrictEqual(org);
    const patched = await authed(t.app, 'PATCH', `/v1/organizations/${org.id}`, owner.access, {
      name: 'Read Co 2',
      metadata: { plan: 'platinum' },
    });
    expect(patched.statusCode).toBe(200);
    expect((await authed(t.app, 'GET', `/v1/organizations/${org.id}`, owner.access)).json()).toStrictEqual(patched.json());
  });

  it('gives an outsider the organization read nothing: 404 as for a missing id, and no columns from the database', async () => {
    const o = await orgWithRoles(t.app, t.db);
    const outsider = await signupUser(t.app);
    const missing = await authed(t.app, 'GET', '/v1/organizations/01a20000-0000-7000-8000-000000000000', outsider.access);
    const other = await authed(t.app, 'GET', `/v1/organizations/${o.id}`, outsider.access);
    expect(other.statusCode).toBe(404);
    expect({ ...other.json(), request_id: 0, instance: 0 }).toEqual({ ...missing.json(), request_id: 0, instance: 0 });
    const sid = JSON.parse(Buffer.from(outsider.access.split('.')[1]!, 'base64url').toString()).sid;
    const direct = await sql<
      Record<string, unknown>
    >`select * from tenantry_organization(${o.id}::uuid, ${outsider.id}::uuid, ${sid}::uuid)`.execute(t.db.kysely);
    expect(direct.rows).toHaveLength(1);
    expect(direct.rows[0]).toMatchObject({ member_role: null, org_status: 'active', id: null, name: null, slug: null, metadata: null });
  });

  it('leaves the pooled connection as it found it: connecting role, no tenant, no user', async () => {
    const o = await orgWithRoles(t.app, t.db);
    expect((await list(o.id, o.owner.access)).statusCode).toBe(200);
    expect((await authed(t.app, 'GET', `/v1/organizations/${o.id}`, o.owner.access)).statusCode).toBe(200);
    const state = await t.db.withConnection((c) =>
      c.query(
        `select current_user::text as role, session_user::text as login, current_setting('app.org_id', true) as org, current_setting('app.user_id', true) as usr`,
        [],
      ),
    );
    const row = state.rows[0] as { role: string; login: string; org: string | null; usr: string | null };
    expect(row.role).toBe(row.login);
    expect(row.org ?? '').toBe('');
    expect(row.usr ?? '').toBe('');
  });
});
