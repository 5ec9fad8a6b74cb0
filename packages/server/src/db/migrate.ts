import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Database } from './database.js';
import type { ScriptConnection } from './driver.js';

const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations/', import.meta.url));
const CODE_DIR = fileURLToPath(new URL('../../sql/', import.meta.url));
// Any constant works; it only has to be the same for every Tenantry process.
const LOCK_KEY = 7_263_517_001;

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** A file of sql/: functions, triggers or policies, applied again whenever it changes. */
export interface CodeFile {
  /** The path inside sql/, e.g. `policies/memberships.sql`. */
  name: string;
  sql: string;
  /** Its definitions shape the stored member-list entries: a change re-renders them all. */
  rendersMemberEntries: boolean;
}

/**
 * The files of sql/ in the order they are applied: each after the ones whose
 * definitions it uses. A file that is not listed here stops the start.
 */
export const CODE_ORDER: ReadonlyArray<{ name: string; rendersMemberEntries?: boolean }> = [
  { name: 'tenant-context.sql' },
  { name: 'api-format.sql', rendersMemberEntries: true },
  { name: 'member-entry.sql', rendersMemberEntries: true },
  { name: 'reads.sql' },
  { name: 'credentials.sql' },
  { name: 'sessions.sql' },
  { name: 'policy-reset.sql' },
  { name: 'policies/organizations.sql' },
  { name: 'policies/memberships.sql' },
  { name: 'policies/audit_events.sql' },
  { name: 'policies/invitations.sql' },
  { name: 'policies/account_tokens.sql' },
  { name: 'policies/audit_chain_heads.sql' },
  { name: 'policies/audit_checkpoints.sql' },
  { name: 'audit-chain.sql' },
  { name: 'tools.sql' },
  { name: 'api-keys.sql' },
  { name: 'introspection.sql' },
  { name: 'tool-events.sql' },
  { name: 'policies/idempotency_records.sql' },
  { name: 'events.sql' },
  { name: 'policies/events.sql' },
  { name: 'create-organization.sql' },
  { name: 'policies/webhook_deliveries.sql' },
  { name: 'webhook-secrets.sql' },
  { name: 'policies/users.sql' },
  { name: 'policies/sessions.sql' },
  { name: 'policies/refresh_tokens.sql' },
  { name: 'policies/organization_tools.sql' },
  { name: 'policies/api_keys.sql' },
  { name: 'enablement-period.sql' },
  { name: 'policies/webhook_endpoints.sql' },
  { name: 'policies/sharing_grants.sql' },
];

/** Memberships re-rendered per transaction when the entry's shape changes. */
const RERENDER_BATCH = 1000;

export async function loadMigrations(dir = MIGRATIONS_DIR): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((f) => /^\d{3}_[a-z0-9_]+\.sql$/.test(f)).sort();
  return Promise.all(
    files.map(async (f) => ({ version: Number(f.slice(0, 3)), name: f.slice(4, -4), sql: await readFile(dir + f, 'utf8') })),
  );
}

export async function loadCode(dir = CODE_DIR): Promise<CodeFile[]> {
  const present = (await readdir(dir, { recursive: true })).map((f) => f.replaceAll('\\', '/')).filter((f) => f.endsWith('.sql'));
  const unlisted = present.filter((f) => !CODE_ORDER.some((c) => c.name === f));
  if (unlisted.length > 0) throw new Error(`sql/${unlisted[0]} is not in CODE_ORDER (src/db/migrate.ts); add it where it belongs`);
  return Promise.all(
    CODE_ORDER.map(async (c) => ({
      name: c.name,
      sql: await readFile(dir + c.name, 'utf8'),
      rendersMemberEntries: c.rendersMemberEntries ?? false,
    })),
  );
}

// Line endings do not count: a checkout that turns LF into CRLF is the same file.
const checksum = (text: string) => createHash('sha256').update(text.replace(/\r\n/g, '\n')).digest('hex');
const label = (m: Migration) => `${String(m.version).padStart(3, '0')}_${m.name}`;

export interface MigrateOptions {
  /** The sql/ files (loadCode() by default); [] applies the numbered migrations only. */
  code?: CodeFile[];
  /** Memberships per transaction of a re-render (1,000 by default). */
  rerenderBatch?: number;
  /** Called after each committed batch of a re-render, with the rows it re-rendered. */
  onRerenderBatch?: (rows: number) => void | Promise<void>;
}

