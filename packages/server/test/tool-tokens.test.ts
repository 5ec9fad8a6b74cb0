import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from './helpers/app.js';
import { ENGINES } from './helpers/db.js';
import { orgWithRoles } from './helpers/orgs.js';
import { basic, enableTool, platformAdminToken, registerTool, tokenRequest, toolToken } from './helpers/tools.js';
import { authed, refreshToken } from './helpers/users.js';

// Enablement and tool tokens (SPEC §10): an organization's admins enable a tool with
// scopes; the tool gets client_credentials tokens for that organization only, and uses
// them on Tenantry's API within its enabled permissions.

describe.each(ENGINES)('tool tokens (%s)', (engine) => {
  let t: TestApp;
  let admin: string;
  beforeAll(async () => {
    t = await startApp(engine);
    admin = await platformAdminToken(t);
  });
  afterAll(() => t.close());

  const req = (method: string, url: string, token: string, payload?: unknown) => authed(t.app, method, url, token, payload);

  it('issues a 600 s token with exactly the claims of §10 and no refresh token', async () => {
    const org = await orgWithRoles(t.app, t.db);
    const tool = await registerTool(t, admin);
    await enableTool(t, org.admin.access, org.id, tool.id, ['members:read', `${tool.slug}:contacts:read`]);
    const res = await tokenRequest(
      t,
      { grant_type: 'client_credentials', organization_id: org.id },
      { authorization: basic(tool.clientId, tool.secret) },
    );
    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    const b = res.json();
    expect(b).toEqual({
      access_token: expect.any(String),
      token_type: 'Bearer',
      expires_in: 600,
      scope: `members:read ${tool.slug}:contacts:read`,
      organization_id: org.id,
    });
    const claims = decodeJwt(b.access_token);
    expect(Object.keys(claims).sort()).toEqual([
      'aud',
      'client_id',
      'exp',
      'iat',
      'iss',
      'jti',
      'org_id',
      'permissions',
      'principal',
      'scope',
      'sub',
    ]);
    expect(claims).toMatchObject({ sub: tool.clientId, client_id: tool.clientId, principal: 'tool', org_id: org.id });
    expect(claims.exp! - claims.iat!).toBe(600);

    // Requested ∩ enabled; the tool's own audience gives a token for itself.
    const narrow = await tokenRequest(
      t,
      { grant_type: 'client_credentials', organization_id: org.id, scope: 'members:read organization:read', resource: tool.audience },
      { authorization: basic(tool.clientId, tool.secret) },
    );
    expect(narrow.json().scope).toBe('members:read');
    expect(decodeJwt(narrow.json().access_token).aud).toBe(tool.audience);
    const none = await tokenRequest(
      t,
      { grant_type: 'client_credentials', organization_id: org.id, scope: 'organization:read' },
      { authorization: basic(tool.clientId, tool.secret) },
    );
    expect([none.statusCode, none.json().error]).toEqual([400, 'invalid_scope']);
  });

  it('authenticates by client_secret_post too, and refuses a bad secret or a disabled tool with invalid_client', async () => {
    const org = await orgWithRoles(t.app, t.db);
    const tool = await registerTool(t, admin);
    await enableTool(t, org.owner.access, org.id, tool.id);
    const post = await tokenRequest(t, {
      grant_type: 'client_credentials',
      organization_id: org.id,
      client_id: tool.clientId,
      client_secret: tool.secret,
    });
    expect(post.statusCode).toBe(200);
    const bad = await tokenRequest(
      t,
      { grant_type: 'client_credentials', organization_id: org.id },
      { authorization: basic(tool.clientId, `${tool.secret}x`) },
    );
    expect([bad.statusCode, bad.json().error]).toEqual([401, 'invalid_client']);
    expect(bad.headers['www-authenticate']).toMatch(/^Basic/);
    const unknown = await tokenRequest(t, { grant_type: 'client_credentials', client_id: 'nobody', client_secret: tool.secret });
    expect([unknown.statusCode, unknown.json().error]).toEqual([401, 'invalid_client']);
    const noAuth = await tokenRequest(t, { grant_type: 'client_credentials', organization_id: org.id });
    expect([noAuth.statusCode, noAuth.json().error]).toEqual([401, 'invalid_client']);
    await req('POST', `/v1/tools/${tool.id}/disable`, admin);
    const off = await tokenRequest(
      t,
      { grant_type: 'client_credentials', organization_id: org.id },
      { authorization: basic(tool.clientId, tool.secret) },
    );
    expect([off.statusCode, off.json().error]).toEqual([401, 'invalid_client']);
    // The credential's use is recorded.
    const creds = (await req('GET', `/v1/tools/${tool.id}/credentials`, admin)).json().data;
    expect(creds[0].last_used_at).not.toBeNull();
  });

  it('a tool enabled in A gets for B the same invalid_grant as for a missing, suspended or archived organization', async () => {
    const a = await orgWithRoles(t.app, t.db, 'Tenant A');
    const b = await orgWithRoles(t.app, t.db, 'Tenant B');
    const suspended = await orgWithRoles(t.app, t.db, 'Suspended');
    const archived = await orgWithRoles(t.app, t.db, 'Archived');
    const disabledHere = await orgWithRoles(t.app, t.db, 'Disabled here');
    const tool = await registerTool(t, admin);
    for (const o of [a, suspended, archived, disabledHere]) await enableTool(t, o.owner.access, o.id, tool.id);
    await req('POST', `/v1/organizations/${suspended.id}/suspend`, admin);
    await req('DELETE', `/v1/organizations/${archived.id}`, archived.owner.access);
    await req('DELETE', `/v1/organizations/${disabledHere.id}/tools/${tool.id}`, disabledHere.owner.access);
    const ask = (orgId: string) =>
      tokenRequest(t, { grant_type: 'client_credentials', organization_id: orgId }, { authorization: basic(tool.clientId, tool.secret) });
    expect((await ask(a.id)).statusCode).toBe(200);
    const answers = await Promise.all(
      [b.id, '00000000-0000-7000-8000-000000000000', suspended.id, archived.id, disabledHere.id].map(async (id) => {
        const r = await ask(id);
        return [r.statusCode, r.body];
      }),
    );
    const first = answers[0]!;
    expect(first[0]).toBe(400);
    expect(JSON.parse(first[1] as string).error).toBe('invalid_grant');
    for (const x of answers) expect(x).toEqual(first);
  });

  it('works on Tenantry’s API within its enabled permissions and its organization only', async () => {
    const a = await orgWithRoles(t.app, t.db, 'Tenant A');
    const b = await orgWithRoles(t.app, t.db, 'Tenant B');
    const tool = await registerTool(t, admin);
    await enableTool(t, a.owner.access, a.id, tool.id, ['members:read']);
    await enableTool(t, b.owner.access, b.id, tool.id, ['members:read']);
    const token = await toolToken(t, tool, a.id);
    const members = await req('GET', `/v1/organizations/${a.id}/members?limit=2`, token);
    expect(members.statusCode).toBe(200);
    expect(members.json().data).toHaveLength(2);
    const next = await req('GET', `/v1/organizations/${a.id}/members?limit=2&cursor=${members.json().next_cursor}`, token);
    expect(next.json().data).toHaveLength(2);
    const ids = [...members.json().data, ...next.json().data].map((m: { user_id: string }) => m.user_id);
    expect(new Set(ids).size).toBe(4);
    // organization:read is not enabled: 403; another organization, even one that enabled it: 404.
    expect((await req('GET', `/v1/organizations/${a.id}`, token)).statusCode).toBe(403);
    expect((await req('GET', `/v1/organizations/${b.id}/members`, token)).statusCode).toBe(404);
    expect((await req('GET', `/v1/organizations/${b.id}`, token)).statusCode).toBe(404);
    // Routes that do not declare tools refuse them.
    expect((await req('GET', `/v1/organizations/${a.id}/audit-events`, token)).statusCode).toBe(403);
    expect((await req('GET', '/v1/organizations', token)).statusCode).toBe(403);
  });

  it('re-reads the enablement per request: widening needs a new token, disabling stops the token at once', async () => {
    const org = await orgWithRoles(t.app, t.db);
    const tool = await registerTool(t, admin);
    await enableTool(t, org.admin.access, org.id, tool.id, ['members:read', 'organization:read']);
    const token = await toolToken(t, tool, org.id);
    expect((await req('GET', `/v1/organizations/${org.id}`, token)).statusCode).toBe(200);
    // Narrowed: the permission left the enablement, so the token no longer carries it here.
    await enableTool(t, org.admin.access, org.id, tool.id, ['members:read']);
    expect((await req('GET', `/v1/organizations/${org.id}`, token)).statusCode).toBe(403);
    expect((await req('GET', `/v1/organizations/${org.id}/members`, token)).statusCode).toBe(200);
    expect((await req('DELETE', `/v1/organizations/${org.id}/tools/${tool.id}`, org.admin.access)).statusCode).toBe(204);
    expect((await req('GET', `/v1/organizations/${org.id}/members`, token)).statusCode).toBe(404);
    // Enabled again: the same token works again (it is still within its 600 s); a registry disable stops it too.
    await enableTool(t, org.admin.access, org.id, tool.id);
    expect((await req('GET', `/v1/organizations/${org.id}/members`, token)).statusCode).toBe(200);
    await req('POST', `/v1/tools/${tool.id}/disable`, admin);
    expect((await req('GET', `/v1/organizations/${org.id}/members`, token)).statusCode).toBe(401);
  });

  it('lists the organization’s tools with their state; enabling and disabling are audited with the user as actor', async () => {
    const org = await orgWithRoles(t.app, t.db);
    const tool = await registerTool(t, admin);
    const before = await req('GET', `/v1/organizations/${org.id}/tools?limit=100`, org.member.access);
    expect(before.statusCode).toBe(200);
    expect(before.json().data.find((x: { tool_id: string }) => x.tool_id === tool.id)).toMatchObject({ status: 'not_enabled', scopes: [] });
    const enabled = await enableTool(t, org.admin.access, org.id, tool.id, ['members:read']);
    expect(enabled).toMatchObject({ tool_id: tool.id, status: 'active', scopes: ['members:read'], enabled_by: org.admin.id });
    await enableTool(t, org.admin.access, org.id, tool.id, ['members:read']); // unchanged: no event
    await enableTool(t, org.admin.access, org.id, tool.id, ['members:read', `${tool.slug}:contacts:read`]);
    await req('DELETE', `/v1/organizations/${org.id}/tools/${tool.id}`, org.admin.access);
    expect((await req('DELETE', `/v1/organizations/${org.id}/tools/${tool.id}`, org.admin.access)).statusCode).toBe(404);
    const log = (await req('GET', `/v1/organizations/${org.id}/audit-events?limit=100`, org.owner.access)).json().data;
    const tools = log
      .filter((e: { action: string }) => e.action.startsWith('organization_tool.'))
      .map((e: { action: string; actor: { type: string; id: string }; data: Record<string, unknown> }) => [
        e.action,
        e.actor.type,
        e.actor.id,
        e.data,
      ]);
    expect(tools.reverse()).toEqual([
      ['organization_tool.enabled', 'user', org.admin.id, { scopes: ['members:read'] }],
      [
        'organization_tool.updated',
        'user',
        org.admin.id,
        { scopes: ['members:read', `${tool.slug}:contacts:read`], previous_scopes: ['members:read'] },
      ],
      ['organization_tool.disabled', 'user', org.admin.id, {}],
    ]);
    const events = (await req('GET', `/v1/organizations/${org.id}/events?limit=100`, org.owner.access)).json().data;
    expect(
      events
        .filter((e: { type: string }) => e.type.startsWith('organization_tool.'))
        .map((e: { data: { tool_id: string } }) => e.data.tool_id),
    ).toEqual([tool.id, tool.id, tool.id]);
  });

  it('only admins and owners enable; a tool’s Tenantry permissions never exceed the enabler’s', async () => {
    const org = await orgWithRoles(t.app, t.db);
    const tool = await registerTool(t, admin, {
      scopes: [{ name: 'audit:read' }, { name: 'members:read' }, { name: 'owners:manage' }],
    });
    expect((await req('PUT', `/v1/organizations/${org.id}/tools/${tool.id}`, org.member.access, {})).statusCode).toBe(403);
    const above = await req('PUT', `/v1/organizations/${org.id}/tools/${tool.id}`, org.admin.access, {
      scopes: ['members:read', 'owners:manage'],
    });
    expect([above.statusCode, above.json().code]).toEqual([403, 'FORBIDDEN']);
    const unknown = await req('PUT', `/v1/organizations/${org.id}/tools/${tool.id}`, org.admin.access, { scopes: ['data:write'] });
    expect([unknown.statusCode, unknown.json().code]).toEqual([400, 'VALIDATION_FAILED']);
    // Without a list, the admin grants what the catalogue has and they hold: not owners:manage.
    const dflt = await enableTool(t, org.admin.access, org.id, tool.id);
    expect(dflt.scopes.sort()).toEqual(['audit:read', 'members:read']);
    const token = await toolToken(t, tool, org.id, { scope: 'owners:manage audit:read' });
    expect(decodeJwt(token).permissions).toEqual(['audit:read']);
    // An owner may grant it.
    const byOwner = await enableTool(t, org.owner.access, org.id, tool.id, ['owners:manage']);
    expect(byOwner.scopes).toEqual(['owners:manage']);
  });

  it('a discovery token (no organization_id) lists the tool’s organizations and serves nothing else', async () => {
    const a = await orgWithRoles(t.app, t.db);
    const b = await orgWithRoles(t.app, t.db);
    const c = await orgWithRoles(t.app, t.db);
    const tool = await registerTool(t, admin);
    await enableTool(t, a.owner.access, a.id, tool.id, ['members:read']);
    await enableTool(t, b.owner.access, b.id, tool.id);
    await enableTool(t, c.owner.access, c.id, tool.id);
    await req('DELETE', `/v1/organizations/${c.id}/tools/${tool.id}`, c.owner.access);
    const token = await toolToken(t, tool);
    expect(decodeJwt(token).org_id).toBeUndefined();
    const first = await req('GET', '/v1/tool/organizations?limit=1', token);
    expect(first.statusCode).toBe(200);
    const second = await req('GET', `/v1/tool/organizations?limit=1&cursor=${first.json().next_cursor}`, token);
    expect(second.json().next_cursor).toBeNull();
    const seen = [...first.json().data, ...second.json().data];
    expect(seen.map((x: { organization_id: string }) => x.organization_id).sort()).toEqual([a.id, b.id].sort());
    expect(seen.find((x: { organization_id: string }) => x.organization_id === a.id).scopes).toEqual(['members:read']);
    expect((await req('GET', `/v1/organizations/${a.id}/members`, token)).statusCode).toBe(404);
    // A scoped tool token and a user's token are refused at discovery.
    expect((await req('GET', '/v1/tool/organizations', await toolToken(t, tool, a.id))).statusCode).toBe(403);
    expect((await req('GET', '/v1/tool/organizations', a.owner.access)).statusCode).toBe(403);
  });

  it('a user’s token for a tool: refresh with resource = its audience, refused when the tool is not enabled there', async () => {
    const org = await orgWithRoles(t.app, t.db);
    const tool = await registerTool(t, admin);
    const other = await registerTool(t, admin);
    await enableTool(t, org.owner.access, org.id, tool.id);
    const login = await t.app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { email: org.member.email, password: 'correct horse battery staple', organization_id: org.id },
    });
    const refresh = login.json().refresh_token;
    const forTool = await refreshToken(t.app, refresh, { resource: tool.audience });
    expect(forTool.statusCode).toBe(200);
    const claims = decodeJwt(forTool.json().access_token);
    expect(claims).toMatchObject({ aud: tool.audience, principal: 'user', sub: org.member.id, org_id: org.id, org_role: 'member' });
    // Meant for the tool, not for Tenantry's API.
    expect((await req('GET', '/v1/me', forTool.json().access_token)).statusCode).toBe(401);
    const refused = await refreshToken(t.app, forTool.json().refresh_token, { resource: other.audience });
    expect([refused.statusCode, refused.json().error]).toEqual([400, 'invalid_target']);
    // The refusal rolled back: the presented refresh token still works.
    const again = await refreshToken(t.app, forTool.json().refresh_token);
    expect(again.statusCode).toBe(200);
    expect(decodeJwt(again.json().access_token).principal).toBe('user');
  });

  it('lists the new grants and client authentication methods in the RFC 8414 metadata', async () => {
    const m = (await t.app.inject({ method: 'GET', url: '/.well-known/oauth-authorization-server' })).json();
    expect(m.grant_types_supported).toEqual(expect.arrayContaining(['refresh_token', 'client_credentials']));
    expect(m.token_endpoint_auth_methods_supported).toEqual(
      expect.arrayContaining(['client_secret_basic', 'client_secret_post', 'private_key_jwt']),
    );
    expect(m.token_endpoint_auth_signing_alg_values_supported).toEqual(['EdDSA', 'ES256', 'RS256']);
    expect(m.introspection_endpoint).toMatch(/\/oauth\/introspect$/);
  });
});
