// @tenantry/sdk: what a platform tool installs to integrate with Tenantry.
// It starts with the contract both sides share; token verification, the tenant
// pattern for a tool's own database and webhook verification follow.

/** The principals Tenantry issues tokens for (SPEC §10). */
export const PRINCIPAL_TYPES = ['user', 'tool', 'api_key', 'platform_admin'] as const;
export type PrincipalType = (typeof PRINCIPAL_TYPES)[number];

/** Whether a token's `principal` claim names a principal this SDK knows. */
export const isPrincipalType = (value: unknown): value is PrincipalType =>
  typeof value === 'string' && (PRINCIPAL_TYPES as readonly string[]).includes(value);
