import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadMigrations, migrate } from '../src/db/migrate.js';
import { assertIsolation } from '../src/db/rls-check.js';
import { createTestDatabase, ENGINES, type TestDatabase } from './helpers/db.js';

describe.each(ENGINES)('migrations (%s)', (engine) => {
  // Several tests apply migrations of their own: each gets a database of its own, so
  // none sees another's extra versions or tables.
  let t: TestDatabase;
  beforeEach(async () => {
    t = await createTestDatabase(engine);
  });
  afterEach(() => t.drop());

  it('are recorded once and re-running them, even from two callers at once, applies nothing', async () => {
    const all = await loadMigrations();
    const again = await Promise.all([migrate(t.db), migrate(t.db)]);
    expect(again).toEqual([[], []]);
    const rows = await t.db.kysely.selectFrom('schema_migrations').select('version').orderBy('version').execute();
    expect(rows.map((r) => r.version)).toEqual(all.map((m) => m.version));
  });

  it('a failed migration leaves nothing half-applied', async () => {
    const bad = [{ version: 999, name: 'broken', sql: 'create table half_done (id int); select * from no_such_table;' }];
    await expect(migrate(t.db, bad)).rejects.toThrow(/999_broken/);
    const exists = await t.db.kysely
      .selectFrom('pg_tables' as never)
      .select('tablename' as never)
      .where('tablename' as never, '=', 'half_done' as never)
      .execute();
    expect(exists).toEqual([]);
  });

  it('start-up refuses a tenant table without forced row-level security', async () => {
    await t.db.withConnection((c) => c.exec('create table sneaky (organization_id uuid)'));
    try {
      await expect(assertIsolation(t.db)).rejects.toThrow(/sneaky lacks enabled and forced row-level security/);
      await t.db.withConnection((c) => c.exec('alter table sneaky enable row level security'));
      await expect(assertIsolation(t.db)).rejects.toThrow(/sneaky/);
      await t.db.withConnection((c) => c.exec('alter table sneaky force row level security'));
      await expect(assertIsolation(t.db)).resolves.toBeUndefined();
    } finally {
      await t.db.withConnection((c) => c.exec('drop table sneaky'));
    }
  });

  // Roles are cluster-wide: only an embedded database of its own may change one.
  it.runIf(engine === 'pglite')('start-up refuses a maintenance role that could bypass row-level security', async () => {
    await expect(assertIsolation(t.db)).resolves.toBeUndefined();
    await t.db.withConnection((c) => c.exec('alter role tenantry_maintenance bypassrls'));
    try {
      await expect(assertIsolation(t.db)).rejects.toThrow(/tenantry_maintenance has BYPASSRLS/);
    } finally {
      await t.db.withConnection((c) => c.exec('alter role tenantry_maintenance nobypassrls'));
    }
  });

  it('refuses to go on when an applied migration was changed, and changes nothing; line endings do not count', async () => {
    const original = { version: 998, name: 'checked', sql: 'create table checked_t (id int);\ncomment on table checked_t is $$v1$$;\n' };
    expect(await migrate(t.db, [original])).toEqual(['998_checked']);
    const edited = { ...original, sql: original.sql.replace('v1', 'v2') };
    const also = { version: 997, name: 'later', sql: 'create table later_t (id int)' };
    await expect(migrate(t.db, [edited, also])).rejects.toThrow(/998_checked was changed after it was applied/);
    const comment = await t.db.withConnection((c) =>
      c.query(`select obj_description('checked_t'::regclass) as c, to_regclass('later_t') as later`, []),
    );
    expect(comment.rows).toEqual([{ c: 'v1', later: null }]);
    expect(await migrate(t.db, [{ ...original, sql: original.sql.replace(/\n/g, '\r\n') }])).toEqual([]);
  });

  it('records the checksum of a migration applied before checksums were kept, then holds it to that', async () => {
    const m = { version: 996, name: 'legacy', sql: 'create table legacy_t (id int)' };
    expect(await migrate(t.db, [m])).toEqual(['996_legacy']);
    await t.db.withConnection((c) => c.query('update schema_migrations set checksum = null where version = 996', []));
    expect(await migrate(t.db, [m])).toEqual([]);
    const row = await t.db.kysely.selectFrom('schema_migrations').select('checksum').where('version', '=', 996).executeTakeFirstOrThrow();
    expect(row.checksum).toMatch(/^[0-9a-f]{64}$/);
    await expect(migrate(t.db, [{ ...m, sql: 'create table legacy_t (id bigint)' }])).rejects.toThrow(/996_legacy was changed/);
  });
});
