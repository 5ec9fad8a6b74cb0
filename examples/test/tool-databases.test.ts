// Isolation in the example tools' own databases, through the SDK's withTenant and in SQL:
// no tenant reads and writes nothing, and one organization's transaction never sees or
// touches another's rows. PostgreSQL (a `<tool>_<random>` database) when TEST_DATABASE_URL
// is set, PGlite otherwise.
import { randomUUID } from 'node:crypto';
import { type Principal, withTenant } from '@tenantry/sdk';
import { BILLING_TENANT_TABLES, billingSchema, buildBilling } from '@tenantry-examples/billing';
import { buildCrm, CRM_TENANT_TABLES, crmSchema } from '@tenantry-examples/crm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openToolDb, type ToolDb } from './helpers/tool-db.js';

const as = (orgId: string): Principal => ({ type: 'tool', id: 'isolation-test', orgId, permissions: [] }) as unknown as Principal;

describe.each([
  {
    tool: 'crm',
    schema: crmSchema,
    table: CRM_TENANT_TABLES[0]!,
    row: "(organization_id, name, email, address) values ($1, 'N', 'n@x.test', 'Addr')",
  },
  {
    tool: 'billing',
    schema: billingSchema,
    table: BILLING_TENANT_TABLES[0]!,
    row: "(organization_id, contact_id, amount_cents, description) values ($1, gen_random_uuid(), 100, 'D')",
  },
])('$tool database isolation', ({ tool, schema, table, row }) => {
  let db: ToolDb;
  const orgA = randomUUID();
  const orgB = randomUUID();
  const inOrg = <T>(orgId: string, fn: Parameters<typeof withTenant<T>>[2]) => withTenant(db.pool, as(orgId), fn, { role: db.role });
  const count = async (c: { query(t: string): Promise<{ rows: Record<string, unknown>[] }> }) =>
    Number((await c.query(`select count(*)::int as n from ${table}`)).rows[0]!.n);

  beforeAll(async () => {
    db = await openToolDb(tool, schema);
    for (const org of [orgA, orgB, orgB]) await inOrg(org, (c) => c.query(`insert into ${table} ${row}`, [org]));
  });
  afterAll(() => db?.close());

  it('org A’s transaction sees only A’s rows, and B’s only B’s', async () => {
    expect(await inOrg(orgA, count)).toBe(1);
    expect(await inOrg(orgB, count)).toBe(2);
    expect(await inOrg(orgA, async (c) => (await c.query(`select 1 from ${table} where organization_id = $1`, [orgB])).rows.length)).toBe(
      0,
    );
  });

  it('org A’s transaction cannot write, change or delete B’s rows', async () => {
    await expect(inOrg(orgA, (c) => c.query(`insert into ${table} ${row}`, [orgB]))).rejects.toThrow(/row-level security/);
    // The role has no UPDATE/DELETE; were it granted, the policy would still bind it (checked in SQL below).
    expect(await inOrg(orgB, count)).toBe(2);
  });

  it('in SQL: the tool’s role with no tenant set reads nothing and writes nothing, even with a forgotten WHERE', async () => {
    const c = await db.pool.connect();
    try {
      await c.query('begin');
      await c.query(`set local role ${db.role}`);
      expect(await count(c)).toBe(0);
      await expect(c.query(`insert into ${table} ${row}`, [orgA])).rejects.toThrow(/row-level security/);
      await c.query('rollback');
      // The same role with A set by hand: A's row only. (The superuser the test connects as
      // would bypass RLS: that is why withTenant switches to the role.)
      await c.query('begin');
      await c.query(`set local role ${db.role}`);
      await c.query("select set_config('app.org_id', $1, true)", [orgA]);
      expect(await count(c)).toBe(1);
      await c.query('rollback');
    } finally {
      c.release();
    }
  });

  it('the tool refuses to start when its table does not force RLS', async () => {
    await db.owner.query(`alter table ${table} no force row level security`);
    try {
      const build = tool === 'crm' ? buildCrm : buildBilling;
      await expect(
        build({ issuer: 'https://tenantry.test', audience: `https://${tool}.test`, pool: db.pool, role: db.role, crm: {} }),
      ).rejects.toThrow(/does not force row-level security/);
    } finally {
      await db.owner.query(`alter table ${table} force row level security`);
    }
  });
});
