import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from './helpers/app.js';

const ALLOWED = 'https://app.example.com';

const preflight = (t: TestApp, origin: string) =>
  t.app.inject({
    method: 'OPTIONS',
    url: '/v1/me',
    headers: { origin, 'access-control-request-method': 'PATCH', 'access-control-request-headers': 'authorization, content-type' },
  });

describe('CORS_ORIGINS', () => {
  let open: TestApp;
  let closed: TestApp;
  beforeAll(async () => {
    open = await startApp('pglite', { corsOrigins: [ALLOWED, 'http://127.0.0.1:5173'] });
    closed = await startApp('pglite');
  });
  afterAll(async () => {
    await open?.close();
    await closed?.close();
  });

  it('answers a preflight from a listed origin with that origin, the methods and the headers', async () => {
    const res = await preflight(open, ALLOWED);
    expect(res.statusCode).toBe(204);
    expect(res.headers['access-control-allow-origin']).toBe(ALLOWED);
    expect(String(res.headers['access-control-allow-methods'])).toContain('PATCH');
    expect(String(res.headers['access-control-allow-headers']).toLowerCase()).toContain('authorization');
    expect(res.headers['access-control-allow-credentials']).toBeUndefined();
  });

  it('lets a listed origin read answers, errors included', async () => {
    const res = await open.app.inject({ method: 'GET', url: '/v1/me', headers: { origin: ALLOWED } });
    expect(res.statusCode).toBe(401);
    expect(res.headers['access-control-allow-origin']).toBe(ALLOWED);
    expect(String(res.headers['access-control-expose-headers'])).toContain('x-request-id');
  });

  it('gives another origin nothing to read (a look-alike origin reading tokens from a browser)', async () => {
    for (const origin of ['https://evil.example.com', 'https://app.example.com.evil.example', 'http://app.example.com']) {
      const res = await open.app.inject({ method: 'GET', url: '/healthz', headers: { origin } });
      expect(res.headers['access-control-allow-origin']).toBeUndefined();
      expect((await preflight(open, origin)).headers['access-control-allow-origin']).toBeUndefined();
    }
  });

  it('sends no CORS headers at all by default', async () => {
    const res = await closed.app.inject({ method: 'GET', url: '/healthz', headers: { origin: ALLOWED } });
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
    expect((await preflight(closed, ALLOWED)).headers['access-control-allow-origin']).toBeUndefined();
  });
});
