import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOG_REDACT } from '../src/http/log-redact.js';
import { startApp, type TestApp } from './helpers/app.js';
import { ENGINES } from './helpers/db.js';
import { PASSWORD } from './helpers/users.js';

// Secrets never reach the logs: the app's pino logger censors them by path (LOG_REDACT).

function memoryStream() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      cb();
    },
  });
  return { stream, lines, text: () => lines.join('\n') };
}

describe('LOG_REDACT', () => {
  const mem = memoryStream();
  // The same options as buildApp passes to Fastify.
  const log = pino({ level: 'info', redact: { paths: LOG_REDACT, censor: '[redacted]' } }, mem.stream);
  const last = () => JSON.parse(mem.lines.at(-1)!);

  it('censors credentials in request headers', () => {
    log.info(
      {
        req: {
          method: 'GET',
          url: '/v1/me',
          headers: { authorization: 'Bearer eyJ.secret.sig', cookie: 'sid=secret', 'x-api-key': 'key-secret', 'user-agent': 'ua' },
        },
      },
      'incoming',
    );
    expect(last().req.headers).toEqual({
      authorization: '[redacted]',
      cookie: '[redacted]',
      'x-api-key': '[redacted]',
      'user-agent': 'ua',
    });
    expect(last().req.url).toBe('/v1/me');
  });

  it('censors passwords and tokens in a logged body', () => {
    log.info(
      {
        body: {
          email: 'a@example.com',
          password: 'pw-secret',
          current_password: 'old-secret',
          token: 'inv-secret',
          access_token: 'at-secret',
          refresh_token: 'rt-secret',
          invitation_token: 'it-secret',
        },
      },
      'body',
    );
    expect(last().body).toEqual({
      email: 'a@example.com',
      password: '[redacted]',
      current_password: '[redacted]',
      token: '[redacted]',
      access_token: '[redacted]',
      refresh_token: '[redacted]',
      invitation_token: '[redacted]',
    });
  });

  it('censors stored secrets in a logged row', () => {
    log.info({ row: { id: 'u1', password_hash: '$argon2id$secret' }, key: { kid: 'k', private_key: 'pem-secret' } }, 'row');
    expect(last().row).toEqual({ id: 'u1', password_hash: '[redacted]' });
    expect(last().key).toEqual({ kid: 'k', private_key: '[redacted]' });
    expect(mem.text()).not.toMatch(/pw-secret|old-secret|inv-secret|at-secret|rt-secret|it-secret|argon2id|pem-secret|eyJ\.secret/);
  });
});

describe.each(ENGINES)('the running app logs no secrets (%s)', (engine) => {
  let t: TestApp;
  const mem = memoryStream();

  beforeAll(async () => {
    t = await startApp(engine, { logLevel: 'info' });
    // Point the app's own logger (and the request loggers it creates from now on) at memory.
    (t.app.log as unknown as Record<symbol, unknown>)[pino.symbols.streamSym] = mem.stream;
  });
  afterAll(() => t?.close());

  it('requests carrying passwords and tokens leave none of them in the log', async () => {
    const email = `log-${crypto.randomUUID()}@example.com`;
    const signup = await t.app.inject({ method: 'POST', url: '/v1/auth/signup', payload: { email, password: PASSWORD, name: 'Logged' } });
    expect(signup.statusCode).toBe(201);
    const { access_token, refresh_token } = signup.json();
    await t.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email, password: 'wrong password!!' } });
    await t.app.inject({
      method: 'PATCH',
      url: '/v1/me',
      headers: { authorization: `Bearer ${access_token}` },
      payload: { name: 'Renamed' },
    });
    await t.app.inject({ method: 'POST', url: '/oauth/token', payload: { grant_type: 'refresh_token', refresh_token } });
    // Something the app logs itself, shaped like a request with its headers.
    t.app.log.info({ req: { headers: { authorization: `Bearer ${access_token}` } }, body: { refresh_token } }, 'diagnostic');

    expect(mem.lines.length).toBeGreaterThan(0);
    const text = mem.text();
    expect(text).toContain('diagnostic');
    for (const secret of [PASSWORD, 'wrong password!!', access_token, refresh_token]) expect(text).not.toContain(secret);
    expect(text).toContain('[redacted]');
  });
});
