// Configuration is read from the environment once, validated, and frozen.
// Every bad value is reported by name with the form it should take.
import { isIP } from 'node:net';
import type { PasswordHashing } from './modules/identity/passwords.js';

export interface Config {
  port: number;
  host: string;
  databaseUrl: string | undefined;
  dataDir: string;
  redisUrl: string | undefined;
  publicUrl: string;
  tokenIssuer: string;
  tokenAudience: string;
  clientId: string;
  accessTokenTtl: number;
  refreshTokenTtl: number;
  invitationTtl: number;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  smtpUrl: string | undefined;
  mailFrom: string;
  bootstrapAdminEmail: string | undefined;
  bootstrapAdminPassword: string | undefined;
  /** Fastify's trustProxy: false, true, a hop count, or the addresses/CIDRs of trusted proxies. */
  trustProxy: boolean | number | string[];
  /** Where invitation links point: a URL with `{token}` in it. */
  invitationUrl: string;
  /** Where email verification (and email change) links point: a URL with `{token}` in it. */
  verifyEmailUrl: string;
  /** Where password reset links point: a URL with `{token}` in it. */
  passwordResetUrl: string;
  /** Creating an organization and accepting an invitation need a verified email address. */
  requireVerifiedEmail: boolean;
  /** Browser origins allowed to call the API (CORS); none by default. */
  corsOrigins: string[];
  db: {
    poolMax: number;
    connectionTimeoutMs: number;
    idleTimeoutMs: number;
    statementTimeoutMs: number;
    idleInTransactionTimeoutMs: number;
    /** Client-side limit on one query; catches a stalled server that statement_timeout cannot. */
    queryTimeoutMs: number;
    keepAliveInitialDelayMs: number;
    /**
     * `named`: each distinct statement is prepared once per connection. `unnamed`: parsed on
     * every use, for poolers that hand a client another server connection per transaction
     * (PgBouncer in transaction mode before 1.21 loses named statements).
     */
    preparedStatements: 'named' | 'unnamed';
  };
  /** How long SIGTERM lets in-flight requests finish before closing what remains. */
  shutdownTimeoutMs: number;
  redisCommandTimeoutMs: number;
  rateLimit: { max: number; windowMs: number };
  /** Invitations (and so invitation emails) one organization and one inviter may send per window. */
  invitationLimits: { perOrganization: number; perInviter: number; windowMs: number };
  /** Days an event is kept for the pull API and replay. */
  eventRetentionDays: number;
  /** Webhooks may target private, loopback and link-local addresses (development and tests only). */
  webhookAllowPrivate: boolean;
  /** How often the checkpoint job signs the audit chains that have grown. */
  auditCheckpointIntervalMs: number;
  /** Always `owasp` from the environment; `test-only-weak` only through testConfig() (modules/identity/passwords.ts). */
  passwordHashing: PasswordHashing;
  /**
   * API_KEY_SECRET: the server secret organization API keys are hashed with (HMAC-SHA-256).
   * Unset: one is generated and kept in the database (required when NODE_ENV=production).
   */
  apiKeySecret: Buffer | undefined;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export function loadConfig(env: Env = process.env): Readonly<Config> {
  const problems: string[] = [];
  const read = (name: string) => {
    const v = env[name];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  };

  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = read(name);
    if (raw === undefined) return fallback;
    if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
      problems.push(`${name}=${JSON.stringify(raw)}: expected a whole number from ${min} to ${max}`);
      return fallback;
    }
    return Number(raw);
  };

  const url = (name: string, protocols: string[], fallback?: string): string | undefined => {
    const raw = read(name) ?? fallback;
    if (raw === undefined) return undefined;
    try {
      const u = new URL(raw);
      if (!protocols.includes(u.protocol)) throw new Error('protocol');
      return raw;
    } catch {
      problems.push(`${name}: expected a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}`);
      return undefined;
    }
  };

  const port = int('PORT', 3000, 0, 65535);
  const host = read('HOST') ?? '127.0.0.1';
  const databaseUrl = url('DATABASE_URL', ['postgres:', 'postgresql:']);
  const redisUrl = url('REDIS_URL', ['redis:', 'rediss:']);
  const smtpUrl = url('SMTP_URL', ['smtp:', 'smtps:']);
  const publicUrl = (url('PUBLIC_URL', ['http:', 'https:'], `http://localhost:${port}`) ?? 'http://localhost:3000').replace(/\/+$/, '');
  const tokenIssuer = (url('TOKEN_ISSUER', ['http:', 'https:'], publicUrl) ?? publicUrl).replace(/\/+$/, '');

  const logLevel = (read('LOG_LEVEL') ?? 'info') as Config['logLevel'];
  if (!LOG_LEVELS.includes(logLevel)) problems.push(`LOG_LEVEL=${JSON.stringify(logLevel)}: expected one of ${LOG_LEVELS.join(', ')}`);

  const adminEmail = read('BOOTSTRAP_ADMIN_EMAIL');
  const adminPassword = env.BOOTSTRAP_ADMIN_PASSWORD;
  if ((adminEmail === undefined) !== (adminPassword === undefined || adminPassword === '')) {
    problems.push('BOOTSTRAP_ADMIN_EMAIL and BOOTSTRAP_ADMIN_PASSWORD: set both or neither');
  }
  if (adminPassword !== undefined && adminPassword !== '' && (adminPassword.length < 12 || adminPassword.length > 256)) {
    problems.push('BOOTSTRAP_ADMIN_PASSWORD: expected 12 to 256 characters');
  }

  const trustProxy = parseTrustProxy(read('TRUST_PROXY'), problems);
  const tokenUrl = (name: string, page: string) => parseTokenUrl(name, read(name), `${publicUrl}${page}?token={token}`, problems);
  const invitationUrl = tokenUrl('INVITATION_URL', '/invitations/accept');
  const verifyEmailUrl = tokenUrl('VERIFY_EMAIL_URL', '/verify-email');
  const passwordResetUrl = tokenUrl('PASSWORD_RESET_URL', '/reset-password');
  const requireVerifiedRaw = read('REQUIRE_VERIFIED_EMAIL') ?? 'false';
  if (requireVerifiedRaw !== 'true' && requireVerifiedRaw !== 'false') problems.push('REQUIRE_VERIFIED_EMAIL: expected true or false');
  const corsOrigins = parseCorsOrigins(read('CORS_ORIGINS'), problems);
  const db = dbSettings(int, problems, read('DATABASE_PREPARED_STATEMENTS'));
  const allowPrivate = read('WEBHOOK_ALLOW_PRIVATE') ?? 'false';
  if (allowPrivate !== 'true' && allowPrivate !== 'false') problems.push('WEBHOOK_ALLOW_PRIVATE: expected true or false');

  const apiKeySecret = parseApiKeySecret(read('API_KEY_SECRET'), read('NODE_ENV'), problems);

  const config: Config = {
    port,
    host,
    databaseUrl,
    dataDir: read('DATA_DIR') ?? './data',
    redisUrl,
    publicUrl,
    tokenIssuer,
    tokenAudience: read('TOKEN_AUDIENCE') ?? tokenIssuer,
    clientId: read('CLIENT_ID') ?? 'tenantry',
    accessTokenTtl: int('ACCESS_TOKEN_TTL', 900, 60, 86_400),
    refreshTokenTtl: 30 * 86_400,
    invitationTtl: int('INVITATION_TTL', 7 * 86_400, 60, 90 * 86_400),
    logLevel,
    smtpUrl,
    mailFrom: read('MAIL_FROM') ?? 'Tenantry <no-reply@localhost>',
    bootstrapAdminEmail: adminEmail,
    bootstrapAdminPassword: adminPassword === '' ? undefined : adminPassword,
    trustProxy,
    invitationUrl,
    verifyEmailUrl,
    passwordResetUrl,
    requireVerifiedEmail: requireVerifiedRaw === 'true',
    corsOrigins,
    db,
    shutdownTimeoutMs: int('SHUTDOWN_TIMEOUT_MS', 10_000, 0, 600_000),
    redisCommandTimeoutMs: int('REDIS_COMMAND_TIMEOUT_MS', 500, 10, 60_000),
    rateLimit: {
      max: int('RATE_LIMIT_MAX', 10, 1, 1_000_000),
      windowMs: int('RATE_LIMIT_WINDOW_MS', 60_000, 1000, 86_400_000),
    },
    invitationLimits: {
      perOrganization: int('INVITATION_LIMIT_PER_ORGANIZATION', 100, 1, 1_000_000),
      perInviter: int('INVITATION_LIMIT_PER_INVITER', 30, 1, 1_000_000),
      windowMs: int('INVITATION_LIMIT_WINDOW_MS', 3_600_000, 1000, 7 * 86_400_000),
    },
    eventRetentionDays: int('EVENT_RETENTION_DAYS', 30, 1, 3650),
    webhookAllowPrivate: allowPrivate === 'true',
    auditCheckpointIntervalMs: int('AUDIT_CHECKPOINT_INTERVAL_MS', 3_600_000, 1000, 7 * 86_400_000),
    // Deliberately no variable: a deployment cannot weaken its password hashes by configuration.
    passwordHashing: 'owasp',
    apiKeySecret,
  };

  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(config);
}

