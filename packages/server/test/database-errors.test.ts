// What `tenantry` says when DATABASE_URL does not lead to a usable database.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { testConfig } from '../src/config.js';
import { describeConnectFailure } from '../src/db/connect-errors.js';
import { logger, openAndPrepare } from '../src/server.js';
import { BIN, freePort } from './helpers/server-process.js';

const ADMIN_URL = process.env.TEST_DATABASE_URL;

const startError = async (databaseUrl: string) => {
  const config = testConfig({ databaseUrl });
  const err = await openAndPrepare(config, logger(config, 2)).then(
    () => new Error('the database opened'),
    (e: unknown) => e as Error,
  );
  return err.message;
};

describe('database failures at start name their cause', () => {
  it('a host name that does not resolve', async () => {
    expect(await startError('postgres://postgres@tenantry-db.invalid:5432/tenantry')).toMatch(
      /could not be resolved; check the host name in DATABASE_URL/,
    );
  });

  it('a closed port: connection refused', async () => {
    const port = await freePort();
    expect(await startError(`postgres://postgres@127.0.0.1:${port}/tenantry`)).toBe(
      `The database is unavailable: connection refused at 127.0.0.1:${port}: is PostgreSQL running and listening there?`,
    );
  });

  it('the command prints it and exits 1', async () => {
    const port = await freePort();
    const run = promisify(execFile)(process.execPath, [BIN, 'migrate'], {
      env: { ...process.env, DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/tenantry`, LOG_LEVEL: 'silent' },
    });
    const failed = await run.then(
      () => null,
      (e: { code: number; stderr: string }) => e,
    );
    expect(failed?.code).toBe(1);
    expect(failed?.stderr).toContain(`tenantry: The database is unavailable: connection refused at 127.0.0.1:${port}`);
  });

  it.skipIf(!ADMIN_URL)('a database that does not exist, with the createdb command', async () => {
    const url = new URL(ADMIN_URL!);
    url.pathname = '/tenantry_no_such_database';
    expect(await startError(url.toString())).toContain(
      `database "tenantry_no_such_database" does not exist on ${url.hostname}:${url.port || 5432}; create it (e.g. \`createdb -h ${url.hostname} -p ${url.port || 5432} -U ${url.username} tenantry_no_such_database\`)`,
    );
  });

  it.skipIf(!ADMIN_URL)('a role the server refuses (SQLSTATE 28000)', async () => {
    const url = new URL(ADMIN_URL!);
    url.username = 'tenantry_no_such_role';
    expect(await startError(url.toString())).toMatch(
      /refused role "tenantry_no_such_role" \(role "tenantry_no_such_role" does not exist\)/,
    );
  });

  it('a refused password (SQLSTATE 28P01, as the driver reports it)', () => {
    // The shared server trusts loopback, so a refused password is the driver's error as it arrives.
    const driverError = Object.assign(new Error('password authentication failed for user "app"'), { code: '28P01' });
    const poolError = Object.assign(new Error('The database is unavailable'), { cause: driverError });
    expect(describeConnectFailure(poolError, 'postgres://app:secret@db.example.com:6432/tenantry')).toBe(
      'password authentication failed for role "app" on db.example.com:6432; check the password in DATABASE_URL',
    );
    expect(describeConnectFailure(new Error('syntax error'), 'postgres://app@db.example.com/tenantry')).toBeUndefined();
  });
});
