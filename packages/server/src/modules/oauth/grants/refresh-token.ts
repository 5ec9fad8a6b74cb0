import { isUuid } from '../../../db/ids.js';
import { OAuthError } from '../../../http/errors.js';
import { anonymous } from '../../access/transactions.js';
import {
  looksLikeRefreshToken,
  type Rotation,
  rotateRefreshToken,
  sessionNamedBy,
  sessionOfRefreshToken,
} from '../../identity/sessions.js';
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

/**
 * One autocommit statement (sql/sessions.sql) that decides every refusal before it writes,
 * so a refused refresh leaves the presented token usable with nothing to roll back. The
 * session's refresh limit is read before it and counted after it: limited per session, not
 * per address, so users behind one address never throttle each other.
 */
async function rotate(
  deps: AuthDeps,
  refreshToken: string,
  organizationId: string | undefined,
  meta: GrantRequest['meta'],
  resource: string | undefined,
): Promise<Issued> {
  if (!looksLikeRefreshToken(refreshToken)) throw invalidGrant();
  // A token issued before tokens named their session: its session is looked up first, once,
  // since its successor names the session.
  const sessionId = sessionNamedBy(refreshToken) ?? (await anonymous(deps.db, (tx) => sessionOfRefreshToken(tx, refreshToken)));
  if (!sessionId) throw invalidGrant();
  const limit = { key: `refresh:session:${sessionId}`, ...deps.config.rateLimit };
  const spent = await deps.limits.spent(limit);
  const r = await rotateRefreshToken(deps.db, refreshToken, sessionId, {
    clientId: deps.config.clientId,
    limited: spent !== null,
    organizationId: organizationId ?? null,
    audience: resource ?? null,
    meta,
  });
  if (passedTheLimit(r)) await deps.limits.count(limit);
  switch (r.kind) {
    case 'rotated':
      return {
        userId: r.userId,
        sessionId: r.sessionId,
        refreshToken: r.refreshToken,
        org: r.org,
        ...(resource ? { audience: resource } : {}),
      };
    case 'reused':
      throw invalidGrant('The refresh token was already used; the session has been ended');
    case 'invalid':
      throw invalidGrant();
    case 'wrong_client':
      throw invalidGrant('The refresh token was not issued to this client');
    case 'rate_limited':
      throw deps.limits.refusal(spent!);
    case 'not_member':
      throw invalidGrant('Not a member of that organization');
    case 'suspended':
      throw invalidGrant('The organization is suspended');
    case 'invalid_target':
      throw new OAuthError('invalid_target', 'No tool of that audience is enabled in the session’s organization');
  }
}

/** What the session's limit counts: every refresh that got past it, refused afterwards or not. */
const passedTheLimit = (r: Rotation) =>
  r.kind === 'rotated' || r.kind === 'not_member' || r.kind === 'suspended' || r.kind === 'invalid_target';
