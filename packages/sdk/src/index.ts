// @tenantry/sdk: what a platform tool installs to integrate with Tenantry (SPEC §12).

export { type RefusalAnswer, refusalOf } from './adapters/answer.js';
export { expressRequirePermission, tenantryExpress } from './adapters/express.js';
export { type FastifyRouteAccess, principalOf, tenantryFastify } from './adapters/fastify.js';
export { ApiKeyIntrospector, apiKeyChecksum, type IntrospectionOptions, looksLikeApiKey, parseApiKey } from './api-keys.js';
export {
  authorize,
  bearerOf,
  createTenantry,
  type RequestLike,
  type RouteAccess,
  requirePermission,
  Tenantry,
  type TenantryOptions,
  verifyAccessToken,
} from './auth.js';
export { type ApiClient, type ApiClientOptions, createApiClient } from './client/client.js';
export { ClientCredentials, type ClientCredentialsOptions } from './client/credentials.js';
export type { components as ApiComponents, paths as ApiPaths } from './client/schema.js';
export { type RefusalCode, TenantryAuthError } from './errors.js';
export { EventConsumer, type EventConsumerOptions } from './events/consumer.js';
export { isTenantryEvent, type TenantryEvent } from './events/envelope.js';
export { REVOKING_EVENT_TYPES, RevocationCache, type RevocationCacheOptions } from './events/revocations.js';
export { verifyWebhook, WebhookKeySet, WebhookVerificationError, type WebhookVerifyOptions } from './events/webhooks.js';
export { type KeySource, KeysUnavailable, RemoteKeySet, type RemoteKeySetOptions, StaticKeySet } from './jwks.js';
export { type CallerType, isPrincipalType, PRINCIPAL_TYPES, type Principal, type PrincipalType, TOOL_CALLER_TYPES } from './principal.js';
export {
  type CatalogQuery,
  type RoleSecurity,
  readRoleSecurity,
  readTableSecurity,
  roleProblems,
  type TableSecurity,
} from './tenant/catalog.js';
export { inTenantTransaction, localSettingsStatement, type Statement, type TransactionRunner } from './tenant/pattern.js';
export {
  assertTenantTablesForced,
  DEFAULT_TENANT_ROLE,
  InvalidPrincipal,
  ORG_SETTING,
  type PoolClientLike,
  type PoolLike,
  pgTransaction,
  type Queryable,
  quoteIdent,
  type TenantTableOptions,
  tenantTableSql,
  type WithTenantOptions,
  withTenant,
} from './tenant/pg.js';
export { AccessTokenVerifier, CLOCK_TOLERANCE_SECONDS, principalFromClaims, type RevocationCheck, type VerifierOptions } from './verify.js';
