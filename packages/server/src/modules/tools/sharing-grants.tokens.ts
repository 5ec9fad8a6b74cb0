// Tokens that stand on a sharing grant: the consumer's own at the provider's audience
// (client_credentials with `resource`) and a user's delegated one (token exchange, in
// oauth/grants/token-exchange.ts). Both are decided by the one read of coveringGrant.
import { OAuthError } from '../../http/errors.js';
import { asToolInOrganization } from '../access/transactions.js';
import { type Actor, type AuditSource, record } from '../audit/audit.js';
import type { GrantBoundIssuer } from '../oauth/grants/client-credentials.js';
import { organizationRefused } from '../oauth/grants/client-credentials.js';
import type { GrantForToken } from './sharing-grants.queries.js';
import { claimTokenAudit, coveringGrant } from './sharing-grants.queries.js';
import { grantBoundScopes, grantTokenLifetime, parseScope, TOKEN_ISSUED_AUDIT_WINDOW_SECONDS } from './sharing-grants.rules.js';

/** A grant a token may stand on, as coveringGrant found it. */
export interface Standing {
  grantId: string;
  providerToolId: string;
  grantScopes: string[];
  providerScopes: NonNullable<GrantForToken['provider_scopes']>;
  /** Seconds the token may live: ≤ 300 and never past the grant's expiry. */
  ttl: number;
}

export const noCoveringGrant = () => new OAuthError('invalid_target', 'No active sharing grant lets this tool reach that resource here');

/**
 * The grant behind a token at another tool's audience, or why not: the consumer's own
 * standing first (an organization that is missing, inactive or has not enabled it answers the
 * one invalid_grant of client_credentials, so nothing can be probed), then the target.
 */
export function standingOf(g: GrantForToken): Standing {
  if (!g.consumer_usable) throw organizationRefused();
  if (!g.provider_tool_id || !g.provider_usable || !g.grant_id || !g.grant_scopes || !g.provider_scopes) throw noCoveringGrant();
  return {
    grantId: g.grant_id,
    providerToolId: g.provider_tool_id,
    grantScopes: g.grant_scopes,
    providerScopes: g.provider_scopes,
    ttl: grantTokenLifetime(g.seconds_left),
  };
}

export const toolActor = (toolId: string): Actor => ({ type: 'tool', id: toolId });

/**
 * client_credentials with `resource` = another tool's audience: a token for the provider,
 * with the grant's id and the scopes asked (all the grant's when none were), issued in the
 * transaction that read the grant. Its audit event is written at most once per grant per
 * window, whichever instance issues (claimTokenAudit).
 */
export const issueGrantBound: GrantBoundIssuer = async (deps, consumer, req) => {
  const orgId = req.organizationId;
  if (orgId === undefined) throw new OAuthError('invalid_request', 'organization_id is required for a token at another tool’s audience');
  const requested = parseScope(req.scope);
  return asToolInOrganization(deps.db, consumer.toolId, orgId, async (tx) => {
    const s = standingOf(await coveringGrant(tx, orgId, consumer.toolId, req.resource));
    const scopes = grantBoundScopes(requested, s.grantScopes, s.providerScopes);
    if (!scopes) throw new OAuthError('invalid_scope', 'The sharing grant does not cover the requested scopes');
    if (await claimTokenAudit(tx, orgId, s.grantId, TOKEN_ISSUED_AUDIT_WINDOW_SECONDS)) {
      const by: AuditSource = { organizationId: orgId, actor: toolActor(consumer.toolId), meta: req.meta };
      await record(tx, by, {
        action: 'sharing_grant.token_issued',
        target: { type: 'sharing_grant', id: s.grantId },
        data: { provider_tool_id: s.providerToolId, consumer_tool_id: consumer.toolId, scopes },
      });
    }
    const { token, expiresIn } = await deps.tokens.issueTool({
      clientId: consumer.clientId,
      orgId,
      audience: req.resource,
      permissions: scopes,
      ttl: s.ttl,
      extra: { grant_id: s.grantId },
    });
    return { access_token: token, token_type: 'Bearer', expires_in: expiresIn, scope: scopes.join(' '), organization_id: orgId };
  });
};
