import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';

describe('configuration', () => {
  it('has working defaults', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ port: 3000, host: '127.0.0.1', databaseUrl: undefined, dataDir: './data', trustProxy: false });
    expect(c.publicUrl).toBe('http://localhost:3000');
    expect(c.tokenIssuer).toBe('http://localhost:3000');
    expect(Object.isFrozen(c)).toBe(true);
    expect(c.invitationUrl).toBe('http://localhost:3000/invitations/accept?token={token}');
    expect(c.corsOrigins).toEqual([]);
  });

  it('takes INVITATION_URL as a template with {token} and CORS_ORIGINS as exact origins', () => {
    const c = loadConfig({
      INVITATION_URL: 'https://app.example.com/join?t={token}',
      CORS_ORIGINS: 'https://app.example.com, http://127.0.0.1:5173',
    });
    expect(c.invitationUrl).toBe('https://app.example.com/join?t={token}');
    expect(c.corsOrigins).toEqual(['https://app.example.com', 'http://127.0.0.1:5173']);
    expect(loadConfig({ PUBLIC_URL: 'https://id.example.com/' }).invitationUrl).toBe(
      'https://id.example.com/invitations/accept?token={token}',
    );
  });

  it.each([
    ['INVITATION_URL', 'https://app.example.com/join'],
    ['INVITATION_URL', 'ftp://app.example.com/{token}'],
    ['INVITATION_URL', '/join/{token}'],
    ['CORS_ORIGINS', 'https://app.example.com/'],
    ['CORS_ORIGINS', '*'],
    ['CORS_ORIGINS', 'https://a.example.com,app.example.com'],
    ['CORS_ORIGINS', ','],
  ])('refuses %s=%s', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(name));
  });

  it('reports every bad value by name with the expected form', () => {
    let err: unknown;
    try {
      loadConfig({
        PORT: 'eighty',
        DATABASE_URL: 'mysql://x',
        LOG_LEVEL: 'loud',
        TRUST_PROXY: 'yes please',
        ACCESS_TOKEN_TTL: '5',
        BOOTSTRAP_ADMIN_EMAIL: 'a@b.c',
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const problems = (err as ConfigError).problems.join('\n');
    for (const name of ['PORT', 'DATABASE_URL', 'LOG_LEVEL', 'TRUST_PROXY', 'ACCESS_TOKEN_TTL', 'BOOTSTRAP_ADMIN_PASSWORD']) {
      expect(problems).toContain(name);
    }
    expect(problems).toMatch(/PORT="eighty": expected a whole number from 0 to 65535/);
  });

  it('parses TRUST_PROXY as Fastify does', () => {
    expect(loadConfig({ TRUST_PROXY: 'true' }).trustProxy).toBe(true);
    expect(loadConfig({ TRUST_PROXY: '10.0.0.0/8, 127.0.0.1' }).trustProxy).toEqual(['10.0.0.0/8', '127.0.0.1']);
  });

  it('fault settings: a query timeout above the statement timeout, keepalive, drain deadline, Redis command timeout', () => {
    const c = loadConfig({});
    expect(c.db.queryTimeoutMs).toBe(c.db.statementTimeoutMs + 1000);
    expect(c.db.keepAliveInitialDelayMs).toBe(10_000);
    expect(c.shutdownTimeoutMs).toBe(10_000);
    expect(c.redisCommandTimeoutMs).toBe(500);
    expect(loadConfig({ DATABASE_STATEMENT_TIMEOUT_MS: '3000' }).db.queryTimeoutMs).toBe(4000);
    expect(() => loadConfig({ DATABASE_STATEMENT_TIMEOUT_MS: '3000', DATABASE_QUERY_TIMEOUT_MS: '2000' })).toThrow(
      /DATABASE_QUERY_TIMEOUT_MS=2000: expected more than DATABASE_STATEMENT_TIMEOUT_MS/,
    );
    expect(() => loadConfig({ SHUTDOWN_TIMEOUT_MS: 'soon', REDIS_COMMAND_TIMEOUT_MS: '0' })).toThrow(
      /SHUTDOWN_TIMEOUT_MS="soon".*\n.*REDIS_COMMAND_TIMEOUT_MS="0"/s,
    );
  });
});