function dbSettings(
  int: (name: string, fallback: number, min: number, max: number) => number,
  problems: string[],
  preparedRaw: string | undefined,
): Config['db'] {
  const preparedStatements = preparedRaw ?? 'named';
  if (preparedStatements !== 'named' && preparedStatements !== 'unnamed') {
    problems.push(`DATABASE_PREPARED_STATEMENTS=${preparedRaw}: expected named or unnamed`);
  }
  const statementTimeoutMs = int('DATABASE_STATEMENT_TIMEOUT_MS', 10_000, 0, 3_600_000);
  // A second above statement_timeout, so the server's own timeout (a clean 57014) normally comes first.
  const queryTimeoutMs = int('DATABASE_QUERY_TIMEOUT_MS', statementTimeoutMs === 0 ? 0 : statementTimeoutMs + 1000, 0, 3_600_000);
  if (statementTimeoutMs > 0 && queryTimeoutMs > 0 && queryTimeoutMs <= statementTimeoutMs) {
    problems.push(
      `DATABASE_QUERY_TIMEOUT_MS=${queryTimeoutMs}: expected more than DATABASE_STATEMENT_TIMEOUT_MS (${statementTimeoutMs}), or 0 for none`,
    );
  }
  return {
    poolMax: int('DATABASE_POOL_MAX', 10, 1, 1000),
    connectionTimeoutMs: int('DATABASE_CONNECTION_TIMEOUT_MS', 2000, 1, 60_000),
    idleTimeoutMs: int('DATABASE_IDLE_TIMEOUT_MS', 30_000, 0, 3_600_000),
    statementTimeoutMs,
    idleInTransactionTimeoutMs: int('DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS', 10_000, 0, 3_600_000),
    queryTimeoutMs,
    keepAliveInitialDelayMs: int('DATABASE_KEEPALIVE_INITIAL_DELAY_MS', 10_000, 0, 3_600_000),
    preparedStatements: preparedStatements === 'unnamed' ? 'unnamed' : 'named',
  };
}

