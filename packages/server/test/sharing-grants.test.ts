import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from './helpers/app.js';
import { ENGINES } from './helpers/db.js';
import { orgWithRoles } from './helpers/orgs.js';
import {
  insertEnablement,
  insertTool,
  privateScope,
  type RegisteredTool,
  readScope,
  validEventData,
  writeScope,
} from './helpers/sharing.js';
import { authed, bearer } from './helpers/users.js';

// Sharing grants through their routes: who may manage them, what is refused, and that each
// change is audited with its event. Grant-bound tokens and delegation: sharing-grant-tokens.test.ts.

describe.each(ENGINES)('sharing grants (%s)', (engine) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp(engine);
  });
  afterAll(() => t.close());

  const url = (org: string, id?: string) => `/v1/organizations/${org}/sharing-grants${id ? `/${id}` : ''}`;

  /** An organization with two tools enabled: a provider (crm) and a consumer (mailer). */
  async function setting() {
    const org = await orgWithRoles(t.app, t.db);
    const crm = await insertTool(t.db, 'crm');
    const mailer = await insertTool(t.db, 'mailer');
    await insertEnablement(t.db, org.id, crm);
    await insertEnablement(t.db, org.id, mailer);
    return { org, crm, mailer };
  }
  const body = (provider: RegisteredTool, consumer: RegisteredTool, extra: Record<string, unknown> = {}) => ({
    provider_tool_id: provider.id,
    consumer_tool_id: consumer.id,
    scopes: [readScope(provider)],
    purpose: 'Personalise campaigns with contact names',
    ...extra,
  });

  const auditOf = async (orgId: string, action: string) =>
    (
      await sql<{ actor_type: string; actor_id: string; target_id: string; data: Record<string, unknown> }>`
        select actor_type, actor_id, target_id, data from audit_events
        where organization_id = ${orgId} and action = ${action} order by id`.execute(t.db.kysely)
    ).rows;
  const eventsOf = async (orgId: string, type: string) =>
    (
      await sql<{ data: Record<string, unknown> }>`
        select data from events where organization_id = ${orgId} and type = ${type} order by id`.execute(t.db.kysely)
    ).rows.map((r) => r.data);

  it('an owner creates, reads, lists and revokes a grant; each change is audited with its event', async () => {
    const { org, crm, mailer } = await setting();
    const created = await authed(t.app, 'POST', url(org.id), org.owner.access, body(crm, mailer, { expires_at: '2999-01-01T00:00:00Z' }));
    expect(created.statusCode).toBe(201);
    const g = created.json();
    expect(g).toMatchObject({
      provider_tool_id: crm.id,
      consumer_tool_id: mailer.id,
      scopes: [readScope(crm)],
      status: 'active',
      granted_by: org.owner.id,
      expires_at: '2999-01-01T00:00:00.000Z',
      revoked_at: null,
    });

    expect((await authed(t.app, 'GET', url(org.id, g.id), org.owner.access)).json()).toEqual(g);
    const list = await authed(t.app, 'GET', `${url(org.id)}?provider_tool_id=${crm.id}&status=active`, org.owner.access);
    expect(list.json()).toEqual({ data: [g], next_cursor: null });

    const revoked = await authed(t.app, 'DELETE', url(org.id, g.id), org.owner.access);
    expect(revoked.statusCode).toBe(204);
    const after = (await authed(t.app, 'GET', url(org.id, g.id), org.owner.access)).json();
    expect(after.status).toBe('revoked');
    expect(after.revoked_at).not.toBeNull();
    expect((await authed(t.app, 'DELETE', url(org.id, g.id), org.owner.access)).json().code).toBe('INVALID_STATE');

    const [c] = await auditOf(org.id, 'sharing_grant.created');
    expect(c).toMatchObject({ actor_type: 'user', actor_id: org.owner.id, target_id: g.id });
    expect(await auditOf(org.id, 'sharing_grant.revoked')).toHaveLength(1);
    const [createdEvent] = await eventsOf(org.id, 'sharing_grant.created');
    const [revokedEvent] = await eventsOf(org.id, 'sharing_grant.revoked');
    expect(createdEvent).toMatchObject({ grant_id: g.id, provider_tool_id: crm.id, consumer_tool_id: mailer.id, scopes: [readScope(crm)] });
    expect(validEventData('sharing_grant.created', createdEvent)).toBe(true);
    expect(validEventData('sharing_grant.revoked', revokedEvent)).toBe(true);
  });

  it('lists filtered by provider, consumer and status, a page at a time', async () => {
    const { org, crm, mailer } = await setting();
    const billing = await insertTool(t.db, 'billing');
    await insertEnablement(t.db, org.id, billing);
    const ids: string[] = [];
    for (const [p, c] of [
      [crm, mailer],
      [crm, billing],
      [billing, mailer],
    ] as const) {
      ids.push((await authed(t.app, 'POST', url(org.id), org.owner.access, body(p, c))).json().id);
    }
    await authed(t.app, 'DELETE', url(org.id, ids[1]), org.owner.access);
    const q = async (query: string) =>
      (await authed(t.app, 'GET', `${url(org.id)}?${query}`, org.owner.access)).json().data.map((g: { id: string }) => g.id);
    expect(await q(`provider_tool_id=${crm.id}`)).toEqual([ids[0], ids[1]]);
    expect(await q(`consumer_tool_id=${mailer.id}`)).toEqual([ids[0], ids[2]]);
    expect(await q('status=revoked')).toEqual([ids[1]]);
    expect(await q(`provider_tool_id=${crm.id}&status=active`)).toEqual([ids[0]]);

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { data: Array<{ id: string }>; next_cursor: string | null } = (
        await authed(t.app, 'GET', `${url(org.id)}?limit=1${cursor ? `&cursor=${cursor}` : ''}`, org.owner.access)
      ).json();
      seen.push(...page.data.map((g) => g.id));
      cursor = page.next_cursor;
    } while (cursor);
    expect(seen).toEqual(ids);
  });

  it('only owners manage grants: admins and members are 403, outsiders 404', async () => {
    const { org, crm, mailer } = await setting();
    const other = await orgWithRoles(t.app, t.db);
    const g = (await authed(t.app, 'POST', url(org.id), org.owner.access, body(crm, mailer))).json();
    for (const u of [org.admin, org.member, org.viewer]) {
      expect((await authed(t.app, 'POST', url(org.id), u.access, body(crm, mailer))).statusCode).toBe(403);
      expect((await authed(t.app, 'GET', url(org.id), u.access)).statusCode).toBe(403);
      expect((await authed(t.app, 'GET', url(org.id, g.id), u.access)).statusCode).toBe(403);
      expect((await authed(t.app, 'DELETE', url(org.id, g.id), u.access)).statusCode).toBe(403);
    }
    for (const u of [other.owner, other.admin]) {
      expect((await authed(t.app, 'GET', url(org.id), u.access)).statusCode).toBe(404);
      expect((await authed(t.app, 'GET', url(org.id, g.id), u.access)).statusCode).toBe(404);
      expect((await authed(t.app, 'DELETE', url(org.id, g.id), u.access)).statusCode).toBe(404);
    }
    expect((await authed(t.app, 'GET', url(org.id, g.id), org.owner.access)).json().status).toBe('active');
  });

  it("another organization's grant is not there: its id under your organization answers 404 and stays active", async () => {
    const a = await setting();
    const b = await setting();
    const bGrant = (await authed(t.app, 'POST', url(b.org.id), b.org.owner.access, body(b.crm, b.mailer))).json();
    expect((await authed(t.app, 'GET', url(a.org.id, bGrant.id), a.org.owner.access)).statusCode).toBe(404);
    expect((await authed(t.app, 'DELETE', url(a.org.id, bGrant.id), a.org.owner.access)).statusCode).toBe(404);
    expect((await authed(t.app, 'GET', url(a.org.id), a.org.owner.access)).json().data).toEqual([]);
    expect((await authed(t.app, 'GET', url(b.org.id, bGrant.id), b.org.owner.access)).json().status).toBe('active');
  });

  describe('refused with 400 GRANT_SCOPE_INVALID, creating nothing', () => {
    const refused = async (orgId: string, token: string, payload: Record<string, unknown>, paths: string[]) => {
      const before = (await authed(t.app, 'GET', url(orgId), token)).json().data.length;
      const res = await authed(t.app, 'POST', url(orgId), token, payload);
      expect(res.statusCode).toBe(400);
      expect(res.json().code).toBe('GRANT_SCOPE_INVALID');
      expect(res.json().errors.map((e: { path: string }) => e.path)).toEqual(paths);
      expect((await authed(t.app, 'GET', url(orgId), token)).json().data.length).toBe(before);
      expect(await auditOf(orgId, 'sharing_grant.created')).toEqual([]);
    };

    it('a scope the provider does not share', async () => {
      const { org, crm, mailer } = await setting();
      await refused(org.id, org.owner.access, body(crm, mailer, { scopes: [readScope(crm), privateScope(crm)] }), ['/body/scopes/1']);
    });

    it('a scope of another tool (the consumer’s own)', async () => {
      const { org, crm, mailer } = await setting();
      await refused(org.id, org.owner.access, body(crm, mailer, { scopes: [readScope(mailer)] }), ['/body/scopes/0']);
    });

    it('provider = consumer', async () => {
      const { org, crm } = await setting();
      await refused(org.id, org.owner.access, body(crm, crm), ['/body/consumer_tool_id']);
    });

    it('a tool not enabled in the organization, disabled there, or unknown', async () => {
      const { org, crm, mailer } = await setting();
      const notEnabled = await insertTool(t.db, 'elsewhere');
      const disabled = await insertTool(t.db, 'disabled');
      await insertEnablement(t.db, org.id, disabled, 'disabled');
      await refused(org.id, org.owner.access, body(notEnabled, mailer), ['/body/provider_tool_id']);
      await refused(org.id, org.owner.access, body(crm, disabled), ['/body/consumer_tool_id']);
      await refused(org.id, org.owner.access, { ...body(crm, mailer), consumer_tool_id: '01900000-0000-7000-8000-000000000000' }, [
        '/body/consumer_tool_id',
      ]);
    });

    it('a tool enabled in another organization only', async () => {
      const a = await setting();
      const b = await setting();
      await refused(a.org.id, a.org.owner.access, body(a.crm, b.mailer), ['/body/consumer_tool_id']);
    });
  });

  it('one active grant per provider and consumer; a lapsed one makes way for a new one', async () => {
    const { org, crm, mailer } = await setting();
    const first = (await authed(t.app, 'POST', url(org.id), org.owner.access, body(crm, mailer))).json();
    const second = await authed(t.app, 'POST', url(org.id), org.owner.access, body(crm, mailer, { scopes: [writeScope(crm)] }));
    expect(second.statusCode).toBe(409);
    expect(second.json().code).toBe('SHARING_GRANT_EXISTS');
    // The other direction is another grant.
    expect(
      (await authed(t.app, 'POST', url(org.id), org.owner.access, body(mailer, crm, { scopes: [readScope(mailer)] }))).statusCode,
    ).toBe(201);
    // Once the first has lapsed (moved into the past as the migration user), a new one may be created.
    await sql`update sharing_grants set created_at = now() - interval '2 days', expires_at = now() - interval '1 day'
              where id = ${first.id}`.execute(t.db.kysely);
    expect((await authed(t.app, 'GET', url(org.id, first.id), org.owner.access)).json().status).toBe('expired');
    expect((await authed(t.app, 'DELETE', url(org.id, first.id), org.owner.access)).json().code).toBe('INVALID_STATE');
    expect((await authed(t.app, 'POST', url(org.id), org.owner.access, body(crm, mailer))).statusCode).toBe(201);
    expect(
      (await authed(t.app, 'GET', `${url(org.id)}?status=expired`, org.owner.access)).json().data.map((g: { id: string }) => g.id),
    ).toEqual([first.id]);
  });

  it('refuses an expiry in the past, unknown fields and empty scopes with 400 VALIDATION_FAILED', async () => {
    const { org, crm, mailer } = await setting();
    for (const payload of [
      body(crm, mailer, { expires_at: '2001-01-01T00:00:00Z' }),
      body(crm, mailer, { scopes: [] }),
      body(crm, mailer, { status: 'active' }),
      body(crm, mailer, { purpose: '' }),
    ]) {
      const res = await authed(t.app, 'POST', url(org.id), org.owner.access, payload);
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
      expect(res.json().code).toBe('VALIDATION_FAILED');
    }
  });

  it('a retry with the same Idempotency-Key answers the original grant and creates no second one', async () => {
    const { org, crm, mailer } = await setting();
    const post = () =>
      t.app.inject({
        method: 'POST',
        url: url(org.id),
        headers: { ...bearer(org.owner.access), 'idempotency-key': `grant-${org.id}` },
        payload: body(crm, mailer),
      });
    const first = await post();
    const again = await post();
    expect(first.statusCode).toBe(201);
    expect(again.statusCode).toBe(201);
    expect(again.body).toBe(first.body);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(await auditOf(org.id, 'sharing_grant.created')).toHaveLength(1);
  });
});
