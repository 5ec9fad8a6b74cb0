// Platform tools for the sharing-grant tests: registered by a platform admin, enabled by an
// organization's owner, and tokens asked for at the token endpoint as the tool itself.
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import type { App } from '../../src/app.js';
import type { Database } from '../../src/db/database.js';
import { uuidv7 } from '../../src/db/ids.js';
import '../../src/modules/tools/tables.js';
import { EVENT_TYPES, type EventType } from '../../src/modules/events/event-types.js';
import { ensurePlatformAdmin } from '../../src/modules/identity/identity.service.js';
import { authed, PASSWORD } from './users.js';

export interface RegisteredTool {
  id: string;
  slug: string;
  client_id: string;
  client_secret: string;
  audience: string;
}

export interface ScopeEntry {
  name: string;
  description: string;
  shareable: boolean;
  requires?: string;
}

/** A platform admin's access token (the admin is created when missing). */
export async function platformAdminToken(app: App, email = 'operator@platform.example'): Promise<string> {
  await ensurePlatformAdmin(app.db, email, PASSWORD);
  const login = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email, password: PASSWORD } });
  if (login.statusCode !== 200) throw new Error(`admin login failed: ${login.body}`);
  return login.json().access_token as string;
}

/** Registers a tool whose catalogue is `<slug>:records:read` (shareable), `<slug>:records:write` (shareable, needs data:write) and `<slug>:settings:read` (not shareable). */
export async function registerTool(app: App, adminToken: string, name: string, scopes?: ScopeEntry[]): Promise<RegisteredTool> {
  const slug = `${name}-${uuidv7().slice(-8)}`;
  const catalogue = scopes ?? [
    { name: `${slug}:records:read`, description: 'Read records', shareable: true, requires: 'data:read' },
    { name: `${slug}:records:write`, description: 'Change records', shareable: true, requires: 'data:write' },
    { name: `${slug}:settings:read`, description: 'Read settings', shareable: false },
  ];
  const res = await authed(app, 'POST', '/v1/tools', adminToken, {
    slug,
    name,
    description: `The ${name} tool`,
    audience: `https://${slug}.tools.example.com`,
    scopes: catalogue,
  });
  if (res.statusCode !== 201) throw new Error(`tool registration failed: ${res.statusCode} ${res.body}`);
  const b = res.json();
  return { id: b.tool.id, slug, client_id: b.tool.client_id, client_secret: b.client_secret, audience: b.tool.audience };
}

export const readScope = (t: RegisteredTool) => `${t.slug}:records:read`;
export const writeScope = (t: RegisteredTool) => `${t.slug}:records:write`;
export const privateScope = (t: RegisteredTool) => `${t.slug}:settings:read`;

export async function enableTool(app: App, ownerToken: string, orgId: string, tool: RegisteredTool): Promise<void> {
  const res = await authed(app, 'PUT', `/v1/organizations/${orgId}/tools/${tool.id}`, ownerToken, {});
  if (res.statusCode !== 200 && res.statusCode !== 201) throw new Error(`enable failed: ${res.statusCode} ${res.body}`);
}

export async function disableTool(app: App, ownerToken: string, orgId: string, tool: RegisteredTool): Promise<void> {
  const res = await authed(app, 'DELETE', `/v1/organizations/${orgId}/tools/${tool.id}`, ownerToken);
  if (res.statusCode !== 204 && res.statusCode !== 200) throw new Error(`disable failed: ${res.statusCode} ${res.body}`);
}

const basic = (t: RegisteredTool) =>
  `Basic ${Buffer.from(`${encodeURIComponent(t.client_id)}:${encodeURIComponent(t.client_secret)}`).toString('base64')}`;

/** POST /oauth/token as the tool (client_secret_basic), form-encoded as OAuth clients send it. */
export const toolTokenRequest = (app: App, tool: RegisteredTool, params: Record<string, string>) =>
  app.inject({
    method: 'POST',
    url: '/oauth/token',
    headers: { authorization: basic(tool), 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams(params).toString(),
  });

/** A grant-bound token request: the consumer at the provider's audience in `orgId`. */
export const grantTokenRequest = (app: App, consumer: RegisteredTool, provider: RegisteredTool, orgId: string, scope?: string) =>
  toolTokenRequest(app, consumer, {
    grant_type: 'client_credentials',
    organization_id: orgId,
    resource: provider.audience,
    ...(scope ? { scope } : {}),
  });

export const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

/** A token exchange by `caller` of a user's token for it, at `provider`'s audience. */
export const exchangeRequest = (
  app: App,
  caller: RegisteredTool,
  subjectToken: string,
  provider: RegisteredTool,
  scope?: string,
  extra: Record<string, string> = {},
) =>
  toolTokenRequest(app, caller, {
    grant_type: TOKEN_EXCHANGE,
    subject_token: subjectToken,
    subject_token_type: ACCESS_TOKEN_TYPE,
    resource: provider.audience,
    ...(scope ? { scope } : {}),
    ...extra,
  });

/** The user's access token for `tool` (`aud` = the tool): a refresh with `resource`. Returns it and the rotated refresh token. */
export async function userTokenFor(app: App, refresh: string, orgId: string, tool: RegisteredTool) {
  const res = await app.inject({
    method: 'POST',
    url: '/oauth/token',
    payload: { grant_type: 'refresh_token', refresh_token: refresh, organization_id: orgId, resource: tool.audience },
  });
  if (res.statusCode !== 200) throw new Error(`user token for tool failed: ${res.statusCode} ${res.body}`);
  return { access: res.json().access_token as string, refresh: res.json().refresh_token as string };
}

/** A tool written straight into the registry (as the migration user), for tests of grants that need no credentials. */
export async function insertTool(db: Database, name: string): Promise<RegisteredTool> {
  const id = uuidv7();
  const slug = `${name}-${id.slice(-8)}`;
  const audience = `https://${slug}.tools.example.com`;
  const scopes = [
    { name: `${slug}:records:read`, description: 'Read records', shareable: true, requires: 'data:read' },
    { name: `${slug}:records:write`, description: 'Change records', shareable: true, requires: 'data:write' },
    { name: `${slug}:settings:read`, description: 'Read settings', shareable: false, requires: 'data:read' },
  ];
  await db.kysely
    .insertInto('tools')
    .values({ id, slug, name, description: '', client_id: id, audience, scopes: JSON.stringify(scopes) })
    .execute();
  return { id, slug, client_id: id, client_secret: '', audience };
}

/** Enables a tool in an organization straight in the database. */
export async function insertEnablement(db: Database, orgId: string, tool: RegisteredTool, status: 'active' | 'disabled' = 'active') {
  await db.kysely.insertInto('organization_tools').values({ organization_id: orgId, tool_id: tool.id, status, scopes: [] }).execute();
}

const ajv = new Ajv2020.default({ strict: false });
addFormats.default(ajv);
/** True when `data` is valid against the published schema of the event type (GET /v1/event-types). */
export const validEventData = (type: EventType, data: unknown) => ajv.validate(EVENT_TYPES[type].schema, data);
