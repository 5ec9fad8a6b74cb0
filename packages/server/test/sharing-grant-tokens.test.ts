import { decodeJwt } from 'jose';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from './helpers/app.js';
import { ENGINES } from './helpers/db.js';
import { orgWithRoles } from './helpers/orgs.js';
import {
  disableTool,
  enableTool,
  exchangeRequest,
  grantTokenRequest,
  platformAdminToken,
  privateScope,
  type RegisteredTool,
  readScope,
  registerTool,
  userTokenFor,
  validEventData,
  writeScope,
} from './helpers/sharing.js';
import { authed } from './helpers/users.js';

// Tokens under sharing grants, at the token endpoint: the consumer's own at the provider's
// audience (client_credentials + resource) and a user's delegated one (token exchange).

describe.each(ENGINES)('tokens under sharing grants (%s)', (engine) => {
  let t: TestApp;
  let admin: string;
  beforeAll(async () => {
    t = await startApp(engine);
    admin = await platformAdminToken(t.app);
  });
  afterAll(() => t.close());

  /** An organization with a provider (crm) and a consumer (mailer) enabled, and a grant of crm's read scope to mailer. */
  async function setting(opts: { grant?: boolean } = {}) {
    const org = await orgWithRoles(t.app, t.db);
    const crm = await registerTool(t.app, admin, 'crm');
    const mailer = await registerTool(t.app, admin, 'mailer');
    await enableTool(t.app, org.owner.access, org.id, crm);
    await enableTool(t.app, org.owner.access, org.id, mailer);
    let grantId = '';
    if (opts.grant !== false) grantId = await grant(org.id, org.owner.access, crm, mailer, [readScope(crm), writeScope(crm)]);
    return { org, crm, mailer, grantId };
  }
  async function grant(orgId: string, owner: string, provider: RegisteredTool, consumer: RegisteredTool, scopes: string[]) {
    const res = await authed(t.app, 'POST', `/v1/organizations/${orgId}/sharing-grants`, owner, {
      provider_tool_id: provider.id,
      consumer_tool_id: consumer.id,
      scopes,
      purpose: 'Personalise campaigns',
    });
    if (res.statusCode !== 201) throw new Error(res.body);
    return res.json().id as string;
  }
  const tokenIssuedEvents = async (orgId: string) =>
    (
      await sql<{ actor_type: string; actor_id: string; target_id: string; data: Record<string, unknown> }>`
        select actor_type, actor_id, target_id, data from audit_events
        where organization_id = ${orgId} and action = 'sharing_grant.token_issued' order by id`.execute(t.db.kysely)
    ).rows;
  const oauthError = (res: { statusCode: number; json(): { error: string } }) => [res.statusCode, res.json().error];

  describe('the consumer’s own token at the provider’s audience', () => {
    it('carries aud = the provider, grant_id and the scopes asked, lives ≤ 300 s, and is audited as the consumer', async () => {
      const { org, crm, mailer, grantId } = await setting();
      const res = await grantTokenRequest(t.app, mailer, crm, org.id, readScope(crm));
      expect(res.statusCode, res.body).toBe(200);
      const body = res.json();
      expect(body).toMatchObject({ token_type: 'Bearer', scope: readScope(crm), organization_id: org.id });
      expect(body.refresh_token).toBeUndefined();
      expect(body.expires_in).toBeLessThanOrEqual(300);
      const claims = decodeJwt(body.access_token);
      expect(claims).toMatchObject({
        aud: crm.audience,
        sub: mailer.client_id,
        client_id: mailer.client_id,
        principal: 'tool',
        org_id: org.id,
        grant_id: grantId,
        permissions: [readScope(crm)],
      });
      expect(claims.exp! - claims.iat!).toBeLessThanOrEqual(300);
      // Nothing asked: all the grant covers.
      const all = decodeJwt((await grantTokenRequest(t.app, mailer, crm, org.id)).json().access_token);
      expect(all.permissions).toEqual([readScope(crm), writeScope(crm)]);

      const [audited] = await tokenIssuedEvents(org.id);
      expect(audited).toMatchObject({ actor_type: 'tool', actor_id: mailer.id, target_id: grantId });
      const [event] = (
        await sql<{
          data: unknown;
        }>`select data from events where organization_id = ${org.id} and type = 'sharing_grant.token_issued'`.execute(t.db.kysely)
      ).rows;
      expect(validEventData('sharing_grant.token_issued', event!.data)).toBe(true);
    });

    it('the grant-bound token is refused on Tenantry’s own API', async () => {
      const { org, crm, mailer } = await setting();
      const token = (await grantTokenRequest(t.app, mailer, crm, org.id)).json().access_token;
      expect((await authed(t.app, 'GET', `/v1/organizations/${org.id}/members`, token)).statusCode).toBe(401);
    });

    it('many issuances, sequential and concurrent, are audited once per grant per 5 minutes', async () => {
      const { org, crm, mailer, grantId } = await setting();
      for (let i = 0; i < 3; i++) expect((await grantTokenRequest(t.app, mailer, crm, org.id)).statusCode).toBe(200);
      const concurrent = await Promise.all(Array.from({ length: 8 }, () => grantTokenRequest(t.app, mailer, crm, org.id)));
      expect(concurrent.map((r) => r.statusCode)).toEqual(Array(8).fill(200));
      expect(await tokenIssuedEvents(org.id)).toHaveLength(1);
      // Once the window has passed (moved back as the migration user), the next issuance is audited again.
      await sql`update sharing_grants set token_audited_at = now() - interval '301 seconds' where id = ${grantId}`.execute(t.db.kysely);
      await Promise.all(Array.from({ length: 4 }, () => grantTokenRequest(t.app, mailer, crm, org.id)));
      expect(await tokenIssuedEvents(org.id)).toHaveLength(2);
    });

    it('without a grant: invalid_target', async () => {
      const { org, crm, mailer } = await setting({ grant: false });
      expect(oauthError(await grantTokenRequest(t.app, mailer, crm, org.id))).toEqual([400, 'invalid_target']);
    });

    it('a grant in the other direction does not cover this one: invalid_target', async () => {
      const { org, crm, mailer } = await setting();
      expect(oauthError(await grantTokenRequest(t.app, crm, mailer, org.id))).toEqual([400, 'invalid_target']);
    });

    it('a revoked grant refuses new tokens at once: invalid_target', async () => {
      const { org, crm, mailer, grantId } = await setting();
      expect((await grantTokenRequest(t.app, mailer, crm, org.id)).statusCode).toBe(200);
      expect((await authed(t.app, 'DELETE', `/v1/organizations/${org.id}/sharing-grants/${grantId}`, org.owner.access)).statusCode).toBe(
        204,
      );
      expect(oauthError(await grantTokenRequest(t.app, mailer, crm, org.id))).toEqual([400, 'invalid_target']);
    });

    it('an expired grant: invalid_target', async () => {
      const { org, crm, mailer, grantId } = await setting();
      await sql`update sharing_grants set created_at = now() - interval '2 days', expires_at = now() - interval '1 second'
                where id = ${grantId}`.execute(t.db.kysely);
      expect(oauthError(await grantTokenRequest(t.app, mailer, crm, org.id))).toEqual([400, 'invalid_target']);
    });

    it('a grant that expires soon caps the token’s lifetime', async () => {
      const { org, crm, mailer, grantId } = await setting();
      await sql`update sharing_grants set expires_at = now() + interval '60 seconds' where id = ${grantId}`.execute(t.db.kysely);
      const res = await grantTokenRequest(t.app, mailer, crm, org.id);
      expect(res.json().expires_in).toBeLessThanOrEqual(60);
    });

    it("org A's grant used for org B, where both tools are enabled but nothing is granted: invalid_target", async () => {
      const a = await setting();
      const b = await orgWithRoles(t.app, t.db);
      await enableTool(t.app, b.owner.access, b.id, a.crm);
      await enableTool(t.app, b.owner.access, b.id, a.mailer);
      expect(oauthError(await grantTokenRequest(t.app, a.mailer, a.crm, b.id))).toEqual([400, 'invalid_target']);
      expect((await grantTokenRequest(t.app, a.mailer, a.crm, a.org.id)).statusCode).toBe(200);
    });

    it('an organization where the consumer is not enabled answers the same invalid_grant as a missing one', async () => {
      const a = await setting();
      const b = await orgWithRoles(t.app, t.db);
      const here = await grantTokenRequest(t.app, a.mailer, a.crm, b.id);
      const missing = await grantTokenRequest(t.app, a.mailer, a.crm, '01900000-0000-7000-8000-000000000000');
      expect(oauthError(here)).toEqual([400, 'invalid_grant']);
      expect(here.json()).toEqual(missing.json());
    });

    it('a scope outside the grant, or one the provider does not share: invalid_scope', async () => {
      const { org, crm, mailer } = await setting({ grant: false });
      await grant(org.id, org.owner.access, crm, mailer, [readScope(crm)]);
      expect(oauthError(await grantTokenRequest(t.app, mailer, crm, org.id, writeScope(crm)))).toEqual([400, 'invalid_scope']);
      expect(oauthError(await grantTokenRequest(t.app, mailer, crm, org.id, privateScope(crm)))).toEqual([400, 'invalid_scope']);
      expect(oauthError(await grantTokenRequest(t.app, mailer, crm, org.id, `${readScope(crm)} ${privateScope(crm)}`))).toEqual([
        400,
        'invalid_scope',
      ]);
    });

    it('disabling either tool suspends the grant in the same change; enabling it again does not resume it', async () => {
      const { org, crm, mailer, grantId } = await setting();
      const reverse = await grant(org.id, org.owner.access, mailer, crm, [readScope(mailer)]);
      await disableTool(t.app, org.owner.access, org.id, crm);
      for (const id of [grantId, reverse]) {
        const g = (await authed(t.app, 'GET', `/v1/organizations/${org.id}/sharing-grants/${id}`, org.owner.access)).json();
        expect(g.status).toBe('suspended');
      }
      const suspended = (
        await sql<{ data: Record<string, unknown> }>`select data from events where organization_id = ${org.id}
          and type = 'sharing_grant.suspended' order by id`.execute(t.db.kysely)
      ).rows.map((r) => r.data);
      expect(suspended.map((d) => d.grant_id)).toEqual([grantId, reverse]);
      expect(suspended.every((d) => d.disabled_tool_id === crm.id && validEventData('sharing_grant.suspended', d))).toBe(true);

      await enableTool(t.app, org.owner.access, org.id, crm);
      expect((await authed(t.app, 'GET', `/v1/organizations/${org.id}/sharing-grants/${grantId}`, org.owner.access)).json().status).toBe(
        'suspended',
      );
      expect(oauthError(await grantTokenRequest(t.app, mailer, crm, org.id))).toEqual([400, 'invalid_target']);
      // An owner decides anew: a new grant works, and the suspended one can still be revoked.
      await grant(org.id, org.owner.access, crm, mailer, [readScope(crm)]);
      expect((await grantTokenRequest(t.app, mailer, crm, org.id)).statusCode).toBe(200);
      expect((await authed(t.app, 'DELETE', `/v1/organizations/${org.id}/sharing-grants/${grantId}`, org.owner.access)).statusCode).toBe(
        204,
      );
    });
  });

  describe('delegation by token exchange', () => {
    /** A member's token for the consumer (aud = mailer), as the mailer's front end holds it. */
    const subjectFor = async (refresh: string, orgId: string, tool: RegisteredTool) =>
      (await userTokenFor(t.app, refresh, orgId, tool)).access;

    it('answers a token for the provider with sub = the user, act = the consumer, grant_id, and the user’s permissions now', async () => {
      const { org, crm, mailer, grantId } = await setting();
      const subject = await subjectFor(org.member.refresh, org.id, mailer);
      const res = await exchangeRequest(t.app, mailer, subject, crm);
      expect(res.statusCode, res.body).toBe(200);
      const body = res.json();
      expect(body).toMatchObject({ issued_token_type: 'urn:ietf:params:oauth:token-type:access_token', token_type: 'Bearer' });
      expect(body.refresh_token).toBeUndefined();
      const claims = decodeJwt(body.access_token);
      expect(claims).toMatchObject({
        sub: org.member.id,
        act: { sub: mailer.client_id },
        client_id: mailer.client_id,
        aud: crm.audience,
        org_id: org.id,
        grant_id: grantId,
        principal: 'user',
        permissions: [readScope(crm), writeScope(crm)],
      });
      expect(claims.exp! - claims.iat!).toBeLessThanOrEqual(300);
      // The delegated token is for the provider: Tenantry's API refuses it.
      expect((await authed(t.app, 'GET', '/v1/me', body.access_token)).statusCode).toBe(401);

      const [audited] = (
        await sql<{ actor_type: string; actor_id: string; data: Record<string, unknown> }>`select actor_type, actor_id, data
          from audit_events where organization_id = ${org.id} and action = 'token.exchanged'`.execute(t.db.kysely)
      ).rows;
      expect(audited).toMatchObject({
        actor_type: 'tool',
        actor_id: mailer.id,
        data: { user_id: org.member.id, scopes: body.scope.split(' ') },
      });
    });

    it('a scope whose required permission the user does not hold is dropped (a viewer lacks data:write)', async () => {
      const { org, crm, mailer } = await setting();
      const subject = await subjectFor(org.viewer.refresh, org.id, mailer);
      const res = await exchangeRequest(t.app, mailer, subject, crm, `${readScope(crm)} ${writeScope(crm)}`);
      expect(res.statusCode).toBe(200);
      expect(decodeJwt(res.json().access_token).permissions).toEqual([readScope(crm)]);
      expect(res.json().scope).toBe(readScope(crm));
      // Nothing left to delegate: invalid_scope.
      expect(oauthError(await exchangeRequest(t.app, mailer, subject, crm, writeScope(crm)))).toEqual([400, 'invalid_scope']);
    });

    it('the permissions are read fresh: a member demoted since the subject token was issued loses data:write at once', async () => {
      const { org, crm, mailer } = await setting();
      const subject = await subjectFor(org.member.refresh, org.id, mailer);
      expect(
        (await authed(t.app, 'PATCH', `/v1/organizations/${org.id}/members/${org.member.id}`, org.owner.access, { role: 'viewer' }))
          .statusCode,
      ).toBe(200);
      const res = await exchangeRequest(t.app, mailer, subject, crm);
      expect(decodeJwt(res.json().access_token).permissions).toEqual([readScope(crm)]);
    });

    it('a user removed from the organization since the subject token was issued: invalid_grant', async () => {
      const { org, crm, mailer } = await setting();
      const subject = await subjectFor(org.member.refresh, org.id, mailer);
      expect((await authed(t.app, 'DELETE', `/v1/organizations/${org.id}/members/${org.member.id}`, org.owner.access)).statusCode).toBe(
        204,
      );
      expect(oauthError(await exchangeRequest(t.app, mailer, subject, crm))).toEqual([400, 'invalid_grant']);
    });

    it('a subject token for another audience is refused: Tenantry’s own, or the provider’s', async () => {
      const { org, crm, mailer } = await setting();
      // The user's token for Tenantry's API, scoped to the organization.
      const api = (
        await t.app.inject({
          method: 'POST',
          url: '/oauth/token',
          payload: { grant_type: 'refresh_token', refresh_token: org.member.refresh, organization_id: org.id },
        })
      ).json();
      expect(oauthError(await exchangeRequest(t.app, mailer, api.access_token, crm))).toEqual([400, 'invalid_grant']);
      // A token for the provider, presented by the consumer.
      const forCrm = await subjectFor(api.refresh_token, org.id, crm);
      expect(oauthError(await exchangeRequest(t.app, mailer, forCrm, crm))).toEqual([400, 'invalid_grant']);
    });

    it('a delegated token or a tool’s own token is not a subject: no chained delegation, no impersonation', async () => {
      const { org, crm, mailer } = await setting();
      await grant(org.id, org.owner.access, mailer, crm, [readScope(mailer)]);
      const delegated = (await exchangeRequest(t.app, mailer, await subjectFor(org.member.refresh, org.id, mailer), crm)).json()
        .access_token;
      // crm presents the delegated token (aud = crm) to reach mailer on the user's behalf.
      expect(oauthError(await exchangeRequest(t.app, crm, delegated, mailer))).toEqual([400, 'invalid_grant']);
      const own = (await grantTokenRequest(t.app, crm, mailer, org.id)).json().access_token;
      expect(oauthError(await exchangeRequest(t.app, crm, own, mailer))).toEqual([400, 'invalid_grant']);
    });

    it('no token without act: an unauthenticated exchange, or one naming another actor, is refused', async () => {
      const { org, crm, mailer } = await setting();
      const subject = await subjectFor(org.member.refresh, org.id, mailer);
      const anonymous = await t.app.inject({
        method: 'POST',
        url: '/oauth/token',
        payload: {
          grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
          subject_token: subject,
          subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
          resource: crm.audience,
        },
      });
      expect(anonymous.json().access_token).toBeUndefined();
      expect(anonymous.json().error).toBe('invalid_client');
      const withActor = await exchangeRequest(t.app, mailer, subject, crm, undefined, {
        actor_token: subject,
        actor_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      });
      expect(oauthError(withActor)).toEqual([400, 'invalid_request']);
      // Whatever succeeds carries act.
      const ok = await exchangeRequest(t.app, mailer, subject, crm);
      expect(decodeJwt(ok.json().access_token).act).toEqual({ sub: mailer.client_id });
    });

    it('without a covering grant: invalid_target; at the caller’s own audience or Tenantry’s: invalid_target', async () => {
      const { org, crm, mailer } = await setting({ grant: false });
      const subject = await subjectFor(org.member.refresh, org.id, mailer);
      expect(oauthError(await exchangeRequest(t.app, mailer, subject, crm))).toEqual([400, 'invalid_target']);
      expect(oauthError(await exchangeRequest(t.app, mailer, subject, mailer))).toEqual([400, 'invalid_target']);
    });

    it('the authorization server metadata lists the grant type', async () => {
      const meta = (await t.app.inject({ method: 'GET', url: '/.well-known/oauth-authorization-server' })).json();
      expect(meta.grant_types_supported).toEqual(
        expect.arrayContaining(['client_credentials', 'urn:ietf:params:oauth:grant-type:token-exchange']),
      );
    });
  });
});