async function inTransaction(conn: ScriptConnection, what: string, fn: () => Promise<void>): Promise<void> {
  await conn.exec('begin');
  try {
    await fn();
    await conn.exec('commit');
  } catch (err) {
    await conn.exec('rollback');
    throw new Error(`${what} failed: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Applies pending migrations, each in its own transaction, recorded in
 * schema_migrations with the checksum of its file; then every sql/ file whose
 * checksum differs from the one recorded in schema_code, in CODE_ORDER, each in its
 * own transaction. A session-level advisory lock makes two processes starting at once
 * take turns; the second finds nothing left to do. A migration whose file changed
 * after it was applied stops the start: the database would not be what the file says.
 */
export async function migrate(db: Database, migrations?: Migration[], opts: MigrateOptions = {}): Promise<string[]> {
  const all = migrations ?? (await loadMigrations());
  const code = opts.code ?? (await loadCode());
  return db.withConnection(async (conn) => {
    if (await upToDate(conn, all, code)) return [];
    await conn.query('select pg_advisory_lock($1)', [LOCK_KEY]);
    try {
      return [...(await applyMigrations(conn, all)), ...(await applyCode(conn, code, opts))];
    } finally {
      await conn.query('select pg_advisory_unlock($1)', [LOCK_KEY]);
    }
  });
}

// undefined_table, undefined_column: a new database, or one whose records predate checksums.
const RECORDS_MISSING = new Set(['42P01', '42703']);

/**
 * Whether the records already hold every file as it is now: one read, without the lock and
 * the bookkeeping statements, so a start with nothing to apply costs one statement. Anything
 * else (a file changed, added or never recorded, a re-render pending, no records yet) takes
 * the full way under the lock, which decides again. Reading without the lock is safe: what
 * another process commits meanwhile can only make a record differ from these files, never
 * make one match that the database does not hold.
 */
async function upToDate(conn: ScriptConnection, all: Migration[], code: CodeFile[]): Promise<boolean> {
  let rows: Array<{ kind: string; name: string; checksum: string | null }>;
  try {
    const recorded = await conn.query(
      code.length === 0
        ? `select 'migration' as kind, version::text as name, checksum from schema_migrations`
        : `select 'migration' as kind, version::text as name, checksum from schema_migrations
           union all select 'code', name, checksum from schema_code`,
      [],
    );
    rows = recorded.rows as typeof rows;
  } catch (err) {
    if (RECORDS_MISSING.has((err as { code?: string }).code ?? '')) return false;
    throw err;
  }
  const held = new Map(rows.map((r) => [`${r.kind}:${r.name}`, r.checksum]));
  return (
    all.every((m) => held.get(`migration:${m.version}`) === checksum(m.sql)) &&
    code.every((f) => held.get(`code:${f.name}`) === checksum(f.sql))
  );
}

async function applyMigrations(conn: ScriptConnection, all: Migration[]): Promise<string[]> {
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
        await conn.query('update schema_migrations set checksum = $1 where version = $2', [checksum(m.sql), m.version]);
      } else if (recorded !== checksum(m.sql)) {
        throw new Error(`migration ${label(m)} was changed after it was applied; restore the file and put the change in a new migration`);
      }
      continue;
    }
    await inTransaction(conn, `migration ${label(m)}`, async () => {
      await conn.exec(m.sql);
      await conn.query('insert into schema_migrations (version, name, checksum) values ($1, $2, $3)', [m.version, m.name, checksum(m.sql)]);
    });
    applied.push(label(m));
  }
  return applied;
}

// Recorded in place of the checksum of a file applied before its re-render has finished.
const RERENDER_PENDING = 're-render pending';

const recordCode = (conn: ScriptConnection, f: CodeFile, recorded = checksum(f.sql)) =>
  conn.query(
    `insert into schema_code (name, checksum) values ($1, $2)
     on conflict (name) do update set checksum = excluded.checksum, applied_at = now()`,
    [f.name, recorded],
  );

async function applyCode(conn: ScriptConnection, code: CodeFile[], opts: MigrateOptions): Promise<string[]> {
  if (code.length === 0) return [];
  await conn.exec(`create table if not exists schema_code (
    name text primary key, checksum text not null, applied_at timestamptz not null default now())`);
  const { rows } = await conn.query('select name, checksum from schema_code', []);
  const recorded = new Map((rows as Array<{ name: string; checksum: string }>).map((r) => [r.name, r.checksum]));
  const changed = code.filter((f) => recorded.get(f.name) !== checksum(f.sql));
  for (const f of changed) {
    await inTransaction(conn, `sql/${f.name}`, async () => {
      await conn.exec(f.sql);
      // A file that shapes the entries is recorded once they are re-rendered; until then
      // it matches no file, so a start interrupted in between applies the file that is
      // there then (the same or an older one) and re-renders again.
      await recordCode(conn, f, f.rendersMemberEntries ? RERENDER_PENDING : checksum(f.sql));
    });
  }
  const reshaped = changed.filter((f) => f.rendersMemberEntries);
  if (reshaped.length > 0) {
    // After every changed file, so the policies the re-render runs under are current.
    await rerenderMemberEntries(conn, opts);
    for (const f of reshaped) await recordCode(conn, f);
  }
  return changed.map((f) => `sql/${f.name}`);
}

/**
 * Renders every membership's entry again, in batches by primary-key range, each in its
 * own transaction as tenantry_maintenance: row locks on the batch only, and row-level
 * security stays forced (that role's policies reach every organization). Writers go on
 * meanwhile; the trigger renders what they write with the new definition.
 */
async function rerenderMemberEntries(conn: ScriptConnection, opts: MigrateOptions): Promise<void> {
  const batch = opts.rerenderBatch ?? RERENDER_BATCH;
  let after: { organization_id: string; user_id: string } | undefined;
  for (;;) {
    let rows = 0;
    await inTransaction(conn, 're-rendering member entries', async () => {
      await conn.query(`select set_config('role', 'tenantry_maintenance', true)`, []);
      const range = after ? 'where (organization_id, user_id) > ($2::uuid, $3::uuid)' : '';
      const { rows: done } = await conn.query(
        `with batch as (
           select organization_id, user_id from memberships ${range}
           order by organization_id, user_id limit $1 for no key update)
         update memberships m set entry = null from batch b
         where m.organization_id = b.organization_id and m.user_id = b.user_id
         returning m.organization_id, m.user_id`,
        after ? [batch, after.organization_id, after.user_id] : [batch],
      );
      const keys = done as Array<{ organization_id: string; user_id: string }>;
      rows = keys.length;
      // uuid order is the order of their lower-case hex text.
      const key = (k: { organization_id: string; user_id: string }) => `${k.organization_id}/${k.user_id}`;
      after = keys.reduce<typeof after>((max, k) => (max === undefined || key(k) > key(max) ? k : max), undefined);
    });
    if (rows === 0) return;
    await opts.onRerenderBatch?.(rows);
    if (rows < batch) return;
  }
}
