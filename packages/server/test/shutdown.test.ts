import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { testConfig } from '../src/config.js';
import type { Database } from '../src/db/database.js';
import { serve } from '../src/server.js';
import { copyMigratedPgliteDataDir, createTestDatabase, ENGINES } from './helpers/db.js';

describe('graceful shutdown', () => {
  it('fails readiness, lets an in-flight request finish, then closes the pool; data survives a restart', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'tenantry-'));
    await copyMigratedPgliteDataDir(dataDir);
    const config = testConfig({
      dataDir,
      databaseUrl: undefined,
      port: 0,
      host: '127.0.0.1',
      db: { ...testConfig().db, connectionTimeoutMs: 30_000 },
    });
    try {
      // The email sender polls rarely here, so the only waiter for the connection is the request.
      const r = await serve(config, { mailPollMs: 3_600_000 });
      const base = `http://127.0.0.1:${(r.app.server.address() as AddressInfo).port}`;
      const signup = await fetch(`${base}/v1/auth/signup`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'persist@example.com', password: 'a long enough password', name: 'P' }),
      });
      expect(signup.status).toBe(201);

      // Hold the only connection, so the next request stays in flight while we stop.
      let release!: () => void;
      const held = r.db.withConnection(() => new Promise<void>((res) => (release = res)));
      const inFlight = fetch(`${base}/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'persist@example.com', password: 'a long enough password' }),
      });
      await expect.poll(() => r.db.stats().waiting).toBe(1);

      const stopping = r.stop();
      expect(r.app.state.draining).toBe(true);
      const duringDrain = await r.app.inject({ method: 'GET', url: '/readyz' });
      expect(duringDrain.statusCode).toBe(503);

      release();
      await held;
      expect((await inFlight).status).toBe(200);
      await stopping;
      await expect(sql`select 1`.execute(r.db.kysely)).rejects.toThrow();

      // The embedded database kept its data.
      const again = await serve(config);
      try {
        const b2 = `http://127.0.0.1:${(again.app.server.address() as AddressInfo).port}`;
        const login = await fetch(`${b2}/v1/auth/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ email: 'persist@example.com', password: 'a long enough password' }),
        });
        expect(login.status).toBe(200);
      } finally {
        await again.stop();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it.each(ENGINES)('%s: a request whose client went away is handled to its end before the pool closes', async (engine) => {
    const dataDir = await mkdtemp(join(tmpdir(), 'tenantry-'));
    const pgDb = engine === 'postgres' ? await createTestDatabase('postgres') : undefined;
    if (pgDb) await pgDb.db.close();
    else await copyMigratedPgliteDataDir(dataDir);
    const config = testConfig({
      dataDir: pgDb ? undefined : dataDir,
      databaseUrl: pgDb?.url,
      port: 0,
      host: '127.0.0.1',
      db: { ...testConfig().db, poolMax: 1, connectionTimeoutMs: 30_000 },
    });
    const sessionsOf = async (db: Database) =>
      (
        await sql<{ n: number }>`select count(*)::int as n from sessions s join users u on u.id = s.user_id
          where u.email = 'abandoned@example.com'`.execute(db.kysely)
      ).rows[0]!.n;
    try {
      const r = await serve(config, { mailPollMs: 3_600_000 });
      const port = (r.app.server.address() as AddressInfo).port;
      const credentials = { email: 'abandoned@example.com', password: 'a long enough password' };
      // Injected, so that no kept-alive socket stays open.
      const signup = await r.app.inject({ method: 'POST', url: '/v1/auth/signup', payload: { ...credentials, name: 'A' } });
      expect(signup.statusCode).toBe(201);
      const before = await sessionsOf(r.db);

      // A login takes two transactions: the password check's read, then the new session. Its
      // first waits for the only connection, held here; then its client goes away.
      await expect.poll(() => r.db.stats().waiting).toBe(0); // the start's background work is done
      let release!: () => void;
      const held = r.db.withConnection(() => new Promise<void>((res) => (release = res)));
      const abandoned = request({
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/v1/auth/login',
        headers: { 'content-type': 'application/json' },
      });
      abandoned.on('error', () => undefined);
      abandoned.end(JSON.stringify(credentials));
      await expect.poll(() => r.app.state.handlers.size === 1 && r.db.stats().waiting === 1).toBe(true);
      abandoned.destroy();
      await expect.poll(() => new Promise<number>((res) => r.app.server.getConnections((_e, n) => res(n)))).toBe(0);

      const stopping = r.stop();
      release();
      await held;
      await stopping;

      // The login's second transaction ran: the pool was not closed under the handler.
      const again = await serve(config);
      try {
        expect(await sessionsOf(again.db)).toBe(before + 1);
      } finally {
        await again.stop();
      }
    } finally {
      await pgDb?.drop();
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('drain deadline: a request that never finishes does not hold shutdown past SHUTDOWN_TIMEOUT_MS', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'tenantry-'));
    await copyMigratedPgliteDataDir(dataDir);
    const config = testConfig({
      dataDir,
      databaseUrl: undefined,
      port: 0,
      host: '127.0.0.1',
      shutdownTimeoutMs: 300,
      db: { ...testConfig().db, connectionTimeoutMs: 60_000 },
    });
    let release: (() => void) | undefined;
    try {
      const r = await serve(config, { mailPollMs: 3_600_000 });
      const base = `http://127.0.0.1:${(r.app.server.address() as AddressInfo).port}`;
      // The only connection is held for longer than the test runs: the request waits on it.
      const held = r.db.withConnection(() => new Promise<void>((res) => (release = res)));
      const inFlight = fetch(`${base}/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'stuck@example.com', password: 'a long enough password' }),
      });
      await expect.poll(() => r.db.stats().waiting).toBe(1);
      await r.stop(); // returns after the deadline instead of waiting for the request
      await expect(inFlight).rejects.toThrow(); // its socket was closed
      release?.();
      await held;
    } finally {
      release?.();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
