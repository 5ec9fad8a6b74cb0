// The platform's whole story, over real HTTP on loopback: Tenantry and two tools (the CRM and
// billing), each tool with its own database under forced RLS and nothing but @tenantry/sdk
// between it and Tenantry. Tenantry runs on both engines; the deliveries of its webhooks are
// made by its deliverer (what `tenantry serve` runs in the background) when the story says so.
import { ClientCredentials } from '@tenantry/sdk';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES } from '../../packages/server/test/helpers/db.js';
import { insertMembership } from '../../packages/server/test/helpers/fixtures.js';
import { createOrg } from '../../packages/server/test/helpers/orgs.js';
import { authed, type SignedUp, signupUser } from '../../packages/server/test/helpers/users.js';
import { call, startTenantry, startTools, type Tenantry } from './helpers/platform.js';

describe.each(ENGINES)('the platform story (Tenantry on %s)', (engine) => {
  let tn: Tenantry;
  let tools: Awaited<ReturnType<typeof startTools>>;
  let ownerA: SignedUp;
  let ownerB: SignedUp;
  let clerk: SignedUp; // a member of A who works in both tools
  let orgA: string;
  let orgB: string;
  let grantId: string;
  const tokenFor: Record<string, { crm: string; billing: string }> = {};

  const api = (method: string, url: string, token: string, payload?: unknown) => authed(tn.t.app, method, url, token, payload);
  /** The user's access token for a tool (aud = the tool), in an organization. */
  const userTokenFor = async (user: SignedUp, orgId: string, audience: string) => {
    const res = await tn.t.app.inject({
      method: 'POST',
      url: '/oauth/token',
      payload: { grant_type: 'refresh_token', refresh_token: user.refresh, organization_id: orgId, resource: audience },
    });
    expect(res.statusCode, res.body).toBe(200);
    user.refresh = res.json().refresh_token;
    return res.json().access_token as string;
  };
  const grantTokenAsBilling = (orgId: string, scope = 'crm:contacts:read') =>
    new ClientCredentials({
      tokenEndpoint: `${tn.url}/oauth/token`,
      clientId: tools.billing.clientId,
      clientSecret: tools.billing.clientSecret,
      organizationId: orgId,
      resource: tools.crm.audience,
      scope,
    }).token();
  const contactsUrl = (orgId: string) => `${tools.crm.url}/orgs/${orgId}/contacts`;
  const invoicesUrl = (orgId: string) => `${tools.billing.url}/orgs/${orgId}/invoices`;

  beforeAll(async () => {
    tn = await startTenantry(engine);
    // 1. The platform operator registers both tools; each starts with its own database.
    tools = await startTools(tn);
    // 2. Two customers' organizations; A has a clerk (a plain member).
    ownerA = await signupUser(tn.t.app);
    ownerB = await signupUser(tn.t.app);
    clerk = await signupUser(tn.t.app);
    orgA = (await createOrg(tn.t.app, ownerA, { name: 'Acme' })).id;
    orgB = (await createOrg(tn.t.app, ownerB, { name: 'Globex' })).id;
    await insertMembership(tn.t.db, orgA, clerk.id, 'member'); // as if they had accepted an invitation
    // 3. Each owner enables both tools in their organization.
    for (const [org, owner] of [
      [orgA, ownerA],
      [orgB, ownerB],
    ] as const) {
      for (const tool of [tools.crm, tools.billing]) {
        const res = await api('PUT', `/v1/organizations/${org}/tools/${tool.id}`, owner.access, {});
        expect(res.statusCode, res.body).toBe(200);
      }
    }
    // 4. Only A's owner lets billing read the CRM's contacts.
    const grant = await api('POST', `/v1/organizations/${orgA}/sharing-grants`, ownerA.access, {
      provider_tool_id: tools.crm.id,
      consumer_tool_id: tools.billing.id,
      scopes: ['crm:contacts:read'],
      purpose: 'Billing addresses on invoices',
    });
    expect(grant.statusCode, grant.body).toBe(201);
    grantId = grant.json().id;
    tokenFor.clerk = {
      crm: await userTokenFor(clerk, orgA, tools.crm.audience),
      billing: await userTokenFor(clerk, orgA, tools.billing.audience),
    };
    tokenFor.ownerB = {
      crm: await userTokenFor(ownerB, orgB, tools.crm.audience),
      billing: await userTokenFor(ownerB, orgB, tools.billing.audience),
    };
  });
  afterAll(async () => {
    await tools?.close();
    await tn?.deliverer.stop();
    await tn?.t.close();
  });

  it('billing reads its customer’s contacts through the CRM under the grant, in that organization only', async () => {
    const alice = await call(contactsUrl(orgA), tokenFor.clerk!.crm, {
      name: 'Alice',
      email: 'alice@acme.test',
      address: '1 Main St, Springfield',
    });
    expect(alice.status, JSON.stringify(alice.body)).toBe(201);
    const bob = await call(contactsUrl(orgB), tokenFor.ownerB!.crm, {
      name: 'Bob',
      email: 'bob@globex.test',
      address: '2 Side Rd, Shelbyville',
    });
    expect(bob.status).toBe(201);
    const invoice = await call(invoicesUrl(orgA), tokenFor.clerk!.billing, {
      contact_id: alice.body.id,
      amount_cents: 12_000,
      description: 'Widgets',
    });
    expect(invoice.status, JSON.stringify(invoice.body)).toBe(201);
    expect(
      (await call(invoicesUrl(orgB), tokenFor.ownerB!.billing, { contact_id: bob.body.id, amount_cents: 500, description: 'Gadgets' }))
        .status,
    ).toBe(201);

    const a = await call(invoicesUrl(orgA), tokenFor.clerk!.billing);
    expect(a.status).toBe(200);
    expect(a.body).toEqual({
      data: [
        {
          id: invoice.body.id,
          contact_id: alice.body.id,
          amount_cents: 12_000,
          description: 'Widgets',
          bill_to: { name: 'Alice', address: '1 Main St, Springfield' },
        },
      ],
      crm: { ok: true },
    });
    // B made no grant: Tenantry issues billing no token for the CRM there.
    const b = await call(invoicesUrl(orgB), tokenFor.ownerB!.billing);
    expect(b.body.crm).toEqual({ refused: 'invalid_target' });
    expect(b.body.data[0].bill_to).toBeNull();
    await expect(grantTokenAsBilling(orgB)).rejects.toThrow(/invalid_target/);
    // Nor a scope the grant does not cover.
    await expect(grantTokenAsBilling(orgA, 'crm:contacts:write')).rejects.toThrow(/invalid_scope/);
  });

  it('the CRM serves a grant-bound token only on its shareable route, and never another organization’s rows', async () => {
    const token = await grantTokenAsBilling(orgA);
    expect(decodeJwt(token)).toMatchObject({ grant_id: grantId, org_id: orgA, aud: tools.crm.audience });
    const read = await call(contactsUrl(orgA), token);
    expect(read.status).toBe(200);
    expect(read.body.data.map((c: { name: string }) => c.name)).toEqual(['Alice']);
    // Not the write route (not shareable, and not in the grant), not B's organization (404).
    expect((await call(contactsUrl(orgA), token, { name: 'Mallory', email: 'm@evil.test', address: 'x' })).status).toBe(403);
    expect((await call(contactsUrl(orgB), token)).status).toBe(404);
  });

  it('revoking the grant cuts billing off at once, not when its token expires', async () => {
    const held = await grantTokenAsBilling(orgA);
    expect((await call(contactsUrl(orgA), held)).status).toBe(200);
    expect((await api('DELETE', `/v1/organizations/${orgA}/sharing-grants/${grantId}`, ownerA.access)).statusCode).toBe(204);
    await tn.deliverer.runOnce(); // sharing_grant.revoked reaches the CRM
    expect(decodeJwt(held).exp! * 1000).toBeGreaterThan(Date.now() + 60_000); // still minutes from expiring
    expect((await call(contactsUrl(orgA), held)).status).toBe(401);
    const a = await call(invoicesUrl(orgA), tokenFor.clerk!.billing);
    expect(a.body.crm).toEqual({ refused: 'invalid_target' }); // billing asked again: no grant, no token
    expect(a.body.data[0].bill_to).toBeNull();
  });

  it('a member removed in Tenantry is refused by both tools immediately', async () => {
    expect((await call(contactsUrl(orgA), tokenFor.clerk!.crm)).status).toBe(200);
    expect((await call(invoicesUrl(orgA), tokenFor.clerk!.billing)).status).toBe(200);
    expect((await api('DELETE', `/v1/organizations/${orgA}/members/${clerk.id}`, ownerA.access)).statusCode).toBe(204);
    await tn.deliverer.runOnce(); // member.removed reaches both tools
    expect((await call(contactsUrl(orgA), tokenFor.clerk!.crm)).status).toBe(401);
    expect((await call(invoicesUrl(orgA), tokenFor.clerk!.billing)).status).toBe(401);
    // The other organization's people are untouched.
    expect((await call(contactsUrl(orgB), tokenFor.ownerB!.crm)).status).toBe(200);
  });
});