const TRUST_PROXY_FORM =
  'TRUST_PROXY: expected false, true, a number of proxy hops (e.g. 1), or a comma-separated list of IP addresses or CIDR ranges';

/** An IPv4 or IPv6 address, optionally with a prefix length that fits it. */
function isAddressOrCidr(p: string): boolean {
  const [address = '', prefix, extra] = p.split('/');
  const family = isIP(address);
  if (family === 0 || extra !== undefined) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}

function parseTrustProxy(raw: string | undefined, problems: string[]): boolean | number | string[] {
  if (raw === undefined || raw === 'false') return false;
  if (raw === 'true') return true;
  // A hop count trusts that many proxies from the socket inwards: the client's address
  // is the entry the nearest untrusted hop appended, never one the client wrote itself.
  if (/^\d+$/.test(raw)) {
    const hops = Number(raw);
    if (hops >= 1 && hops <= 100) return hops;
    problems.push(TRUST_PROXY_FORM);
    return false;
  }
  const parts = raw
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  const bad = parts.filter((p) => !isAddressOrCidr(p));
  if (parts.length === 0 || bad.length > 0) {
    problems.push(`${TRUST_PROXY_FORM}; not an address or CIDR: ${bad.map((b) => JSON.stringify(b)).join(', ') || '(empty)'}`);
    return false;
  }
  return parts;
}

