import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Database } from './database.js';

const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations/', import.meta.url));
// Any constant works; it only has to be the same for every Tenantry process.
const LOCK_KEY = 7_263_517_001;

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export async function loadMigrations(dir = MIGRATIONS_DIR): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((f) => /^\d{3}_[a-z0-9_]+\.sql$/.test(f)).sort();
  return Promise.all(
    files.map(async (f) => ({ version: Number(f.slice(0, 3)), name: f.slice(4, -4), sql: await readFile(dir + f, 'utf8') })),
  );
}

/**
 * Applies pending migrations, each in its own transaction, recorded in
 * schema_migrations. A session-level advisory lock makes two processes starting
 * at once take turns; the second finds nothing left to do.
 */
export async function migrate(db: Database, migrations?: Migration[]): Promise<string[]> {
  const all = migrations ?? (await loadMigrations());
  return db.withConnection(async (conn) => {
    await conn.query('select pg_advisory_lock($1)', [LOCK_KEY]);
    try {
      await conn.exec(`create table if not exists schema_migrations (
        version integer primary key, name text not null, applied_at timestamptz not null default now())`);
      const { rows } = await conn.query('select version from schema_migrations', []);
      const done = new Set((rows as Array<{ version: number }>).map((r) => r.version));
      const applied: string[] = [];
      for (const m of all) {
        if (done.has(m.version)) continue;
        await conn.exec('begin');
        try {
          await conn.exec(m.sql);
          await conn.query('insert into schema_migrations (version, name) values ($1, $2)', [m.version, m.name]);
          await conn.exec('commit');
        } catch (err) {
          await conn.exec('rollback');
          throw new Error(`migration ${m.version}_${m.name} failed: ${(err as Error).message}`, { cause: err });
        }
        applied.push(`${String(m.version).padStart(3, '0')}_${m.name}`);
      }
      return applied;
    } finally {
      await conn.query('select pg_advisory_unlock($1)', [LOCK_KEY]);
    }
  });
}
