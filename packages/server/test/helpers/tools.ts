import { uuidv7 } from '../../src/db/ids.js';
import { ensurePlatformAdmin } from '../../src/modules/identity/identity.service.js';
import type { TestApp } from './app.js';
import { authed, PASSWORD } from './users.js';

export interface RegisteredTool {
  id: string;
  slug: string;
  clientId: string;
  audience: string;
  secret: string;
  credentialId: string;
}

/** A platform admin's access token (the account is made once per database). */
export async function platformAdminToken(t: TestApp): Promise<string> {
  const email = 'tools-operator@platform.example';
  await ensurePlatformAdmin(t.db, email, PASSWORD);
  const login = await t.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email, password: PASSWORD } });
  if (login.statusCode !== 200) throw new Error(`platform admin login failed: ${login.body}`);
  return login.json().access_token as string;
}

/** A tool registered over the API, with a catalogue of its own scopes and Tenantry's members:read. */
export async function registerTool(t: TestApp, adminToken: string, extra: Record<string, unknown> = {}): Promise<RegisteredTool> {
  const slug = `t${uuidv7().slice(-10)}`;
  const res = await authed(t.app, 'POST', '/v1/tools', adminToken, {
    slug,
    name: `Tool ${slug}`,
    audience: `https://${slug}.tools.example.com`,
    scopes: [
      { name: `${slug}:contacts:read`, description: 'Read contacts', shareable: true },
      { name: `${slug}:contacts:write`, description: 'Write contacts', requires: 'data:write' },
      { name: 'members:read', description: 'Tenantry members' },
      { name: 'organization:read', description: 'Tenantry organization' },
    ],
    ...extra,
  });
  if (res.statusCode !== 201) throw new Error(`register tool failed: ${res.statusCode} ${res.body}`);
  const b = res.json();
  return {
    id: b.tool.id,
    slug,
    clientId: b.tool.client_id,
    audience: b.tool.audience,
    secret: b.client_secret,
    credentialId: b.credential_id,
  };
}

/** Enables `toolId` in `orgId` as the caller (an admin or owner of it). */
export async function enableTool(t: TestApp, token: string, orgId: string, toolId: string, scopes?: string[]) {
  const res = await authed(t.app, 'PUT', `/v1/organizations/${orgId}/tools/${toolId}`, token, scopes ? { scopes } : {});
  if (res.statusCode !== 200) throw new Error(`enable tool failed: ${res.statusCode} ${res.body}`);
  return res.json();
}

export const basic = (clientId: string, secret: string) =>
  `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64')}`;

/** POST /oauth/token as a form, as stock OAuth clients send it. */
export const tokenRequest = (t: TestApp, form: Record<string, string>, headers: Record<string, string> = {}) =>
  t.app.inject({
    method: 'POST',
    url: '/oauth/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    payload: new URLSearchParams(form).toString(),
  });

/** A client_credentials token of the tool for `orgId` (or a discovery token without it), by client_secret_basic. */
export async function toolToken(t: TestApp, tool: RegisteredTool, orgId?: string, extra: Record<string, string> = {}) {
  const res = await tokenRequest(
    t,
    { grant_type: 'client_credentials', ...(orgId ? { organization_id: orgId } : {}), ...extra },
    { authorization: basic(tool.clientId, tool.secret) },
  );
  if (res.statusCode !== 200) throw new Error(`tool token failed: ${res.statusCode} ${res.body}`);
  return res.json().access_token as string;
}
