// Who calls a tool: the principal a verified token or API key stands for (SPEC §10, §12).

/** The principals Tenantry issues tokens for (SPEC §10). */
export const PRINCIPAL_TYPES = ['user', 'tool', 'api_key', 'platform_admin'] as const;
export type PrincipalType = (typeof PRINCIPAL_TYPES)[number];

/** Whether a token's `principal` claim names a principal this SDK knows. */
export const isPrincipalType = (value: unknown): value is PrincipalType =>
  typeof value === 'string' && (PRINCIPAL_TYPES as readonly string[]).includes(value);

/** The principals a tool accepts: platform admins act on Tenantry's API only. */
export const TOOL_CALLER_TYPES = ['user', 'tool', 'api_key'] as const;
export type CallerType = (typeof TOOL_CALLER_TYPES)[number];

/**
 * The caller of a tool's route: `ctx.principal` of SPEC §12. Every principal is bound to
 * one organization (`orgId`), the tenant its transactions enter.
 */
export interface Principal {
  type: CallerType;
  /** The user's id, the tool's client id, or the API key's id. */
  id: string;
  orgId: string;
  permissions: readonly string[];
  /** Set when the token was issued under a sharing grant: it reaches only shareable routes. */
  grantId?: string;
  /** The tool acting for the user (RFC 8693 delegation). */
  actor?: { sub: string };
  /** What the revocation cache matches on; not needed by route code. */
  token: {
    /** `client_id` of the token (the first-party client, or the tool). */
    clientId: string;
    /** The session of a user token, when it has one. */
    sessionId?: string;
    /** Issued at, seconds since the epoch. */
    issuedAt: number;
    /** Expiry, seconds since the epoch. */
    expiresAt: number;
  };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (v: unknown): v is string => typeof v === 'string' && UUID.test(v);
