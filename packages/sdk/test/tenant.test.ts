import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  assertTenantTablesForced,
  InvalidPrincipal,
  type PoolClientLike,
  type PoolLike,
  type Principal,
  pgTransaction,
  quoteIdent,
  tenantTableSql,
  withTenant,
} from '../src/index.js';
import { ENGINES, openToolDb, type ToolDb } from './helpers/tenant-db.js';

const principalOf = (orgId: string): Principal => ({
  type: 'user',
  id: crypto.randomUUID(),
  orgId,
  permissions: [],
  token: { clientId: 'tenantry', issuedAt: 0, expiresAt: 0 },
});

const schema = (t: ToolDb) => `
  create table contacts (organization_id uuid not null, id uuid not null, name text not null, primary key (organization_id, id));
  ${tenantTableSql('contacts')}
  grant select, insert, update, delete on contacts to ${t.role};
  create table notes (organization_id uuid not null, id uuid primary key, body text);
  alter table notes enable row level security;
  create policy notes_tenant on notes using (organization_id = (select nullif(current_setting('app.org_id', true), '')::uuid));
  grant select on notes to ${t.role};
`;

// Every guarantee holds with the settings sent as a prepared statement too (node-postgres only).
const VARIANTS = [
  ...ENGINES.map((engine) => [engine, false] as const),
  ...(ENGINES.includes('postgres') ? [['postgres', true] as const] : []),
];

describe.each(VARIANTS)('the tenant pattern in a tool’s own database (%s, prepared settings: %s)', (engine, prepared) => {
  let t: ToolDb;
  const orgA = crypto.randomUUID();
  const orgB = crypto.randomUUID();
  const A = principalOf(orgA);
  const B = principalOf(orgB);
  const tenant = <T>(p: Principal, fn: (c: PoolClientLike) => Promise<T>, pool: PoolLike = t.pool) =>
    withTenant(pool, p, fn, { role: t.role, prepared });
  const names = async (c: PoolClientLike) => (await c.query('select name from contacts order by name')).rows.map((r) => r.name);

  beforeAll(async () => {
    t = await openToolDb(engine, { poolMax: 1 });
    for (const statement of schema(t)
      .split(';')
      .filter((s) => s.trim()))
      await t.admin.query(statement);
    await tenant(A, (c) => c.query('insert into contacts values ($1, $2, $3)', [orgA, crypto.randomUUID(), 'a-contact']));
    await tenant(B, (c) => c.query('insert into contacts values ($1, $2, $3)', [orgB, crypto.randomUUID(), 'b-contact']));
  });
  afterAll(() => t?.close());

  it('the start-up check passes for a table made by tenantTableSql and refuses one that does not force RLS, or is missing', async () => {
    await expect(assertTenantTablesForced(t.admin, ['contacts'], { role: t.role })).resolves.toBeUndefined();
    await expect(assertTenantTablesForced(t.admin, ['contacts', 'notes'], { role: t.role })).rejects.toThrow(
      'table notes does not force row-level security',
    );
    await expect(assertTenantTablesForced(t.admin, ['contacts', 'invoices'], { role: t.role })).rejects.toThrow(
      'table invoices does not exist',
    );
    await t.admin.query('create table plain (organization_id uuid)');
    await expect(assertTenantTablesForced(t.admin, ['plain'], { role: t.role })).rejects.toThrow(
      /plain does not enable row-level security; table plain does not force row-level security; table plain has no policy/,
    );
  });

  it('the start-up check refuses a tenant role that bypasses RLS, or one that does not exist', async () => {
    const bypass = `${t.role}_bypass`;
    await t.admin.query(`create role ${bypass} nologin bypassrls`);
    try {
      await expect(assertTenantTablesForced(t.admin, ['contacts'], { role: bypass })).rejects.toThrow(`${bypass} has BYPASSRLS`);
    } finally {
      await t.admin.query(`drop role ${bypass}`);
    }
    await expect(assertTenantTablesForced(t.admin, ['contacts'], { role: 'no_such_role_here' })).rejects.toThrow('does not exist');
  });

  it('with no tenant set, the tenant role sees zero rows and can write none', async () => {
    const run = pgTransaction(t.pool);
    const asRoleOnly = (fn: (c: PoolClientLike) => Promise<unknown>) =>
      run(async (c) => {
        await c.query("select set_config('role', $1, true)", [t.role]);
        return fn(c);
      });
    expect(await asRoleOnly(async (c) => (await c.query('select count(*)::int as n from contacts')).rows[0]!.n)).toBe(0);
    await expect(asRoleOnly((c) => c.query('insert into contacts values ($1, $2, $3)', [orgA, crypto.randomUUID(), 'x']))).rejects.toThrow(
      /row-level security/,
    );
    // The owner (the connecting user) is bound too: the table forces RLS. (A superuser is not: hence the role switch.)
    expect(await withTenant(t.pool, principalOf(crypto.randomUUID()), names, { role: t.role, prepared })).toEqual([]);
  });

  it('org A’s transaction never reads, changes or writes B’s rows', async () => {
    expect(await tenant(A, names)).toEqual(['a-contact']);
    expect(await tenant(B, names)).toEqual(['b-contact']);
    const updated = await tenant(
      A,
      async (c) => (await c.query(`update contacts set name = 'pwned' where organization_id = $1`, [orgB])).rowCount,
    );
    expect(updated).toBe(0);
    const deleted = await tenant(A, async (c) => (await c.query('delete from contacts where organization_id = $1', [orgB])).rowCount);
    expect(deleted).toBe(0);
    await expect(
      tenant(A, (c) => c.query('insert into contacts values ($1, $2, $3)', [orgB, crypto.randomUUID(), 'planted'])),
    ).rejects.toThrow(/row-level security/);
    await expect(tenant(A, (c) => c.query('update contacts set organization_id = $1', [orgB]))).rejects.toThrow(/row-level security/);
    expect(await tenant(B, names)).toEqual(['b-contact']);
  });

  it('a pooled connection never carries a tenant, a role or a transaction into the next request, failures included', async () => {
    const context = async (c: PoolClientLike) =>
      (await c.query("select nullif(current_setting('app.org_id', true), '') as org, current_user as who")).rows[0] as {
        org: string | null;
        who: string;
      };
    const outside = () => pgTransaction(t.pool)(context);
    const connecting = (await outside()).who;
    expect(connecting).not.toBe(t.role);
    for (let i = 0; i < 20; i++) {
      const [mine, theirs] = i % 2 === 0 ? [A, B] : [B, A];
      if (i % 3 === 0) {
        await expect(
          tenant(mine, async (c) => {
            await c.query('insert into contacts values ($1, $2, $3)', [theirs.orgId, crypto.randomUUID(), 'x']);
          }),
        ).rejects.toThrow();
      }
      if (i % 4 === 0)
        await expect(tenant(mine, async () => Promise.reject(new Error('the handler failed')))).rejects.toThrow('the handler failed');
      expect(await tenant(mine, context)).toEqual({ org: mine.orgId, who: t.role });
      expect(await outside()).toEqual({ org: null, who: connecting });
    }
    // Concurrent requests of both tenants queue for the one connection.
    const calls = Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? A : B));
    const seen = await Promise.all(calls.map((p) => tenant(p, names)));
    expect(seen).toEqual(calls.map((p) => [p === A ? 'a-contact' : 'b-contact']));
  });

  it('a principal without a valid organization takes no connection and runs no SQL', async () => {
    let connects = 0;
    const counting: PoolLike = {
      connect: () => {
        connects++;
        return t.pool.connect();
      },
    };
    for (const orgId of ['', "x' or 1=1 --", undefined as unknown as string]) {
      await expect(withTenant(counting, principalOf(orgId), names, { role: t.role, prepared })).rejects.toBeInstanceOf(InvalidPrincipal);
    }
    expect(connects).toBe(0);
  });

  it('binds settings as parameters: a hostile value is data, not SQL', async () => {
    const hostile = "'); drop table contacts; --";
    const seen = await withTenant(t.pool, A, async (c) => (await c.query("select current_setting('app.tag', true) as v")).rows[0]!.v, {
      role: t.role,
      settings: { 'app.tag': hostile },
      prepared,
    });
    expect(seen).toBe(hostile);
    expect(await tenant(A, names)).toEqual(['a-contact']);
    expect(quoteIdent('we"ird.ta ble')).toBe('"we""ird"."ta ble"');
  });

  it.runIf(engine === 'postgres')('sends the settings prepared exactly when asked, one statement per number of settings', async () => {
    const preparedHere = async (c: PoolClientLike) =>
      (await c.query("select name from pg_prepared_statements where name like 'tenantry_settings_%' order by name")).rows.map(
        (r) => r.name,
      );
    await tenant(A, names);
    const seen = await withTenant(t.pool, A, preparedHere, { role: t.role, settings: { 'app.tag': 'x' }, prepared });
    expect(seen).toEqual(prepared ? ['tenantry_settings_5', 'tenantry_settings_6'] : []);
  });
});

