import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AccessTokenVerifier } from '../src/index.js';
import { AUDIENCE, ISSUER, type Issuer, startIssuer } from './helpers/issuer.js';

describe('the JWKS cache', () => {
  let issuer: Issuer;
  let clock: number;
  let verifier: AccessTokenVerifier;
  beforeEach(async () => {
    issuer = await startIssuer();
    clock = Date.now();
    verifier = new AccessTokenVerifier({ issuer: ISSUER, audience: AUDIENCE, jwksUri: issuer.jwksUrl, now: () => clock, cacheSize: 0 });
  });
  afterEach(() => issuer.close());

  it('fetches the JWKS once for many verifications, concurrent ones included', async () => {
    const tokens = await Promise.all(Array.from({ length: 50 }, () => issuer.mint()));
    await Promise.all(tokens.map((t) => verifier.verify(t)));
    for (const t of tokens) await verifier.verify(t);
    expect(issuer.fetches()).toBe(1);
  });

  it('a flood of unknown kids refetches at most once a minute (concurrent and sequential)', async () => {
    await verifier.verify(await issuer.mint());
    expect(issuer.fetches()).toBe(1);
    const forged = () => issuer.mint({}, { kid: `forged-${crypto.randomUUID()}` });
    const results = await Promise.allSettled(
      await Promise.all(Array.from({ length: 100 }, forged)).then((ts) => ts.map((t) => verifier.verify(t))),
    );
    expect(results.every((r) => r.status === 'rejected')).toBe(true);
    for (let i = 0; i < 50; i++) await expect(verifier.verify(await forged())).rejects.toMatchObject({ status: 401 });
    expect(issuer.fetches()).toBe(1); // within the minute of the last fetch: none
    clock += 59_000;
    await expect(verifier.verify(await forged())).rejects.toMatchObject({ status: 401 });
    expect(issuer.fetches()).toBe(1);
    clock += 1_000;
    await Promise.allSettled(await Promise.all(Array.from({ length: 20 }, forged)).then((ts) => ts.map((t) => verifier.verify(t))));
    await expect(verifier.verify(await forged())).rejects.toMatchObject({ status: 401 });
    expect(issuer.fetches()).toBe(2); // a minute later: one fetch, shared by the concurrent misses
  });

  it('picks up a rotated key on its first token (the refetch of an unknown kid)', async () => {
    await verifier.verify(await issuer.mint());
    clock += 60_000;
    const next = issuer.rotate();
    await expect(verifier.verify(await issuer.mint({}, {}, next))).resolves.toMatchObject({ type: 'user' });
    await expect(verifier.verify(await issuer.mint())).resolves.toMatchObject({ type: 'user' });
    expect(issuer.fetches()).toBe(2);
  });

  it('answers 503 when the JWKS cannot be read and no key is known, and keeps known keys when it fails later', async () => {
    issuer.fail(true);
    await expect(verifier.verify(await issuer.mint())).rejects.toMatchObject({ status: 503, code: 'SERVICE_UNAVAILABLE' });
    clock += 60_000;
    issuer.fail(false);
    await expect(verifier.verify(await issuer.mint())).resolves.toMatchObject({ type: 'user' });
    issuer.fail(true);
    clock += 11 * 60_000; // the keys are stale: refetched, the fetch fails, the known keys still serve
    await expect(verifier.verify(await issuer.mint())).resolves.toMatchObject({ type: 'user' });
    expect(issuer.fetches()).toBe(3);
  });
});
