import { decodeJwt } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { startApp, type TestApp } from './helpers/app.js';
import { ENGINES } from './helpers/db.js';
import { bearer, signupUser } from './helpers/users.js';

// Verified access tokens are cached by their text. The cache must never outlive a
// token: once `exp` (plus the 30 s clock tolerance) has passed, the token is refused
// even if it was accepted, and cached, a moment before.

const TTL_SECONDS = 60;
const TOLERANCE_SECONDS = 30;

describe.each(ENGINES)('verified-token cache and expiry (%s)', (engine) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp(engine, { accessTokenTtl: TTL_SECONDS });
  });
  afterAll(() => t.close());
  afterEach(() => {
    vi.useRealTimers();
  });

  const me = (token: string) => t.app.inject({ method: 'GET', url: '/v1/me', headers: bearer(token) });
  /** Only Date is faked: the database, timers and I/O run as usual. */
  const clockAt = (unixSeconds: number) => vi.useFakeTimers({ toFake: ['Date'], now: unixSeconds * 1000 });

  it('a token accepted (and cached) before its expiry is refused once exp plus the tolerance has passed', async () => {
    const user = await signupUser(t.app);
    const exp = decodeJwt(user.access).exp!;
    expect(exp - decodeJwt(user.access).iat!).toBe(TTL_SECONDS);

    expect((await me(user.access)).statusCode).toBe(200); // verified and cached
    clockAt(exp - 1);
    expect((await me(user.access)).statusCode).toBe(200); // from the cache, still valid
    clockAt(exp + TOLERANCE_SECONDS - 1);
    expect((await me(user.access)).statusCode).toBe(200); // within the tolerance

    clockAt(exp + TOLERANCE_SECONDS + 1);
    const refused = await me(user.access);
    expect(refused.statusCode).toBe(401);
    expect(refused.json()).toMatchObject({ code: 'UNAUTHENTICATED', detail: 'The access token has expired' });
    // And it stays refused: the expired entry is not served again.
    expect((await me(user.access)).statusCode).toBe(401);
  });

  it('a token first presented after its expiry is refused, and a fresh token of the same session still works', async () => {
    const user = await signupUser(t.app);
    const exp = decodeJwt(user.access).exp!;
    clockAt(exp + TOLERANCE_SECONDS + 1);
    expect((await me(user.access)).statusCode).toBe(401);
    vi.useRealTimers();
    const refreshed = await t.app.inject({
      method: 'POST',
      url: '/oauth/token',
      payload: { grant_type: 'refresh_token', refresh_token: user.refresh },
    });
    expect(refreshed.statusCode).toBe(200);
    expect((await me(refreshed.json().access_token)).statusCode).toBe(200);
  });
});
