// An example tool's own database: a fresh `<tool>_<random>` database on TEST_DATABASE_URL's
// server (dropped afterwards), or PGlite in memory without one. Its request role is this run's
// own (roles are cluster-wide), created NOLOGIN; the tables are the connecting user's.
import { randomBytes } from 'node:crypto';
import { PGlite } from '@electric-sql/pglite';
import type { PoolLike, Queryable } from '@tenantry/sdk';
import pg from 'pg';
import { pgliteAsPool } from '../../../packages/sdk/test/helpers/tenant-db.js';
import { adminQuery, databaseUrl } from '../../../packages/server/test/helpers/templates.js';

export interface ToolDb {
  /** The database owner (what the migration runs as). */
  owner: Queryable;
  /** What the tool's requests take connections from. */
  pool: PoolLike;
  role: string;
  close(): Promise<void>;
}

export async function openToolDb(tool: string, schema: (role: string) => string[]): Promise<ToolDb> {
  const suffix = randomBytes(5).toString('hex');
  const role = `${tool}_app_${suffix}`;
  let db: ToolDb;
  const adminUrl = process.env.TEST_DATABASE_URL;
  if (!adminUrl) {
    const lite = await PGlite.create();
    await lite.query(`create role ${role} nologin`);
    db = { owner: lite as unknown as Queryable, pool: pgliteAsPool(lite), role, close: () => lite.close() };
  } else {
    const name = `${tool}_${suffix}`;
    await adminQuery(adminUrl, `create database ${name}`);
    await adminQuery(adminUrl, `create role ${role} nologin`);
    const pool = new pg.Pool({ connectionString: databaseUrl(adminUrl, name), max: 4, connectionTimeoutMillis: 10_000 });
    pool.on('error', () => undefined);
    db = {
      owner: pool as unknown as Queryable,
      pool: pool as unknown as PoolLike,
      role,
      async close() {
        await pool.end();
        await adminQuery(adminUrl, `drop database if exists ${name} with (force)`);
        await adminQuery(adminUrl, `drop role if exists ${role}`);
      },
    };
  }
  for (const statement of schema(role)) await db.owner.query(statement);
  return db;
}
