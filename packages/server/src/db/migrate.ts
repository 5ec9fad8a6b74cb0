import { createHash } from 'node:crypto';
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

// Line endings do not count: a checkout that turns LF into CRLF is the same migration.
const checksum = (m: Migration) => createHash('sha256').update(m.sql.replace(/\r\n/g, '\n')).digest('hex');
const label = (m: Migration) => `${String(m.version).padStart(3, '0')}_${m.name}`;

/**
 * Applies pending migrations, each in its own transaction, recorded in
 * schema_migrations with the checksum of its file. A session-level advisory lock
 * makes two processes starting at once take turns; the second finds nothing left to
 * do. A migration whose file changed after it was applied stops the start: the
 * database would not be what the file says.
 */
export async function migrate(db: Database, migrations?: Migration[]): Promise<string[]> {
  const all = migrations ?? (await loadMigrations());
  return db.withConnection(async (conn) => {
    await conn.query('select pg_advisory_lock($1)', [LOCK_KEY]);
    try {
      await conn.exec(`create table if not exists schema_migrations (
        version integer primary key, name text not null, applied_at timestamptz not null default now());
        alter table schema_migrations add column if not exists checksum text`);
      const { rows } = await conn.query('select version, checksum from schema_migrations', []);
      const done = new Map((rows as Array<{ version: number; checksum: string | null }>).map((r) => [r.version, r.checksum]));
      const applied: string[] = [];
      for (const m of all) {
        if (done.has(m.version)) {
          const recorded = done.get(m.version);
          if (recorded === null) {
            // Applied before checksums were kept: the file as it is now becomes the record.
            await conn.query('update schema_migrations set checksum = $1 where version = $2', [checksum(m), m.version]);
          } else if (recorded !== checksum(m)) {
            throw new Error(
              `migration ${label(m)} was changed after it was applied; restore the file and put the change in a new migration`,
            );
          }
          continue;
        }
        await conn.exec('begin');
        try {
          await conn.exec(m.sql);
          await conn.query('insert into schema_migrations (version, name, checksum) values ($1, $2, $3)', [m.version, m.name, checksum(m)]);
          await conn.exec('commit');
        } catch (err) {
          await conn.exec('rollback');
          throw new Error(`migration ${label(m)} failed: ${(err as Error).message}`, { cause: err });
        }
        applied.push(label(m));
      }
      return applied;
    } finally {
      await conn.query('select pg_advisory_unlock($1)', [LOCK_KEY]);
    }
  });
}
