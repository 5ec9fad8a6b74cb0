import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, buildApp } from '../src/app.js';
import { loadConfig, testConfig } from '../src/config.js';
import { hashParams, hashPassword, prepareDummyHash, verifyPassword } from '../src/modules/identity/passwords.js';
import { createTestDatabase, ENGINES, type TestDatabase } from './helpers/db.js';
import { outboxTo, startSmtpServer } from './helpers/smtp.js';
import { authed, PASSWORD, signupUser } from './helpers/users.js';

// The suite hashes at testConfig()'s `test-only-weak` cost. This file pins the production cost:
// what a server built from loadConfig() stores is argon2id at OWASP's m=19456 KiB, t=2, p=1,
// whatever the environment says, on every path that stores a password. A change that let
// production hash at the test cost fails here.

const OWASP = /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/;
const WEAK = /^\$argon2id\$v=19\$m=1024,t=1,p=1\$/;
const NEW_PASSWORD = 'a brand new passphrase 42';

describe('password hashing settings', () => {
  it('loadConfig always hashes at the OWASP cost: no variable weakens it', () => {
    expect(loadConfig({}).passwordHashing).toBe('owasp');
    const tries = ['PASSWORD_HASHING', 'TENANTRY_PASSWORD_HASHING', 'ARGON2_MEMORY_COST', 'NODE_ENV', 'VITEST'];
    expect(loadConfig(Object.fromEntries(tries.map((k) => [k, k === 'NODE_ENV' ? 'test' : 'test-only-weak']))).passwordHashing).toBe(
      'owasp',
    );
  });

  it('testConfig hashes at the weak cost unless a test asks for the production one', () => {
    expect(testConfig().passwordHashing).toBe('test-only-weak');
    expect(testConfig({ passwordHashing: 'owasp' }).passwordHashing).toBe('owasp');
  });

  it('the settings have the pinned argon2id parameters, and an unknown one is refused', async () => {
    expect(hashParams('owasp')).toEqual({ algorithm: 2, memoryCost: 19_456, timeCost: 2, parallelism: 1 });
    expect(await hashPassword(PASSWORD)).toMatch(OWASP); // the default is production's
    expect(await hashPassword(PASSWORD, 'owasp')).toMatch(OWASP);
    expect(await hashPassword(PASSWORD, 'test-only-weak')).toMatch(WEAK);
    expect(await prepareDummyHash()).toMatch(OWASP);
    expect(await prepareDummyHash('owasp')).toMatch(OWASP);
    expect(await prepareDummyHash('test-only-weak')).toMatch(WEAK);
    expect(() => hashParams('fast' as 'owasp')).toThrow(/unknown password hashing "fast"/);
    expect(() => hashParams('toString' as 'owasp')).toThrow(/unknown password hashing/);
  });

  it('a hash verifies under either setting, since it records its own cost', async () => {
    const strong = await hashPassword(PASSWORD, 'owasp');
    const weak = await hashPassword(PASSWORD, 'test-only-weak');
    for (const setting of ['owasp', 'test-only-weak'] as const) {
      expect(await verifyPassword(strong, PASSWORD, setting)).toBe(true);
      expect(await verifyPassword(weak, PASSWORD, setting)).toBe(true);
      expect(await verifyPassword(strong, 'wrong password', setting)).toBe(false);
      expect(await verifyPassword(null, PASSWORD, setting)).toBe(false);
    }
  });
});

describe.each(ENGINES)('a server configured from the environment stores OWASP-cost hashes (%s)', (engine) => {
  let t: TestDatabase;
  let app: App;
  let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
  const storedHash = async (userId: string) =>
    (await t.db.kysely.selectFrom('users').select('password_hash').where('id', '=', userId).executeTakeFirstOrThrow()).password_hash;

  beforeAll(async () => {
    t = await createTestDatabase(engine);
    // As src/server.ts builds it: loadConfig, not testConfig.
    app = await buildApp(loadConfig({ LOG_LEVEL: 'silent' }), t.db);
    smtp = await startSmtpServer();
  });
  afterAll(async () => {
    await app?.close();
    await smtp?.close();
    await t?.drop();
  });

  it('on signup, on a password change and on a password reset', async () => {
    const u = await signupUser(app);
    expect(await storedHash(u.id)).toMatch(OWASP);

    const changed = await authed(app, 'PATCH', '/v1/me', u.access, { password: NEW_PASSWORD, current_password: PASSWORD });
    expect(changed.statusCode).toBe(200);
    expect(await storedHash(u.id)).toMatch(OWASP);

    const requested = await app.inject({ method: 'POST', url: '/v1/auth/password-reset/request', payload: { email: u.email } });
    expect(requested.statusCode).toBe(202);
    await outboxTo(t.db, smtp.port)();
    const mail = smtp.received.find((m) => m.to.includes(u.email) && m.raw.includes('Subject: Reset your password'));
    const token = /token=(et_[A-Za-z0-9_-]+)/.exec(mail?.raw ?? '')?.[1];
    expect(token).toBeDefined();
    const reset = await app.inject({ method: 'POST', url: '/v1/auth/password-reset', payload: { token, password: PASSWORD } });
    expect(reset.statusCode).toBe(204);
    expect(await storedHash(u.id)).toMatch(OWASP);

    const login = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: u.email, password: PASSWORD } });
    expect(login.statusCode).toBe(200);
  });
});
