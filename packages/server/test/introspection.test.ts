import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKey, expireKeyIn } from './helpers/api-keys.js';
import { startApp, type TestApp } from './helpers/app.js';
import { ENGINES } from './helpers/db.js';
import { type OrgWithRoles, orgWithRoles } from './helpers/orgs.js';
import { basic, enableTool, platformAdminToken, type RegisteredTool, registerTool, toolToken } from './helpers/tools.js';
import { authed, refreshToken } from './helpers/users.js';

// POST /oauth/introspect (RFC 7662): a tool asks about an API key or an access token, and
// learns about it only when the token is meant for it.

describe.each(ENGINES)('introspection (%s)', (engine) => {
  let t: TestApp;
  let org: OrgWithRoles;
  let toolA: RegisteredTool;
  let toolB: RegisteredTool;
  /** Registered, but never enabled in `org`. */
  let outsider: RegisteredTool;
  beforeAll(async () => {
    t = await startApp(engine);
    const admin = await platformAdminToken(t);
    org = await orgWithRoles(t.app, t.db, 'Introspected');
    toolA = await registerTool(t, admin);
    toolB = await registerTool(t, admin);
    outsider = await registerTool(t, admin);
    await enableTool(t, org.owner.access, org.id, toolA.id);
    await enableTool(t, org.owner.access, org.id, toolB.id);
  });
  afterAll(() => t.close());

  const ask = (tool: RegisteredTool, token: string, extra: Record<string, string> = {}) =>
    t.app.inject({
      method: 'POST',
      url: '/oauth/introspect',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(tool.clientId, tool.secret) },
      payload: new URLSearchParams({ token, ...extra }).toString(),
    });

  it('is in the RFC 8414 metadata with the tools’ client authentication methods', async () => {
    const m = (await t.app.inject({ method: 'GET', url: '/.well-known/oauth-authorization-server' })).json();
    expect(m.introspection_endpoint).toMatch(/\/oauth\/introspect$/);
    expect(m.introspection_endpoint_auth_methods_supported).toEqual(['client_secret_basic', 'client_secret_post', 'private_key_jwt']);
  });

  it('a key for no tool is any enabled tool’s: active, with only the caller’s own scopes among the key’s', async () => {
    const k = await createKey(t.app, org.id, org.admin.access, {
      scopes: ['members:read', `${toolA.slug}:contacts:read`, `${toolB.slug}:contacts:read`],
      expires_in: 3600,
    });
    const res = await ask(toolA, k.key);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    const a = res.json();
    expect(a).toMatchObject({ active: true, principal: 'api_key', sub: k.id, org_id: org.id });
    // members:read is in tool A's catalogue too (registerTool); tool B's scope is not A's business.
    expect(a.scope.split(' ').sort()).toEqual(['members:read', `${toolA.slug}:contacts:read`]);
    expect(a.exp).toBe(Math.floor(new Date(k.expires_at!).getTime() / 1000));
    expect((await ask(toolB, k.key)).json().scope.split(' ').sort()).toEqual(['members:read', `${toolB.slug}:contacts:read`]);
  });

  it('a tool not enabled in the key’s organization learns nothing (active: false)', async () => {
    const k = await createKey(t.app, org.id, org.admin.access);
    expect((await ask(outsider, k.key)).json()).toEqual({ active: false });
  });

  it('introspection by the wrong audience answers active: false: a key for tool A, asked by tool B', async () => {
    const k = await createKey(t.app, org.id, org.admin.access, { scopes: [`${toolA.slug}:contacts:read`], audience: toolA.audience });
    expect((await ask(toolB, k.key)).json()).toEqual({ active: false });
    expect((await ask(toolA, k.key)).json()).toMatchObject({ active: true, principal: 'api_key' });
  });

  it('introspection of a revoked key answers active: false at once', async () => {
    const k = await createKey(t.app, org.id, org.admin.access);
    expect((await ask(toolA, k.key)).json().active).toBe(true);
    expect((await authed(t.app, 'DELETE', `/v1/organizations/${org.id}/api-keys/${k.id}`, org.admin.access)).statusCode).toBe(204);
    expect((await ask(toolA, k.key)).json()).toEqual({ active: false });
  });

  it('an expired key, a malformed key and a forged one are inactive', async () => {
    const k = await createKey(t.app, org.id, org.admin.access);
    await expireKeyIn(t.db, k.id, -1);
    expect((await ask(toolA, k.key)).json()).toEqual({ active: false });
    for (const token of [`${k.key.slice(0, -1)}${k.key.endsWith('x') ? 'y' : 'x'}`, 'tnty_nope', 'not-a-token', 'a.b.c']) {
      expect((await ask(toolA, token)).json(), token).toEqual({ active: false });
    }
  });

  it('a key of an organization where the caller’s enablement was disabled is inactive', async () => {
    const o = await orgWithRoles(t.app, t.db, 'Disabled tool org');
    await enableTool(t, o.owner.access, o.id, toolA.id);
    const k = await createKey(t.app, o.id, o.admin.access);
    expect((await ask(toolA, k.key)).json().active).toBe(true);
    expect((await authed(t.app, 'DELETE', `/v1/organizations/${o.id}/tools/${toolA.id}`, o.owner.access)).statusCode).toBe(204);
    expect((await ask(toolA, k.key)).json()).toEqual({ active: false });
  });

  it('a user’s token for tool A is active for A, inactive for B; a token for Tenantry’s API is inactive for both', async () => {
    const login = await t.app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { email: org.member.email, password: 'correct horse battery staple', organization_id: org.id },
    });
    const forA = await refreshToken(t.app, login.json().refresh_token, { organization_id: org.id, resource: toolA.audience });
    expect(forA.statusCode, forA.body).toBe(200);
    const token = forA.json().access_token as string;
    const a = (await ask(toolA, token)).json();
    expect(a).toMatchObject({
      active: true,
      principal: 'user',
      sub: org.member.id,
      org_id: org.id,
      client_id: 'tenantry',
      aud: toolA.audience,
    });
    expect(a.scope.split(' ')).toContain('members:read');
    expect((await ask(toolB, token)).json()).toEqual({ active: false });
    expect((await ask(toolA, login.json().access_token)).json()).toEqual({ active: false });
    // Logout ends the session: its token for the tool is inactive at once.
    await t.app.inject({ method: 'POST', url: '/oauth/revoke', payload: { token: forA.json().refresh_token } });
    expect((await ask(toolA, token)).json()).toEqual({ active: false });
  });

  it('a tool’s token for its own audience is active for it; its API token is not', async () => {
    const own = await toolToken(t, toolA, org.id, { resource: toolA.audience });
    expect((await ask(toolA, own)).json()).toMatchObject({ active: true, principal: 'tool', sub: toolA.clientId, org_id: org.id });
    expect((await ask(toolB, own)).json()).toEqual({ active: false });
    const api = await toolToken(t, toolA, org.id);
    expect((await ask(toolA, api)).json()).toEqual({ active: false });
  });

  it('refuses a caller that is not an authenticated tool, in the OAuth error format', async () => {
    const k = await createKey(t.app, org.id, org.admin.access);
    const none = await t.app.inject({ method: 'POST', url: '/oauth/introspect', payload: { token: k.key } });
    expect(none.statusCode).toBe(401);
    expect(none.json().error).toBe('invalid_client');
    const wrong = await t.app.inject({
      method: 'POST',
      url: '/oauth/introspect',
      headers: { authorization: basic(toolA.clientId, `${toolA.secret}x`) },
      payload: { token: k.key },
    });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json()).toMatchObject({ error: 'invalid_client' });
    // A user's bearer token is no client authentication either.
    const asUser = await t.app.inject({
      method: 'POST',
      url: '/oauth/introspect',
      headers: { authorization: `Bearer ${org.admin.access}` },
      payload: { token: k.key },
    });
    expect(asUser.statusCode).toBe(401);
    const missing = await ask(toolA, '');
    expect([200, 400]).toContain(missing.statusCode);
  });

  it('takes client_secret_post and JSON bodies too', async () => {
    const k = await createKey(t.app, org.id, org.admin.access);
    const res = await t.app.inject({
      method: 'POST',
      url: '/oauth/introspect',
      payload: { token: k.key, client_id: toolA.clientId, client_secret: toolA.secret, token_type_hint: 'api_key', unknown: 'ignored' },
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().active).toBe(true);
  });
});
