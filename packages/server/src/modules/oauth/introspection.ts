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
import {
  authenticateClient,
  authenticateClientWith,
  type ClientAuthDeps,
  type ClientAuthRequest,
  requireActiveClient,
} from './client-auth.js';
import { introspectKeyStatement } from './introspection.queries.js';
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

/**
 * The answer to a tool that asks about `token`: the caller authenticates first (client-auth.ts),
 * then the token is judged for it. An API key asked about with a client secret is one
 * statement with the authentication (sql/introspection.sql); after private_key_jwt, or for
 * an access token, the reads follow the authentication.
 */
export async function introspectAsTool(
  deps: IntrospectionDeps,
  clientAuth: ClientAuthDeps,
  auth: ClientAuthRequest,
  token: string,
): Promise<IntrospectionAnswer> {
  const parsed = looksLikeKey(token) ? deps.apiKeys.parse(token) : null;
  if (!parsed) {
    const caller = requireActiveClient(await authenticateClient(clientAuth, auth));
    return looksLikeKey(token) ? INACTIVE : introspectAccessTokenText(deps, caller, token);
  }
  const keyHash = await deps.apiKeys.hashOf(parsed);
  const { client, read } = await authenticateClientWith(clientAuth, auth, (clientId, hash) =>
    introspectKeyStatement(deps.db.kysely, clientId, hash, parsed.keyId, keyHash),
  );
  const caller = requireActiveClient(client);
  if (!read) return introspectKey(deps, caller, token);
  if (read.key_id === null || read.key_org === null || !read.key_found_live || (read.key_tool !== null && read.key_tool !== caller.toolId))
    return INACTIVE;
  return keyAnswer(caller, read.key_id, read.key_org, {
    keyLive: read.key_live === true,
    orgStatus: read.key_org_status,
    scopes: read.key_scopes ?? [],
    expiresAt: read.key_expires_at,
    toolStands: read.standing_tool_status === 'active' && read.standing_org_status === 'active' && read.enablement_status === 'active',
  });
}

async function introspectAccessTokenText(deps: IntrospectionDeps, caller: IntrospectingTool, token: string): Promise<IntrospectionAnswer> {
  const verified = await deps.tokens.verifyForAudience(token, caller.audience);
  return verified ? introspectAccessToken(deps, verified.principal, verified.claims) : INACTIVE;
}

/** What the key's own context and the caller's context in the key's organization say of them now. */
interface KeyInContext {
  keyLive: boolean;
  orgStatus: string | null;
  scopes: readonly string[];
  expiresAt: Date | null;
  /** The caller stands in the key's organization: active itself, enabled there, the organization active. */
  toolStands: boolean;
}

/**
 * An API key is the caller's when it is for the caller (its audience), or for no tool at
 * all and the caller is enabled in the key's organization. Its scopes are shown as far as
 * they are the caller's own scopes: one tool learns nothing of what a key carries for another.
 */
function keyAnswer(caller: IntrospectingTool, keyId: string, orgId: string, k: KeyInContext): IntrospectionAnswer {
  if (!k.keyLive || k.orgStatus !== 'active' || !k.toolStands) return INACTIVE;
  const own = new Set(caller.catalogue.map((s) => s.name));
  return {
    active: true,
    principal: 'api_key',
    sub: keyId,
    client_id: keyId,
    org_id: orgId,
    scope: k.scopes.filter((s) => own.has(s)).join(' '),
    exp: k.expiresAt ? Math.floor(k.expiresAt.getTime() / 1000) : null,
    token_type: 'Bearer',
  };
}

/** An API key asked about by a caller that authenticated with private_key_jwt: the key resolved, then both contexts entered. */
async function introspectKey(deps: IntrospectionDeps, caller: IntrospectingTool, token: string): Promise<IntrospectionAnswer> {
  const parsed = deps.apiKeys.parse(token);
  const key = parsed ? await deps.apiKeys.resolve(parsed) : undefined;
  if (!key || key.live === false || (key.toolId !== null && key.toolId !== caller.toolId)) return INACTIVE;
  const p: ApiKeyPrincipal = { type: 'api_key', apiKeyId: key.id, orgId: key.orgId };
  const [k, tool] = await anonymous(deps.db, async (tx) => [
    await switchToPrincipal(tx, p, key.orgId),
    await switchToPrincipal(tx, toolPrincipal(caller, key.orgId), key.orgId),
  ]);
  return keyAnswer(caller, key.id, key.orgId, {
    keyLive: k.apiKey?.live === true,
    orgStatus: k.orgStatus,
    scopes: k.apiKey?.scopes ?? [],
    expiresAt: k.apiKey?.expiresAt ?? null,
    toolStands: enabledThere(tool),
  });
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
