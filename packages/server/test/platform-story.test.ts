import { createServer } from 'node:net';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../src/app.js';
import { buildApp } from '../src/app.js';
import { testConfig } from '../src/config.js';
import { ensurePlatformAdmin } from '../src/modules/identity/identity.service.js';
import { createTestDatabase, ENGINES, type TestDatabase } from './helpers/db.js';
import { PASSWORD } from './helpers/users.js';

// Issue 14, "Done when", as a story over real HTTP: a platform admin registers two tools; an
// organization's owner enables both and grants one read access to the other's shareable
// scope; each tool obtains its tokens with a stock OAuth client library (oauth4webapi) and
// uses them; and every step is in the organization's audit log.

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token';
const insecure = { [oauth.allowInsecureRequests]: true } as const;

/** A port to serve on, taken from the OS, so the issuer and endpoints the server announces are where it listens. */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const { port } = s.address() as { port: number };
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe.each(ENGINES)('the platform story (%s)', (engine) => {
  let t: TestDatabase;
  let app: App;
  let base: string;
  beforeAll(async () => {
    t = await createTestDatabase(engine);
    base = `http://127.0.0.1:${await freePort()}`;
    app = await buildApp(testConfig({ publicUrl: base, tokenIssuer: base, tokenAudience: `${base}/v1` }), t.db);
    await app.listen({ port: Number(new URL(base).port), host: '127.0.0.1' });
  });
  afterAll(async () => {
    await app.close();
    await t.drop();
  });

  /** A JSON call to Tenantry's API over HTTP. */
  async function api(method: string, path: string, token: string | null, body?: unknown) {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  }

  it('two tools share one organization’s data through a grant, each with its own tokens, all of it audited', async () => {
    // The authorization server, as any OAuth client discovers it (RFC 8414).
    const as = await oauth.processDiscoveryResponse(
      new URL(base),
      await oauth.discoveryRequest(new URL(base), { algorithm: 'oauth2', ...insecure }),
    );
    expect(as.grant_types_supported).toEqual(expect.arrayContaining(['client_credentials', TOKEN_EXCHANGE]));
    const jwks = createRemoteJWKSet(new URL(as.jwks_uri!));

    // 1. A platform admin registers two tools: a CRM that shares its contacts, and a mailer.
    await ensurePlatformAdmin(t.db, 'operator@platform.example', PASSWORD);
    const admin = (await api('POST', '/v1/auth/login', null, { email: 'operator@platform.example', password: PASSWORD })).body.access_token;
    const crmRegistered = (
      await api('POST', '/v1/tools', admin, {
        slug: 'crm',
        name: 'CRM',
        audience: 'https://crm.example.com',
        scopes: [
          { name: 'crm:contacts:read', description: 'Read contacts', shareable: true, requires: 'data:read' },
          { name: 'crm:settings:read', description: 'Read the CRM settings', shareable: false },
        ],
      })
    ).body;
    const mailerRegistered = (
      await api('POST', '/v1/tools', admin, {
        slug: 'mailer',
        name: 'Mailer',
        audience: 'https://mailer.example.com',
        scopes: [{ name: 'members:read', description: 'Tenantry: list the members to write to' }],
      })
    ).body;
    // Each answer carries the tool and its first client secret, shown this once.
    const crm = { ...crmRegistered.tool, client_secret: crmRegistered.client_secret };
    const mailer = { ...mailerRegistered.tool, client_secret: mailerRegistered.client_secret };
    expect(crm.client_secret, JSON.stringify(crmRegistered)).toBeTruthy();
    expect(mailer.client_secret, JSON.stringify(mailerRegistered)).toBeTruthy();

    // 2. Olivia creates her organization; Max is a member of it.
    const olivia = (await api('POST', '/v1/auth/signup', null, { email: 'olivia@acme.example', password: PASSWORD, name: 'Olivia' })).body;
    const acme = (await api('POST', '/v1/organizations', olivia.access_token, { name: 'Acme', industry: 'technology' })).body;
    const invitation = (
      await api('POST', `/v1/organizations/${acme.id}/invitations`, olivia.access_token, { email: 'max@acme.example', role: 'member' })
    ).body;
    const max = (
      await api('POST', '/v1/auth/signup', null, {
        email: 'max@acme.example',
        password: PASSWORD,
        name: 'Max',
        invitation_token: invitation.token,
      })
    ).body;
    expect(max.organization_id).toBe(acme.id);

    // 3. Olivia enables both tools (the mailer may list members), and grants the mailer read access to the CRM's contacts.
    const enabledCrm = await api('PUT', `/v1/organizations/${acme.id}/tools/${crm.id}`, olivia.access_token, {});
    expect(enabledCrm.status, JSON.stringify(enabledCrm.body)).toBeLessThan(300);
    const enabledMailer = await api('PUT', `/v1/organizations/${acme.id}/tools/${mailer.id}`, olivia.access_token, {
      scopes: ['members:read'],
    });
    expect(enabledMailer.status, JSON.stringify(enabledMailer.body)).toBeLessThan(300);
    const grant = await api('POST', `/v1/organizations/${acme.id}/sharing-grants`, olivia.access_token, {
      provider_tool_id: crm.id,
      consumer_tool_id: mailer.id,
      scopes: ['crm:contacts:read'],
      purpose: 'Address campaign emails by the contact’s name',
    });
    expect(grant.status).toBe(201);

    // 4. The mailer gets its own token for Acme (client_credentials) and lists Acme's members.
    const mailerClient: oauth.Client = { client_id: mailer.client_id };
    const mailerAuth = oauth.ClientSecretBasic(mailer.client_secret);
    const own = await oauth.processClientCredentialsResponse(
      as,
      mailerClient,
      await oauth.clientCredentialsGrantRequest(
        as,
        mailerClient,
        mailerAuth,
        { organization_id: acme.id, scope: 'members:read' },
        insecure,
      ),
    );
    const members = await api('GET', `/v1/organizations/${acme.id}/members`, own.access_token);
    expect(members.status).toBe(200);
    expect(members.body.data.map((m: { email: string }) => m.email).sort()).toEqual(['max@acme.example', 'olivia@acme.example']);

    // 5. The mailer gets a token for the CRM under the grant, and the CRM accepts it as the mailer's, for Acme.
    const bound = await oauth.processClientCredentialsResponse(
      as,
      mailerClient,
      await oauth.clientCredentialsGrantRequest(
        as,
        mailerClient,
        mailerAuth,
        { organization_id: acme.id, resource: crm.audience, scope: 'crm:contacts:read' },
        insecure,
      ),
    );
    const atCrm = await jwtVerify(bound.access_token, jwks, {
      issuer: as.issuer,
      audience: crm.audience,
      typ: 'at+jwt',
      algorithms: ['EdDSA'],
    });
    expect(atCrm.payload).toMatchObject({
      principal: 'tool',
      sub: mailer.client_id,
      org_id: acme.id,
      grant_id: grant.body.id,
      scope: 'crm:contacts:read',
    });
    expect(bound.expires_in).toBeLessThanOrEqual(300);

    // 6. Max opens the mailer: his session's token for the mailer (refresh with resource), which the mailer accepts.
    const firstParty: oauth.Client = { client_id: 'tenantry' };
    const forMailer = await oauth.processRefreshTokenResponse(
      as,
      firstParty,
      await oauth.refreshTokenGrantRequest(as, firstParty, oauth.None(), max.refresh_token, {
        additionalParameters: { organization_id: acme.id, resource: mailer.audience },
        ...insecure,
      }),
    );
    const atMailer = await jwtVerify(forMailer.access_token, jwks, { issuer: as.issuer, audience: mailer.audience, algorithms: ['EdDSA'] });
    expect(atMailer.payload).toMatchObject({ sub: max.user.id, org_id: acme.id });

    // 7. The mailer exchanges Max's token for one at the CRM, acting for Max (RFC 8693): the CRM sees Max, and the mailer as actor.
    const delegated = await oauth.processGenericTokenEndpointResponse(
      as,
      mailerClient,
      await oauth.genericTokenEndpointRequest(
        as,
        mailerClient,
        mailerAuth,
        TOKEN_EXCHANGE,
        { subject_token: forMailer.access_token, subject_token_type: ACCESS_TOKEN, resource: crm.audience, scope: 'crm:contacts:read' },
        insecure,
      ),
    );
    const asMax = await jwtVerify(delegated.access_token, jwks, { issuer: as.issuer, audience: crm.audience, algorithms: ['EdDSA'] });
    expect(asMax.payload).toMatchObject({
      sub: max.user.id,
      act: { sub: mailer.client_id },
      org_id: acme.id,
      grant_id: grant.body.id,
      permissions: ['crm:contacts:read'],
    });

    // 8. Every step is in Acme's audit log, with who did it.
    const log = (await api('GET', `/v1/organizations/${acme.id}/audit-events?limit=100`, olivia.access_token)).body.data as Array<{
      action: string;
      actor: { type: string; id: string | null };
    }>;
    const steps = log.map((e) => `${e.action} by ${e.actor.type}`).reverse();
    expect(steps).toEqual(
      expect.arrayContaining([
        'organization.created by user',
        'invitation.created by user',
        'invitation.accepted by user',
        'sharing_grant.created by user',
        'sharing_grant.token_issued by tool',
        'token.exchanged by tool',
      ]),
    );
    expect(log.filter((e) => e.action.startsWith('organization_tool.')).length).toBeGreaterThanOrEqual(2);
    expect(log.find((e) => e.action === 'sharing_grant.token_issued')!.actor.id).toBe(mailer.id);
  });
});
