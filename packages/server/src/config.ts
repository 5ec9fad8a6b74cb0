// Configuration is read from the environment once, validated, and frozen.
// Every bad value is reported by name with the form it should take.

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
  trustProxy: boolean | string[];
  /** Where invitation links point: a URL with `{token}` in it. */
  invitationUrl: string;
  /** Browser origins allowed to call the API (CORS); none by default. */
  corsOrigins: string[];
  db: {
    poolMax: number;
    connectionTimeoutMs: number;
    idleTimeoutMs: number;
    statementTimeoutMs: number;
    idleInTransactionTimeoutMs: number;
  };
  rateLimit: { max: number; windowMs: number };
  /** Days an event is kept for the pull API and replay. */
  eventRetentionDays: number;
  /** Webhooks may target private, loopback and link-local addresses (development and tests only). */
  webhookAllowPrivate: boolean;
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
  const invitationUrl = parseInvitationUrl(read('INVITATION_URL'), publicUrl, problems);
  const corsOrigins = parseCorsOrigins(read('CORS_ORIGINS'), problems);
  const allowPrivate = read('WEBHOOK_ALLOW_PRIVATE') ?? 'false';
  if (allowPrivate !== 'true' && allowPrivate !== 'false') problems.push('WEBHOOK_ALLOW_PRIVATE: expected true or false');

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
    corsOrigins,
    db: {
      poolMax: int('DATABASE_POOL_MAX', 10, 1, 1000),
      connectionTimeoutMs: int('DATABASE_CONNECTION_TIMEOUT_MS', 2000, 1, 60_000),
      idleTimeoutMs: int('DATABASE_IDLE_TIMEOUT_MS', 30_000, 0, 3_600_000),
      statementTimeoutMs: int('DATABASE_STATEMENT_TIMEOUT_MS', 10_000, 0, 3_600_000),
      idleInTransactionTimeoutMs: int('DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS', 10_000, 0, 3_600_000),
    },
    rateLimit: {
      max: int('RATE_LIMIT_MAX', 10, 1, 1_000_000),
      windowMs: int('RATE_LIMIT_WINDOW_MS', 60_000, 1000, 86_400_000),
    },
    eventRetentionDays: int('EVENT_RETENTION_DAYS', 30, 1, 3650),
    webhookAllowPrivate: allowPrivate === 'true',
  };

  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(config);
}

function parseTrustProxy(raw: string | undefined, problems: string[]): boolean | string[] {
  if (raw === undefined || raw === 'false') return false;
  if (raw === 'true') return true;
  const parts = raw
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  const ipOrCidr = /^(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9a-fA-F:]+)(?:\/\d{1,3})?$/;
  if (parts.length === 0 || !parts.every((p) => ipOrCidr.test(p))) {
    problems.push('TRUST_PROXY: expected false, true, or a comma-separated list of IP addresses or CIDR ranges');
    return false;
  }
  return parts;
}

function parseInvitationUrl(raw: string | undefined, publicUrl: string, problems: string[]): string {
  const fallback = `${publicUrl}/invitations/accept?token={token}`;
  if (raw === undefined) return fallback;
  const problem = 'INVITATION_URL: expected an http:// or https:// URL containing {token}, e.g. https://app.example.com/join?token={token}';
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

/** A configuration for tests and tools: defaults plus overrides, without reading the process environment. */
export function testConfig(overrides: Partial<Config> = {}): Readonly<Config> {
  return Object.freeze({ ...loadConfig({ LOG_LEVEL: 'silent', RATE_LIMIT_MAX: '1000000' }), ...overrides });
}
