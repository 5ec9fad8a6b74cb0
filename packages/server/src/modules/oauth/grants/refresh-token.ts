import { isUuid } from '../../../db/ids.js';
import { OAuthError } from '../../../http/errors.js';
import { SYSTEM_ACTOR } from '../../access/principal.js';
import { anonymous, switchToOrganization, tokenScopeIn } from '../../access/transactions.js';
import { record } from '../../audit/audit.js';
import { emitSessionsRevoked } from '../../events/session-events.js';
import { rotateRefreshToken, setSessionOrganization } from '../../identity/sessions.js';
import { enabledToolByAudience } from '../../tools/organization-tools.queries.js';
import { type AuthDeps, type Issued, tokenResponse } from '../oauth.service.js';
import type { Grant, GrantRequest } from './grant.js';

const invalidGrant = (d = 'The refresh token is invalid, expired or revoked') => new OAuthError('invalid_grant', d);

/** grant_type=refresh_token: rotates the refresh token, and optionally switches the organization the access token is scoped to. */
export const refreshTokenGrant: Grant = async (deps, body, { meta }) => {
  if (!body.refresh_token) throw new OAuthError('invalid_request', 'refresh_token is required');
  if (body.organization_id !== undefined && !isUuid(body.organization_id))
    throw new OAuthError('invalid_request', 'organization_id must be a UUID');
  if (body.client_id !== undefined && body.client_id !== deps.config.clientId)
    throw invalidGrant('The refresh token was not issued to this client');
  const resource = body.resource === deps.tokens.apiAudience ? undefined : body.resource;
  const issued = await rotate(deps, body.refresh_token, body.organization_id, meta, resource);
  return tokenResponse(deps, issued);
};

async function rotate(
  deps: AuthDeps,
  refreshToken: string,
  organizationId: string | undefined,
  meta: GrantRequest['meta'],
  resource: string | undefined,
): Promise<Issued> {
  const outcome = await anonymous(deps.db, async (tx) => {
    const r = await rotateRefreshToken(tx, refreshToken);
    if (r.kind === 'reused') {
      if (r.organizationId) {
        // Theft is worth telling the organization the session was scoped to.
        await switchToOrganization(tx, r.organizationId, null);
        await record(
          tx,
          { organizationId: r.organizationId, actor: SYSTEM_ACTOR, meta },
          { action: 'session.refresh_reuse_detected', target: { type: 'session', id: r.sessionId }, data: { user_id: r.userId } },
        );
        await emitSessionsRevoked(
          tx,
          { organizationId: r.organizationId, actor: SYSTEM_ACTOR, meta },
          [{ id: r.sessionId, user_id: r.userId, active_organization_id: r.organizationId }],
          'refresh_token_reuse',
        );
      }
      return { error: invalidGrant('The refresh token was already used; the session has been ended') };
    }
    if (r.kind === 'invalid') return { error: invalidGrant() };
    if (r.clientId !== deps.config.clientId) throw invalidGrant('The refresh token was not issued to this client');
    // Limited per session, not per address: users behind one address never throttle each
    // other. A refusal rolls back, so the presented token stays usable.
    await deps.limits.check([{ key: `refresh:session:${r.sessionId}`, ...deps.config.rateLimit }]);
    const target = organizationId ?? r.organizationId;
    let org: Issued['org'] = null;
    if (target) {
      const m = await tokenScopeIn(tx, target, r.userId);
      // Rolls back: the presented token stays usable when the switch is refused.
      if ('problem' in m)
        throw invalidGrant(m.problem === 'suspended' ? 'The organization is suspended' : 'Not a member of that organization');
      org = { id: target, role: m.role };
    }
    // A token for a tool (RFC 8707): only one the session's organization has enabled.
    // Rolls back like the refusals above: the presented token stays usable.
    if (resource !== undefined && (!target || !(await enabledToolByAudience(tx, target, resource)))) {
      throw new OAuthError('invalid_target', 'No tool of that audience is enabled in the session’s organization');
    }
    if (target !== r.organizationId) await setSessionOrganization(tx, r.sessionId, target);
    return {
      issued: {
        userId: r.userId,
        sessionId: r.sessionId,
        refreshToken: r.refreshToken,
        org,
        ...(resource ? { audience: resource } : {}),
      } satisfies Issued,
    };
  });
  if ('error' in outcome) throw outcome.error;
  return outcome.issued;
}
