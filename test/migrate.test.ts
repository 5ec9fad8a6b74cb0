import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMigrations, migrate } from '../src/db/migrate.js';
import { assertIsolation } from '../src/db/rls-check.js';
import { createTestDatabase, ENGINES, type TestDatabase } from './helpers/db.js';

describe.each(ENGINES)('migrations (%s)', (engine) => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase(engine);
  });
  afterAll(() => t.drop());

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
});
