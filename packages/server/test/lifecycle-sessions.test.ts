import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from './helpers/app.js';
import { ENGINES } from './helpers/db.js';
import { auditCount, type OrgWithRoles, orgWithRoles } from './helpers/orgs.js';
import { authed, PASSWORD, refreshToken, type SignedUp, signupUser } from './helpers/users.js';

// What suspending and archiving an organization does to the people in it:
// the sessions scoped to it end for good (SPEC §4), an archived organization is
// 404 to its members on every route, and a suspended one refuses the invitation
// routes with 403 ORGANIZATION_SUSPENDED.

describe.each(ENGINES)('organization lifecycle: sessions and routes (%s)', (engine) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp(engine);
  });
  afterAll(() => t.close());

  const req = (method: string, url: string, token: string, payload?: unknown) => authed(t.app, method, url, token, payload);

  /** A user signed up over the API and made a platform admin directly in the database. */
  async function platformAdmin(): Promise<SignedUp> {
    const u = await signupUser(t.app);
    await t.db.kysely.updateTable('users').set({ platform_role: 'platform_admin' }).where('id', '=', u.id).execute();
    return u;
  }

  /** A session of `u` scoped to the organization, started by switching a fresh login into it. */
  async function scopedSession(u: SignedUp, orgId: string) {
    const login = await t.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: u.email, password: PASSWORD } });
    expect(login.statusCode).toBe(200);
    const res = await refreshToken(t.app, login.json().refresh_token, { organization_id: orgId });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body.organization_id).toBe(orgId);
    return { access: body.access_token as string, refresh: body.refresh_token as string };
  }

  const sessionOf = (refresh: string) => refreshToken(t.app, refresh);

  describe.each([
    ['suspending', 'suspend'],
    ['archiving', 'archive'],
  ] as const)('%s', (_label, kind) => {
    const transition = (o: OrgWithRoles, admin: SignedUp) =>
      kind === 'suspend'
        ? req('POST', `/v1/organizations/${o.id}/suspend`, admin.access)
        : req('DELETE', `/v1/organizations/${o.id}`, o.owner.access);

    it('ends the sessions scoped to the organization: their access tokens answer 401 and their refresh fails, even after reactivation', async () => {
      const admin = await platformAdmin();
      const o = await orgWithRoles(t.app, t.db);
      const member = await scopedSession(o.member, o.id);
      const owner = await scopedSession(o.owner, o.id);
      expect((await req('GET', `/v1/organizations/${o.id}`, member.access)).statusCode).toBe(200);

      const res = await transition(o, admin);
      expect([200, 204]).toContain(res.statusCode);

      for (const s of [member, owner]) {
        for (const url of ['/v1/me', `/v1/organizations/${o.id}`]) {
          const r = await req('GET', url, s.access);
          expect(r.statusCode, url).toBe(401);
          expect(r.json().code).toBe('UNAUTHENTICATED');
        }
      }
      const reactivated = await req('POST', `/v1/organizations/${o.id}/reactivate`, admin.access);
      expect(reactivated.json().status).toBe('active');
      // Back to active, the ended sessions stay ended.
      for (const s of [member, owner]) {
        const r = await sessionOf(s.refresh);
        expect(r.statusCode).toBe(400);
        expect(r.json()).toMatchObject({ error: 'invalid_grant' });
        expect((await req('GET', '/v1/me', s.access)).statusCode).toBe(401);
      }
      const ended = await t.db.kysely
        .selectFrom('sessions')
        .select(['revoked_reason'])
        .where('active_organization_id', '=', o.id)
        .execute();
      expect(ended.map((s) => s.revoked_reason)).toEqual(
        ended.map(() => (kind === 'suspend' ? 'organization_suspended' : 'organization_archived')),
      );
      expect(ended.length).toBeGreaterThanOrEqual(2);
    });

    it('leaves the members’ unscoped sessions and sessions scoped elsewhere alive', async () => {
      const admin = await platformAdmin();
      const o = await orgWithRoles(t.app, t.db);
      const elsewhere = await orgWithRoles(t.app, t.db);
      await t.db.kysely.insertInto('memberships').values({ organization_id: elsewhere.id, user_id: o.member.id, role: 'member' }).execute();
      const scopedElsewhere = await scopedSession(o.member, elsewhere.id);

      expect([200, 204]).toContain((await transition(o, admin)).statusCode);

      expect((await req('GET', '/v1/me', o.member.access)).statusCode).toBe(200);
      expect((await sessionOf(o.member.refresh)).statusCode).toBe(200);
      expect((await req('GET', `/v1/organizations/${elsewhere.id}`, scopedElsewhere.access)).statusCode).toBe(200);
      expect((await sessionOf(scopedElsewhere.refresh)).statusCode).toBe(200);
    });
  });

  it('an archived organization is 404 to its members on every write route, and nothing changes', async () => {
    const o = await orgWithRoles(t.app, t.db);
    const pending = await req('POST', `/v1/organizations/${o.id}/invitations`, o.admin.access, {
      email: `pending-${o.id}@example.com`,
      role: 'member',
    });
    expect(pending.statusCode).toBe(201);
    expect((await req('DELETE', `/v1/organizations/${o.id}`, o.owner.access)).statusCode).toBe(204);

    const snapshot = async () => ({
      org: await t.db.kysely.selectFrom('organizations').selectAll().where('id', '=', o.id).executeTakeFirstOrThrow(),
      members: await t.db.kysely
        .selectFrom('memberships')
        .select(['user_id', 'role'])
        .where('organization_id', '=', o.id)
        .orderBy('user_id')
        .execute(),
      invitations: await t.db.kysely
        .selectFrom('invitations')
        .select(['id', 'status'])
        .where('organization_id', '=', o.id)
        .orderBy('id')
        .execute(),
      audit: await auditCount(t.db, o.id),
    });
    const before = await snapshot();
    expect(before.org.status).toBe('archived');

    const writes: Array<[string, string, unknown]> = [
      ['PATCH', `/v1/organizations/${o.id}`, { name: 'Revived' }],
      ['DELETE', `/v1/organizations/${o.id}`, undefined],
      ['PATCH', `/v1/organizations/${o.id}/members/${o.member.id}`, { role: 'admin' }],
      ['PATCH', `/v1/organizations/${o.id}/members/${o.admin.id}`, { role: 'owner' }],
      ['DELETE', `/v1/organizations/${o.id}/members/${o.viewer.id}`, undefined],
      ['POST', `/v1/organizations/${o.id}/invitations`, { email: `new-${o.id}@example.com`, role: 'viewer' }],
      ['GET', `/v1/organizations/${o.id}/invitations`, undefined],
      ['DELETE', `/v1/organizations/${o.id}/invitations/${pending.json().id}`, undefined],
    ];
    for (const u of [o.owner, o.admin]) {
      for (const [method, url, payload] of writes) {
        const res = await req(method, url, u.access, payload);
        expect(res.statusCode, `${method} ${url}`).toBe(404);
        expect(res.json().code).toBe('NOT_FOUND');
      }
    }
    // Leaving is a write too.
    const leave = await req('DELETE', `/v1/organizations/${o.id}/members/${o.viewer.id}`, o.viewer.access);
    expect(leave.statusCode).toBe(404);
    expect(await snapshot()).toEqual(before);
  });

  describe('a suspended organization refuses the invitation routes', () => {
    it('create, list and revoke answer 403 ORGANIZATION_SUSPENDED to its admins and owners, and nothing changes', async () => {
      const admin = await platformAdmin();
      const o = await orgWithRoles(t.app, t.db);
      const pending = await req('POST', `/v1/organizations/${o.id}/invitations`, o.admin.access, {
        email: `pending-${o.id}@example.com`,
        role: 'member',
      });
      expect(pending.statusCode).toBe(201);
      expect((await req('POST', `/v1/organizations/${o.id}/suspend`, admin.access)).statusCode).toBe(200);
      const audit = await auditCount(t.db, o.id);

      for (const u of [o.owner, o.admin]) {
        for (const [method, url, payload] of [
          ['POST', `/v1/organizations/${o.id}/invitations`, { email: `new-${u.id}@example.com`, role: 'viewer' }],
          ['GET', `/v1/organizations/${o.id}/invitations`, undefined],
          ['GET', `/v1/organizations/${o.id}/invitations?status=pending`, undefined],
          ['DELETE', `/v1/organizations/${o.id}/invitations/${pending.json().id}`, undefined],
        ] as const) {
          const res = await req(method, url, u.access, payload);
          expect(res.statusCode, `${method} ${url}`).toBe(403);
          expect(res.json().code).toBe('ORGANIZATION_SUSPENDED');
        }
      }
      const invitations = await t.db.kysely
        .selectFrom('invitations')
        .select(['id', 'status'])
        .where('organization_id', '=', o.id)
        .execute();
      expect(invitations).toEqual([{ id: pending.json().id, status: 'pending' }]);
      expect(await auditCount(t.db, o.id)).toBe(audit);
    });

    it('accepting an invitation, signed in or by signing up, is refused and adds no member', async () => {
      const admin = await platformAdmin();
      const o = await orgWithRoles(t.app, t.db);
      const invitee = await signupUser(t.app);
      const forInvitee = (
        await req('POST', `/v1/organizations/${o.id}/invitations`, o.admin.access, { email: invitee.email, role: 'member' })
      ).json();
      const newcomerEmail = `newcomer-${o.id}@example.com`;
      const forNewcomer = (
        await req('POST', `/v1/organizations/${o.id}/invitations`, o.admin.access, { email: newcomerEmail, role: 'viewer' })
      ).json();
      expect((await req('POST', `/v1/organizations/${o.id}/suspend`, admin.access)).statusCode).toBe(200);
      const audit = await auditCount(t.db, o.id);

      const accept = await req('POST', '/v1/invitations/accept', invitee.access, { token: forInvitee.token });
      expect(accept.statusCode).toBe(403);
      expect(accept.json().code).toBe('ORGANIZATION_SUSPENDED');
      const signup = await t.app.inject({
        method: 'POST',
        url: '/v1/auth/signup',
        payload: { email: newcomerEmail, password: PASSWORD, name: 'Newcomer', invitation_token: forNewcomer.token },
      });
      expect(signup.statusCode).toBe(403);
      expect(signup.json().code).toBe('ORGANIZATION_SUSPENDED');

      expect(await t.db.kysely.selectFrom('users').select('id').where('email', '=', newcomerEmail).executeTakeFirst()).toBeUndefined();
      const members = await t.db.kysely.selectFrom('memberships').select('user_id').where('organization_id', '=', o.id).execute();
      expect(members.map((m) => m.user_id)).not.toContain(invitee.id);
      expect(members).toHaveLength(4);
      const statuses = await t.db.kysely.selectFrom('invitations').select('status').where('organization_id', '=', o.id).execute();
      expect(statuses.map((s) => s.status)).toEqual(['pending', 'pending']);
      expect(await auditCount(t.db, o.id)).toBe(audit);

      // Reactivated, the same invitation works: the refusal was the suspension, not the invitation.
      expect((await req('POST', `/v1/organizations/${o.id}/reactivate`, admin.access)).statusCode).toBe(200);
      expect((await req('POST', '/v1/invitations/accept', invitee.access, { token: forInvitee.token })).statusCode).toBe(200);
    });
  });
});
