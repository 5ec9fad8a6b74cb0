// Token introspection (RFC 7662) for the platform's tools: organization API keys and
// access tokens, answered only to the token's audience. Everything that can end a token
// early (revocation, a session's end, a disabled tool or enablement, suspension) is read
// fresh, so it shows at once.
import type { Static } from '@sinclair/typebox';
import type { JWTPayload } from 'jose';
import type { Database } from '../../db/database.js';
import type { Entered } from '../../db/tenant-context.js';
import type { ApiKeyPrincipal, Principal, ToolPrincipal } from '../access/principal.js';
import { tokenOrgOf } from '../access/principal.js';
import { anonymous, switchToPrincipal } from '../access/transactions.js';
import type { ApiKeyResolver } from '../api-keys/api-key-auth.js';
import { looksLikeKey } from '../api-keys/key-format.js';
import type { Introspection } from './introspection.schemas.js';
import type { AccessTokens } from './tokens.js';

export type IntrospectionAnswer = Static<typeof Introspection>;

/** The tool asking, as its client authentication established it. */
export interface IntrospectingTool {
  toolId: string;
  clientId: string;
  audience: string;
  /** Its scope catalogue: the names an API key's scopes are shown through. */
  catalogue: ReadonlyArray<{ name: string }>;
}

export interface IntrospectionDeps {
  db: Database;
  tokens: AccessTokens;
  apiKeys: ApiKeyResolver;
}

const INACTIVE: IntrospectionAnswer = { active: false };

const toolPrincipal = (t: IntrospectingTool, orgId: string): ToolPrincipal => ({
  type: 'tool',
  toolId: t.toolId,
  clientId: t.clientId,
  orgId,
  permissions: [],
});

/** The tool stands in the organization: active itself, enabled there, the organization active. */
const enabledThere = (e: Entered): boolean => e.sessionLive && e.orgStatus === 'active' && e.tool?.enablement === 'active';

export async function introspect(deps: IntrospectionDeps, caller: IntrospectingTool, token: string): Promise<IntrospectionAnswer> {
  if (looksLikeKey(token)) return introspectKey(deps, caller, token);
  const verified = await deps.tokens.verifyForAudience(token, caller.audience);
  return verified ? introspectAccessToken(deps, verified.principal, verified.claims) : INACTIVE;
}

/**
 * An API key is the caller's when it is for the caller (its audience), or for no tool at
 * all and the caller is enabled in the key's organization. Its scopes are shown as far as
 * they are the caller's own scopes: one tool learns nothing of what a key carries for another.
 */
async function introspectKey(deps: IntrospectionDeps, caller: IntrospectingTool, token: string): Promise<IntrospectionAnswer> {
  const parsed = deps.apiKeys.parse(token);
  const key = parsed ? await deps.apiKeys.resolve(parsed) : undefined;
  if (!key || key.live === false || (key.toolId !== null && key.toolId !== caller.toolId)) return INACTIVE;
  const p: ApiKeyPrincipal = { type: 'api_key', apiKeyId: key.id, orgId: key.orgId };
  const [k, tool] = await anonymous(deps.db, async (tx) => [
    await switchToPrincipal(tx, p, key.orgId),
    await switchToPrincipal(tx, toolPrincipal(caller, key.orgId), key.orgId),
  ]);
  if (!k.apiKey?.live || k.orgStatus !== 'active' || !enabledThere(tool)) return INACTIVE;
  const own = new Set(caller.catalogue.map((s) => s.name));
  return {
    active: true,
    principal: 'api_key',
    sub: key.id,
    client_id: key.id,
    org_id: key.orgId,
    scope: k.apiKey.scopes.filter((s) => own.has(s)).join(' '),
    exp: k.apiKey.expiresAt ? Math.floor(k.apiKey.expiresAt.getTime() / 1000) : null,
    token_type: 'Bearer',
  };
}

/**
 * A signed access token whose `aud` is the caller (verified against its audience), still
 * good: a user's session live, or a tool active and enabled in the token's organization.
 */
async function introspectAccessToken(deps: IntrospectionDeps, p: Principal, claims: JWTPayload): Promise<IntrospectionAnswer> {
  const orgId = tokenOrgOf(p);
  const e = await anonymous(deps.db, (tx) => switchToPrincipal(tx, p, orgId));
  const live = p.type === 'tool' ? (orgId === null ? e.sessionLive : enabledThere(e)) : e.sessionLive;
  if (!live) return INACTIVE;
  const scope = typeof claims.scope === 'string' ? claims.scope : Array.isArray(claims.permissions) ? claims.permissions.join(' ') : '';
  return {
    active: true,
    principal: p.type === 'tool' ? 'tool' : 'user',
    sub: claims.sub!,
    client_id: String(claims.client_id),
    org_id: orgId,
    scope,
    exp: claims.exp!,
    iat: claims.iat!,
    aud: Array.isArray(claims.aud) ? claims.aud[0] : claims.aud,
    token_type: 'Bearer',
    ...(typeof claims.grant_id === 'string' ? { grant_id: claims.grant_id } : {}),
  };
}
