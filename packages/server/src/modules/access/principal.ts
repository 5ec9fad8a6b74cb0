import type { TenantContext } from '../../db/tenant-context.js';
import type { Actor } from '../audit/audit.js';

// Who calls. Every caller is a principal of one type; the tenant context, the gate, the
// audit actor and the rate limits read it here, so a new type (a tool, an API key) is a
// new member of the union and a new case in each function below.

/** A person signed in with an access token. Role and membership are re-read from the database per request. */
export interface UserPrincipal {
  type: 'user';
  userId: string;
  /** The session behind the access token, checked for revocation by the statement that enters the context. */
  sessionId: string;
  /** The organization the token is scoped to, if any. */
  tokenOrgId: string | null;
}

export type Principal = UserPrincipal;
export type PrincipalType = Principal['type'];

/** The tenant context a principal's transaction enters, in `orgId` (user-level work when null). */
export function tenantContextOf(p: Principal, orgId: string | null): TenantContext {
  switch (p.type) {
    case 'user':
      return { orgId, userId: p.userId, sessionId: p.sessionId };
  }
}

/**
 * Who the audit log names. A user acts as a member by their role, or, in an organization
 * where their role does not allow the action, as platform_admin.
 */
export function actorOf(p: Principal, standing: 'member' | 'platform_admin' = 'member'): Actor {
  switch (p.type) {
    case 'user':
      return { type: standing === 'member' ? 'user' : 'platform_admin', id: p.userId };
  }
}

/** A user who has no access token yet (signup with an invitation) acts under their own id. */
export const userActor = (userId: string): Actor => ({ type: 'user', id: userId });

/** What the service itself does, on nobody's behalf (reuse detection). */
export const SYSTEM_ACTOR: Actor = { type: 'system', id: null };

/** The principal's part of a rate-limit key: limits count per principal, whatever its type. */
export function rateKeyOf(p: Principal): string {
  switch (p.type) {
    case 'user':
      return `user:${p.userId}`;
  }
}
