import type { TenantContext } from '../../db/tenant-context.js';
import { forbidden } from '../../http/errors.js';
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

/**
 * A platform tool acting for itself with a client_credentials token. Bound to one
 * organization when the token was issued (or to none: discovery only). Its enablement
 * there is re-read from the database per request.
 */
export interface ToolPrincipal {
  type: 'tool';
  /** The tool's id; its client id is the same UUID as text. */
  toolId: string;
  clientId: string;
  /** The organization the token was issued for; null for a discovery token. */
  orgId: string | null;
  /** The token's permissions (requested ∩ enabled at issuance); the enablement is checked again per request. */
  permissions: readonly string[];
}

/**
 * An organization API key (`Authorization: Bearer tnty_…`). Bound to its organization;
 * whether it is revoked or expired, and its scopes, are re-read per request.
 */
export interface ApiKeyPrincipal {
  type: 'api_key';
  /** The key's id (not its key id, which is part of its text). */
  apiKeyId: string;
  orgId: string;
}

export type Principal = UserPrincipal | ToolPrincipal | ApiKeyPrincipal;
export type PrincipalType = Principal['type'];

/** The tenant context a principal's transaction enters, in `orgId` (user-level work when null). */
export function tenantContextOf(p: Principal, orgId: string | null): TenantContext {
  switch (p.type) {
    case 'user':
      return { orgId, userId: p.userId, sessionId: p.sessionId };
    case 'tool':
      return { orgId, userId: null, toolId: p.toolId };
    case 'api_key':
      return { orgId, userId: null, apiKeyId: p.apiKeyId };
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
    case 'tool':
      return { type: 'tool', id: p.toolId };
    case 'api_key':
      return { type: 'api_key', id: p.apiKeyId };
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
    case 'tool':
      return `tool:${p.toolId}`;
    case 'api_key':
      return `api_key:${p.apiKeyId}`;
  }
}

/** The organization a principal's token is bound to: null is unscoped for a user, discovery-only for a tool. */
export function tokenOrgOf(p: Principal): string | null {
  switch (p.type) {
    case 'user':
      return p.tokenOrgId;
    case 'tool':
      return p.orgId;
    case 'api_key':
      return p.orgId;
  }
}

/** The tool behind a principal, for the routes only a tool calls (discovery). */
export function toolOf(p: Principal): ToolPrincipal {
  switch (p.type) {
    case 'tool':
      return p;
    case 'user':
    case 'api_key':
      throw forbidden('This route is for platform tools');
  }
}

/** The user behind a principal, for the routes and use cases that only a person may call (`/v1/me`). */
export function userOf(p: Principal): UserPrincipal {
  switch (p.type) {
    case 'user':
      return p;
    case 'tool':
    case 'api_key':
      throw forbidden('This route requires a signed-in user');
  }
}