describe.runIf(ENGINES.includes('postgres'))('a connection whose ROLLBACK failed (postgres)', () => {
  let t: ToolDb;
  beforeAll(async () => {
    t = await openToolDb('postgres', { poolMax: 1 });
    for (const statement of schema(t)
      .split(';')
      .filter((s) => s.trim()))
      await t.admin.query(statement);
  });
  afterAll(() => t?.close());

  it('is destroyed, not pooled again; the next request gets a fresh connection with no tenant', async () => {
    const pool = t.pgPool!;
    const pidOf = async (c: PoolClientLike) => (await c.query('select pg_backend_pid() as pid')).rows[0]!.pid as number;
    const before = await pgTransaction(t.pool)(pidOf);
    const released: unknown[] = [];
    pool.on('release', (err: unknown) => released.push(err));
    // The work kills its own backend: the query fails, and so does the ROLLBACK after it.
    await expect(
      withTenant(
        t.pool,
        principalOf(crypto.randomUUID()),
        async (c) => {
          await c.query("select set_config('role', session_user, true)"); // back to the connecting user, who may end its own backend
          await c.query('select pg_terminate_backend(pg_backend_pid())');
        },
        { role: t.role },
      ),
    ).rejects.toThrow();
    expect(released).toEqual([true]); // released as broken: the pool destroys it
    expect(pool.totalCount).toBe(0);
    const after = await pgTransaction(t.pool)(async (c) => ({
      pid: await pidOf(c),
      org: (await c.query("select nullif(current_setting('app.org_id', true), '') as org")).rows[0]!.org,
    }));
    expect(after.pid).not.toBe(before);
    expect(after.org).toBeNull();
  });
});
