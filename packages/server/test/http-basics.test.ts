import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from './helpers/app.js';
import { ENGINES } from './helpers/db.js';
import { PASSWORD } from './helpers/users.js';

// §1 conventions on the wire: body handling, problem+json, request ids, OpenAPI.

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const uniqueEmail = () => `http-${crypto.randomUUID()}@example.com`;
const validBody = () => ({ email: uniqueEmail(), password: PASSWORD, name: 'Http Basics' });

describe.each(ENGINES)('HTTP conventions (%s)', (engine) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp(engine);
  });
  afterAll(() => t?.close());

  const userCount = async () =>
    Number(
      (
        await t.db.kysely
          .selectFrom('users')
          .select((eb) => eb.fn.countAll().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );

  function expectProblem(
    res: { statusCode: number; headers: Record<string, unknown>; json(): Record<string, unknown>; body: string },
    status: number,
    code?: string,
  ) {
    expect(res.statusCode, res.body).toBe(status);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    const p = res.json();
    expect(p).toMatchObject({ type: expect.any(String), title: expect.any(String), status, detail: expect.any(String) });
    if (code) expect(p.code).toBe(code);
    expect(p.request_id).toBe(res.headers['x-request-id']);
    expect(res.body).not.toMatch(/\n\s+at |node_modules|\.ts:\d+|SyntaxError|FST_/);
    return p;
  }

  const signup = (payload: string | Buffer, contentType: string | undefined, extra: Record<string, string> = {}) =>
    t.app.inject({
      method: 'POST',
      url: '/v1/auth/signup',
      payload,
      headers: { ...(contentType === undefined ? {} : { 'content-type': contentType }), ...extra },
    });

  it('sanity: a well-formed signup is 201 and creates one user', async () => {
    const before = await userCount();
    const res = await signup(JSON.stringify(validBody()), 'application/json; charset=utf-8');
    expect(res.statusCode, res.body).toBe(201);
    expect(res.headers['x-request-id']).toMatch(UUID);
    expect(await userCount()).toBe(before + 1);
  });

  const cases: Array<
    [name: string, payload: () => string | Buffer, contentType: string | undefined, status: number, code: string | undefined]
  > = [
    ['malformed JSON', () => '{"email": "a@example.com", "password": ', 'application/json', 400, 'MALFORMED_JSON'],
    [
      'JSON with a trailing comma',
      () => `{"email":"${uniqueEmail()}","password":"${PASSWORD}","name":"X",}`,
      'application/json',
      400,
      'MALFORMED_JSON',
    ],
    ['an empty body declared as JSON', () => '', 'application/json', 400, 'MALFORMED_JSON'],
    [
      'a __proto__ key',
      () => `{"email":"${uniqueEmail()}","password":"${PASSWORD}","name":"X","__proto__":{"platform_role":"platform_admin"}}`,
      'application/json',
      400,
      undefined,
    ],
    [
      'a constructor.prototype key',
      () => `{"email":"${uniqueEmail()}","password":"${PASSWORD}","name":"X","constructor":{"prototype":{"x":1}}}`,
      'application/json',
      400,
      undefined,
    ],
    ['Content-Type text/plain', () => JSON.stringify(validBody()), 'text/plain', 415, 'UNSUPPORTED_MEDIA_TYPE'],
    [
      'Content-Type application/x-www-form-urlencoded',
      () => `email=${encodeURIComponent(uniqueEmail())}&password=${encodeURIComponent(PASSWORD)}&name=X`,
      'application/x-www-form-urlencoded',
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    ],
    [
      'Content-Type multipart/form-data',
      () => '--x\r\nContent-Disposition: form-data; name="email"\r\n\r\na@b.c\r\n--x--\r\n',
      'multipart/form-data; boundary=x',
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    ],
    ['no Content-Type at all', () => JSON.stringify(validBody()), undefined, 415, 'UNSUPPORTED_MEDIA_TYPE'],
    ['a garbage Content-Type', () => JSON.stringify(validBody()), '\u0000;;;', 415, 'UNSUPPORTED_MEDIA_TYPE'],
    [
      'a body over 64 KiB',
      () => JSON.stringify({ ...validBody(), name: 'x'.repeat(64 * 1024) }),
      'application/json',
      413,
      'PAYLOAD_TOO_LARGE',
    ],
    ['a 1 MiB body', () => Buffer.alloc(1024 * 1024, 0x20), 'application/json', 413, 'PAYLOAD_TOO_LARGE'],
    ['an unknown field', () => JSON.stringify({ ...validBody(), is_admin: true }), 'application/json', 400, 'VALIDATION_FAILED'],
    ['a JSON array', () => JSON.stringify([validBody()]), 'application/json', 400, 'VALIDATION_FAILED'],
    ['JSON null', () => 'null', 'application/json', 400, undefined],
    ['a JSON number', () => '42', 'application/json', 400, 'VALIDATION_FAILED'],
    ['a JSON string', () => '"hello"', 'application/json', 400, 'VALIDATION_FAILED'],
    ['JSON true', () => 'true', 'application/json', 400, 'VALIDATION_FAILED'],
    [
      'numbers where strings belong',
      () => JSON.stringify({ email: 1, password: 2, name: 3 }),
      'application/json',
      400,
      'VALIDATION_FAILED',
    ],
    [
      'deeply nested arrays in a field',
      () => `{"email":${'['.repeat(20_000)}${']'.repeat(20_000)},"password":"${PASSWORD}","name":"X"}`,
      'application/json',
      400,
      undefined,
    ],
  ];

  it.each(cases.map(([name, payload, contentType, status, code]) => ({ name, payload, contentType, status, code })))(
    '$name → $status problem, no user created, never 500',
    async ({ payload, contentType, status, code }) => {
      const before = await userCount();
      const res = await signup(payload(), contentType);
      expect(res.statusCode).not.toBeGreaterThanOrEqual(500);
      expectProblem(res, status, code);
      expect(await userCount()).toBe(before);
    },
  );

  it('refuses a chunked body (no Content-Length) over 64 KiB with 413, over real HTTP', async () => {
    const before = await userCount();
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = t.app.server.address() as AddressInfo;
    const body = JSON.stringify({ ...validBody(), name: 'y'.repeat(70 * 1024) });
    const res = await new Promise<{ status: number; headers: Record<string, unknown>; text: string }>((resolve, reject) => {
      const req = httpRequest(
        {
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: '/v1/auth/signup',
          headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked', 'x-request-id': 'chunked-1' },
        },
        (r) => {
          let text = '';
          r.setEncoding('utf8')
            .on('data', (d) => (text += d))
            .on('end', () => resolve({ status: r.statusCode!, headers: r.headers, text }));
        },
      );
      req.on('error', reject);
      // Everything is handed to the socket at once, so the answer cannot race the upload.
      for (let i = 0; i < body.length; i += 8192) req.write(body.slice(i, i + 8192));
      req.end();
    });
    expect(res.status).toBe(413);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.headers['x-request-id']).toBe('chunked-1');
    expect(JSON.parse(res.text)).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', request_id: 'chunked-1' });
    expect(await userCount()).toBe(before);
  });

  it('never answers 500 to a body with invalid UTF-8', async () => {
    const before = await userCount();
    const body = Buffer.concat([
      Buffer.from('{"email":"'),
      Buffer.from([0xff, 0xfe, 0xc3]),
      Buffer.from(`-${crypto.randomUUID()}@example.com","password":"${PASSWORD}","name":"X"}`),
    ]);
    const res = await signup(body, 'application/json');
    // Node decodes it with U+FFFD replacements; whether that is then accepted is a policy question (see report).
    expect(res.statusCode).toBeLessThan(500);
    expect(await userCount()).toBe(before + (res.statusCode === 201 ? 1 : 0));
  });

  it('names the unknown field in errors[].path', async () => {
    const res = await signup(JSON.stringify({ ...validBody(), is_admin: true }), 'application/json');
    const p = expectProblem(res, 400, 'VALIDATION_FAILED');
    expect(p.errors).toEqual(expect.arrayContaining([{ path: '/body/is_admin', message: expect.any(String) }]));
  });

  it('a JSON array, null or number body is a 400 with errors pointing at the body itself', async () => {
    for (const body of ['[]', 'null', '42']) {
      const res = await signup(body, 'application/json');
      const p = expectProblem(res, 400);
      expect(['VALIDATION_FAILED', 'MALFORMED_JSON']).toContain(p.code);
      if (p.code === 'VALIDATION_FAILED') expect(p.errors).toEqual([{ path: '/body', message: expect.any(String) }]);
    }
  });

  describe('X-Request-Id', () => {
    it('echoes a sane client id on success, on errors and on 404, and problems carry it', async () => {
      const id = 'client-req_42.abc:7';
      const ok = await t.app.inject({ method: 'POST', url: '/v1/auth/signup', payload: validBody(), headers: { 'x-request-id': id } });
      expect(ok.statusCode).toBe(201);
      expect(ok.headers['x-request-id']).toBe(id);

      const bad = await t.app.inject({
        method: 'POST',
        url: '/v1/auth/signup',
        payload: '{nope',
        headers: { 'content-type': 'application/json', 'x-request-id': id },
      });
      expect(bad.headers['x-request-id']).toBe(id);
      expect(expectProblem(bad, 400, 'MALFORMED_JSON').request_id).toBe(id);

      const unauth = await t.app.inject({ method: 'GET', url: '/v1/me', headers: { 'x-request-id': id } });
      expect(expectProblem(unauth, 401, 'UNAUTHENTICATED').request_id).toBe(id);

      const missing = await t.app.inject({ method: 'GET', url: '/v1/no-such-route', headers: { 'x-request-id': id } });
      expect(expectProblem(missing, 404, 'NOT_FOUND').request_id).toBe(id);

      const tooBig = await signup(Buffer.alloc(70 * 1024, 0x20), 'application/json', { 'x-request-id': id });
      expect(expectProblem(tooBig, 413, 'PAYLOAD_TOO_LARGE').request_id).toBe(id);

      const health = await t.app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': id } });
      expect(health.headers['x-request-id']).toBe(id);
    });

    it.each([
      ['300 characters', 'a'.repeat(300)],
      ['spaces', 'hello world'],
      ['a tab', 'abc\tdef'],
      ['a newline', 'abc\ndef'],
      ['a CRLF and a fake header', 'abc\r\nset-cookie: x=1'],
      ['an empty value', ''],
      ['log-forging text', 'id" injected="yes'],
      ['non-ASCII', 'ïd-ünïcode'],
    ])('replaces an insane id (%s) with a generated one', async (_name, id) => {
      const res = await t.app.inject({ method: 'GET', url: '/v1/nope', headers: { 'x-request-id': id } });
      const generated = res.headers['x-request-id'];
      expect(generated).toMatch(UUID);
      expect(generated).not.toBe(id);
      expect(expectProblem(res, 404, 'NOT_FOUND').request_id).toBe(generated);
    });

    it('replaces a repeated X-Request-Id header with a generated id', async () => {
      const res = await t.app.inject({ method: 'GET', url: '/v1/nope', headers: { 'x-request-id': ['a', 'b'] } });
      expect(res.headers['x-request-id']).toMatch(UUID);
    });

    it('gives each request without an id a different one', async () => {
      const ids = new Set<string>();
      for (let i = 0; i < 5; i++) ids.add(String((await t.app.inject({ method: 'GET', url: '/healthz' })).headers['x-request-id']));
      expect(ids.size).toBe(5);
      for (const id of ids) expect(id).toMatch(UUID);
    });
  });

  it('answers an unknown route with a 404 problem', async () => {
    for (const [method, url] of [
      ['GET', '/v1/nothing-here'],
      ['POST', '/v1/auth/nothing'],
      ['PUT', '/v1/me'],
      ['PUT', '/oauth/token'],
    ] as const) {
      const res = await t.app.inject({ method, url, headers: { 'x-request-id': 'unknown-route-1' } });
      expect(expectProblem(res, 404, 'NOT_FOUND').request_id).toBe('unknown-route-1');
    }
    const p = expectProblem(await t.app.inject({ method: 'GET', url: '/v1/nothing-here?x=1' }), 404, 'NOT_FOUND');
    expect(p.detail).not.toContain('x=1');
  });

  // Fastify answers a URL it cannot percent-decode before any hook runs; `frameworkErrors` makes it a problem.
  it('answers an undecodable URL with a 400 problem carrying the request id', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/v1/me/%E0%A4%A', headers: { 'x-request-id': 'bad-url-1' } });
    expect(res.headers['x-request-id']).toBe('bad-url-1');
    expect(expectProblem(res, 400).request_id).toBe('bad-url-1');
  });

  it('serves OpenAPI 3.1 listing the identity routes', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/openapi.json' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    const doc = res.json();
    expect(doc.openapi).toMatch(/^3\.1\./);
    expect(doc.info).toMatchObject({ title: expect.any(String), version: expect.any(String) });
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/v1/auth/signup', '/v1/auth/login', '/oauth/token', '/oauth/revoke', '/v1/me']),
    );
    expect(doc.paths['/v1/auth/signup'].post).toBeDefined();
    expect(doc.paths['/v1/me'].get).toBeDefined();
    expect(doc.paths['/v1/me'].patch).toBeDefined();
    expect(doc.paths['/oauth/token'].post).toBeDefined();
  });

  it('serves the interactive reference at /docs', async () => {
    let res = await t.app.inject({ method: 'GET', url: '/docs' });
    for (let hops = 0; res.statusCode >= 300 && res.statusCode < 400 && hops < 3; hops++) {
      const next = new URL(String(res.headers.location), 'http://localhost/docs');
      res = await t.app.inject({ method: 'GET', url: next.pathname + next.search });
    }
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/html/);
    expect(res.headers['x-request-id']).toBeDefined();
  });
});
