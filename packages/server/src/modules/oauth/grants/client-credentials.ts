import { isUuid } from '../../../db/ids.js';
import { OAuthError } from '../../../http/errors.js';
import { toolStandingIn } from '../../access/transactions.js';
import { clientSecretCheck, type ToolStandingColumns } from '../../tools/tools.queries.js';
import { type AuthenticatedClient, authenticateClientWith, requireActiveClient } from '../client-auth.js';
import type { TokenResponse } from '../oauth.service.js';
import { TOOL_TOKEN_TTL } from '../tokens.js';
import type { Grant, GrantDeps, GrantRequest } from './grant.js';

// grant_type=client_credentials (SPEC §10): a tool's own token, bound to one organization
// when it is issued (or to none: discovery only), for Tenantry's API or for the tool itself.

/** One answer for every organization the tool may not have a token for, so none can be probed. */
export const organizationRefused = () =>
  new OAuthError('invalid_grant', 'The organization does not exist, is not active, or has not enabled this tool');

/** The scopes of `scope` (space-separated), or undefined when none were asked for. */
const requestedScopes = (scope: string | undefined) => {
  const list = scope?.split(' ').filter((s) => s !== '');
  return list && list.length > 0 ? [...new Set(list)] : undefined;
};

/** What the enablement allows of what was asked: requested ∩ enabled, or all enabled when nothing was asked. */
function grantedScopes(enabled: readonly string[], scope: string | undefined): string[] {
  const asked = requestedScopes(scope);
  if (!asked) return [...enabled];
  const granted = asked.filter((s) => enabled.includes(s));
  if (granted.length === 0) throw new OAuthError('invalid_scope', 'None of the requested scopes is enabled for this tool here');
  return granted;
}

/**
 * The organization a token is for: it must be active and have enabled the tool (else the one
 * invalid_grant). A client secret's statement read the standing already; after
 * private_key_jwt it is read now, in the tool's context.
 */
async function enabledScopes(
  deps: GrantDeps,
  client: AuthenticatedClient,
  orgId: string,
  read: ToolStandingColumns | undefined,
): Promise<readonly string[]> {
  const s = read
    ? { orgStatus: read.org_status, enablement: read.enablement_status, scopes: read.enabled_scopes ?? [] }
    : await toolStandingIn(deps.db, client.toolId, orgId).then((t) => ({ orgStatus: t.orgStatus, ...t.tool }));
  if (s.orgStatus !== 'active' || s.enablement !== 'active') throw organizationRefused();
  return s.scopes;
}

/**
 * A token for another tool's audience: only through a sharing grant (SPEC §10, "Sharing
 * grants"), which checks the tool, the organization, both enablements, the grant and the
 * scopes in one read. Until grants exist, no tool reaches another's data.
 */
export type GrantBoundIssuer = (
  deps: GrantDeps,
  consumer: AuthenticatedClient,
  req: { organizationId: string | undefined; resource: string; scope: string | undefined; meta: GrantRequest['meta'] },
) => Promise<TokenResponse>;

let grantBoundIssuer: GrantBoundIssuer = async () => {
  throw new OAuthError('invalid_target', 'No sharing grant lets this tool reach that resource');
};

/** Installs the issuer of grant-bound tokens (the sharing-grant module). */
export const setGrantBoundIssuer = (issuer: GrantBoundIssuer) => {
  grantBoundIssuer = issuer;
};

export const clientCredentialsGrant: Grant = async (deps, body, request) => {
  const orgId = body.organization_id;
  // The secret's statement reads the tool's standing in the organization too: one round trip.
  const standingIn = orgId !== undefined && isUuid(orgId) ? orgId : null;
  const { client, read } = await authenticateClientWith(
    deps.clientAuth,
    { ...body, authorization: request.authorization, ip: request.ip },
    (clientId, hash) => clientSecretCheck(deps.db.kysely, clientId, hash, standingIn),
  );
  requireActiveClient(client);
  if (orgId !== undefined && !isUuid(orgId)) throw new OAuthError('invalid_request', 'organization_id must be a UUID');
  const resource = body.resource ?? deps.tokens.apiAudience;
  if (resource !== deps.tokens.apiAudience && resource !== client.audience) {
    return grantBoundIssuer(deps, client, { organizationId: orgId, resource, scope: body.scope, meta: request.meta });
  }
  // Without an organization: a discovery token, which carries no permission.
  const permissions = orgId === undefined ? [] : grantedScopes(await enabledScopes(deps, client, orgId, read), body.scope);
  const { token, expiresIn } = await deps.tokens.issueTool({
    clientId: client.clientId,
    orgId: orgId ?? null,
    audience: resource,
    permissions,
    ttl: TOOL_TOKEN_TTL,
  });
  return { access_token: token, token_type: 'Bearer', expires_in: expiresIn, scope: permissions.join(' '), organization_id: orgId ?? null };
};
