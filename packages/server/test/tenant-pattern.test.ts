import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inTenantTransaction, readInOneStatement, setLocalSettings } from '../src/db/tenant-pattern.js';
import { createTestDatabase, ENGINES, type TestDatabase } from './helpers/db.js';

// The schema-free tenant pattern, on a connection of one: a setting made inside a
// transaction must be gone for whatever runs on that connection next.
describe.each(ENGINES)('tenant pattern (%s)', (engine) => {
  let t: TestDatabase;
  const setting = (name: string) => sql<{ v: string | null }>`select nullif(current_setting(${name}, true), '') as v`;

  beforeAll(async () => {
    t = await createTestDatabase(engine, { pool: { poolMax: 1 } });
  });
  afterAll(() => t.drop());

  it('sets settings transaction-locally from bound values, and they end with the transaction', async () => {
    const hostile = "x'; drop table users; --";
    const inside = await inTenantTransaction(
      t.db.kysely,
      () => undefined,
      (tx) => setLocalSettings(tx, { 'pattern.tenant': hostile, 'pattern.user': 'u1' }),
      async (tx) => (await setting('pattern.tenant').execute(tx)).rows[0]!.v,
    );
    expect(inside).toBe(hostile);
    expect((await setting('pattern.tenant').execute(t.db.kysely)).rows[0]!.v).toBeNull();
    expect((await setting('pattern.user').execute(t.db.kysely)).rows[0]!.v).toBeNull();
  });

  it('rolls back on error, settings included', async () => {
    await expect(
      inTenantTransaction(
        t.db.kysely,
        () => undefined,
        (tx) => setLocalSettings(tx, { 'pattern.tenant': 't1' }),
        async () => {
          throw new Error('refused');
        },
      ),
    ).rejects.toThrow('refused');
    expect((await setting('pattern.tenant').execute(t.db.kysely)).rows[0]!.v).toBeNull();
  });

  it('runs the check before BEGIN: a refused context takes no connection and runs no SQL', async () => {
    let entered = false;
    const run = inTenantTransaction(
      t.db.kysely,
      () => {
        throw new Error('bad context');
      },
      async () => {
        entered = true;
      },
      async () => 'ran',
    );
    await expect(run).rejects.toThrow('bad context');
    expect(entered).toBe(false);
    await expect(
      readInOneStatement(
        t.db.kysely,
        () => {
          throw new Error('bad context');
        },
        () => sql`select 1`,
      ),
    ).rejects.toThrow('bad context');
  });

  it('reads in one statement that enters its own context', async () => {
    const row = await readInOneStatement(
      t.db.kysely,
      () => undefined,
      () => sql<{ v: string }>`select set_config('pattern.tenant', ${'t2'}, true) as v`,
    );
    expect(row.v).toBe('t2');
    expect((await setting('pattern.tenant').execute(t.db.kysely)).rows[0]!.v).toBeNull();
  });
});
