import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';

describe('configuration', () => {
  it('has working defaults', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ port: 3000, host: '127.0.0.1', databaseUrl: undefined, dataDir: './data', trustProxy: false });
    expect(c.publicUrl).toBe('http://localhost:3000');
    expect(c.tokenIssuer).toBe('http://localhost:3000');
    expect(Object.isFrozen(c)).toBe(true);
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
});