/** The fewest characters of API_KEY_SECRET: 32 random bytes in base64 are 44. */
export const API_KEY_SECRET_MIN_LENGTH = 32;

/**
 * API_KEY_SECRET, used as it is written (its UTF-8 bytes are the HMAC key). In production
 * it must be set: a generated one would live only in the database it protects.
 */
function parseApiKeySecret(raw: string | undefined, nodeEnv: string | undefined, problems: string[]): Buffer | undefined {
  if (raw === undefined) {
    if (nodeEnv === 'production') {
      problems.push('API_KEY_SECRET: required when NODE_ENV=production; generate one with `openssl rand -base64 32`');
    }
    return undefined;
  }
  if (raw.length < API_KEY_SECRET_MIN_LENGTH || new Set(raw).size < 8) {
    problems.push(
      `API_KEY_SECRET: expected at least ${API_KEY_SECRET_MIN_LENGTH} random characters, e.g. the output of \`openssl rand -base64 32\``,
    );
    return undefined;
  }
  return Buffer.from(raw, 'utf8');
}

/** A link template of an emailed token (INVITATION_URL, VERIFY_EMAIL_URL, PASSWORD_RESET_URL). */
function parseTokenUrl(name: string, raw: string | undefined, fallback: string, problems: string[]): string {
  if (raw === undefined) return fallback;
  const problem = `${name}: expected an http:// or https:// URL containing {token}, e.g. https://app.example.com/join?token={token}`;
  try {
    const u = new URL(raw.replaceAll('{token}', 'TOKEN'));
    if (!raw.includes('{token}') || !['http:', 'https:'].includes(u.protocol)) throw new Error('shape');
  } catch {
    problems.push(problem);
    return fallback;
  }
  return raw;
}

function parseCorsOrigins(raw: string | undefined, problems: string[]): string[] {
  if (raw === undefined) return [];
  const origins = raw
    .split(',')
    .map((o) => o.trim())
    .filter(Boolean);
  // An origin is scheme://host[:port] exactly as a browser sends it: no path, no trailing slash, no wildcard.
  const bad = origins.filter((o) => {
    try {
      const u = new URL(o);
      return !['http:', 'https:'].includes(u.protocol) || u.origin !== o;
    } catch {
      return true;
    }
  });
  if (bad.length > 0 || origins.length === 0) {
    problems.push(
      `CORS_ORIGINS: expected a comma-separated list of origins such as https://app.example.com (no path or trailing slash)${bad.length > 0 ? `; not an origin: ${bad.map((b) => JSON.stringify(b)).join(', ')}` : ''}`,
    );
    return [];
  }
  return origins;
}

/**
 * A configuration for tests: defaults plus overrides, without reading the process environment.
 * Its passwords are hashed at `test-only-weak` cost (a fraction of a millisecond instead of
 * tens); pass `passwordHashing: 'owasp'` to test the production cost. Never serve with it.
 */
export function testConfig(overrides: Partial<Config> = {}): Readonly<Config> {
  return Object.freeze({
    ...loadConfig({
      LOG_LEVEL: 'silent',
      RATE_LIMIT_MAX: '1000000',
      INVITATION_LIMIT_PER_ORGANIZATION: '1000000',
      INVITATION_LIMIT_PER_INVITER: '1000000',
    }),
    passwordHashing: 'test-only-weak',
    ...overrides,
  });
}
