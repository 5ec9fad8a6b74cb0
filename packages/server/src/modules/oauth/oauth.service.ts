import type { Config } from '../../config.js';
import type { Database } from '../../db/database.js';
import type { Role } from '../../db/schema.js';
import type { OrderedLimits } from '../../http/rate-limit.js';
import { userActor } from '../access/principal.js';
import { anonymous, switchToOrganization, switchToUser } from '../access/transactions.js';
import { emitSessionsRevoked } from '../events/session-events.js';
import { revokeSession, sessionOfRefreshToken } from '../identity/sessions.js';
import type { AccessTokens } from './tokens.js';

export interface AuthDeps {
  db: Database;
  tokens: AccessTokens;
  config: Readonly<Config>;
  limits: OrderedLimits;
}

export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  /** None for a tool's token (client_credentials): it asks again. */
  refresh_token?: string;
  /** The scopes granted, when they differ from what a user's role gives (tool tokens). */
  scope?: string;
  /** Token exchange (RFC 8693): what access_token is. */
  issued_token_type?: string;
  organization_id: string | null;
}

/** A session just started or refreshed, and the organization its access token is scoped to. */
export interface Issued {
  userId: string;
  sessionId: string;
  refreshToken: string;
  org: { id: string; role: Role } | null;
  /** A tool's audience when the access token is for that tool (RFC 8707); Tenantry's API otherwise. */
  audience?: string;
}

/** The token response of a session: a new access token next to its refresh token. */
export async function tokenResponse(deps: AuthDeps, s: Issued): Promise<TokenResponse> {
  const { token, expiresIn } = await deps.tokens.issue({ userId: s.userId, sessionId: s.sessionId, org: s.org }, s.audience);
  return {
    access_token: token,
    token_type: 'Bearer',
    expires_in: expiresIn,
    refresh_token: s.refreshToken,
    organization_id: s.org?.id ?? null,
  };
}

/** RFC 7009: ends the session of a refresh or access token; unknown tokens are not an error. */
export async function revoke(deps: AuthDeps, token: string): Promise<void> {
  let fromAccessToken: { sessionId: string; userId: string } | undefined;
  if (token.split('.').length === 3) {
    fromAccessToken = await deps.tokens.verify(token).then(
      (p) => (p.type === 'user' ? { sessionId: p.sessionId, userId: p.userId } : undefined),
      () => undefined,
    );
  }
  await anonymous(deps.db, async (tx) => {
    // A user context reaches its own sessions only: the transaction moves to the token's user.
    if (fromAccessToken) await switchToUser(tx, fromAccessToken.userId);
    const sessionId = fromAccessToken?.sessionId ?? (await sessionOfRefreshToken(tx, token));
    if (!sessionId) return;
    for (const s of await revokeSession(tx, sessionId, 'logout')) {
      if (!s.active_organization_id) continue;
      // The organization the session was scoped to hears of its end (session.revoked).
      await switchToOrganization(tx, s.active_organization_id, null);
      const by = { organizationId: s.active_organization_id, actor: userActor(s.user_id), meta: { ip: null, requestId: null } };
      await emitSessionsRevoked(tx, by, [s], 'logout');
    }
  });
}
