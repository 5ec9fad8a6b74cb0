import { randomBytes, randomUUID } from 'node:crypto';
import { type Kysely, sql, type Transaction } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from './helpers/app.js';
import { ENGINES } from './helpers/db.js';
import { insertMembership, insertOrganization, insertUser } from './helpers/fixtures.js';
import { orgWithRoles } from './helpers/orgs.js';
import { authed } from './helpers/users.js';

// Behavioural RLS checks for every tenant table, in SQL as the application roles enter
// them (tenantry_enter) and through the API. The policies must hold on their own: each
// statement below names the other tenant's rows explicitly, as a query with a missing
// or wrong filter would.

type AnyTx = Transaction<unknown>;

/** The checkpoint key the checkpoint rows below name, stored once per engine. */
const CHECKPOINT_KID = `rls-check-${randomBytes(4).toString('hex')}`;

/** How each tenant table is written to in these checks. */
interface TenantTable {
  name:
    | 'organizations'
    | 'memberships'
    | 'invitations'
    | 'audit_events'
    | 'audit_chain_heads'
    | 'audit_checkpoints'
    | 'events'
    | 'webhook_deliveries'
    | 'organization_tools'
    | 'sharing_grants'
    | 'api_keys';
  /** The column that names the tenant. */
  tenant: 'id' | 'organization_id';
  /** A harmless change to every matching row. */
  update: string;
  /** A new row for organization `org` (user `user` exists). */
  row(org: string, user: string): Record<string, unknown>;
  /** False where a tenant request may not read even its own organization's rows (no grant at all). */
  tenantReads?: false;
}

const TABLES: TenantTable[] = [
  {
    name: 'organizations',
    tenant: 'id',
    update: `name = 'pwned'`,
    row: () => ({ id: randomUUID(), name: 'Sneaky', slug: `sneaky-${randomBytes(4).toString('hex')}`, industry: 'other' }),
  },
  {
    name: 'memberships',
    tenant: 'organization_id',
    update: `role = 'viewer'`,
    row: (org, user) => ({ organization_id: org, user_id: user, role: 'owner' }),
  },
  {
    name: 'invitations',
    tenant: 'organization_id',
    update: `status = 'revoked'`,
    row: (org) => ({
      organization_id: org,
      id: randomUUID(),
      email: `sneaky-${randomBytes(4).toString('hex')}@example.com`,
      role: 'owner',
      token_hash: randomBytes(32),
      expires_at: new Date(Date.now() + 86_400_000),
    }),
  },
  {
    name: 'audit_events',
    tenant: 'organization_id',
    update: `action = 'organization.forged'`,
    row: (org) => ({ organization_id: org, id: randomUUID(), actor_type: 'system', action: 'organization.forged' }),
  },
  {
    // Made by the chain trigger with an organization's first event.
    name: 'audit_chain_heads',
    tenant: 'organization_id',
    update: 'seq = seq + 1',
    row: (org) => ({ organization_id: org }),
  },
  {
    name: 'audit_checkpoints',
    tenant: 'organization_id',
    update: 'signed_at = now()',
    row: (org) => ({
      organization_id: org,
      chain_seq: 1,
      last_event_id: randomUUID(),
      hash: randomBytes(32),
      signed_at: new Date(),
      kid: CHECKPOINT_KID,
      signature: randomBytes(64),
    }),
  },
  {
    name: 'events',
    tenant: 'organization_id',
    update: `type = 'organization.forged'`,
    row: (org) => ({ organization_id: org, id: randomUUID(), type: 'organization.forged', actor_type: 'system', data: '{}' }),
  },
  {
    name: 'webhook_deliveries',
    tenant: 'organization_id',
    // The delivery log is the platform's (webhook endpoints are platform-wide): platform admins and the worker only.
    tenantReads: false,
    update: `status = 'failed'`,
    row: (org) => ({
      organization_id: org,
      id: randomUUID(),
      endpoint_id: deliveryTargets.endpoint,
      event_id: deliveryTargets.eventOf.get(org),
      event_tx: '1',
      event_pos: 1,
    }),
  },
  {
    name: 'organization_tools',
    tenant: 'organization_id',
    update: `status = 'disabled'`,
    row: (org) => ({ organization_id: org, tool_id: deliveryTargets.tool, scopes: '{members:read}' }),
  },
  {
    name: 'sharing_grants',
    tenant: 'organization_id',
    update: `status = 'revoked'`,
    row: (org) => ({
      organization_id: org,
      id: randomUUID(),
      provider_tool_id: deliveryTargets.tool,
      consumer_tool_id: deliveryTargets.consumer,
      scopes: '{rls:records:read}',
      purpose: 'RLS check',
    }),
  },
  {
    name: 'api_keys',
    tenant: 'organization_id',
    update: 'revoked_at = now()',
    row: (org, user) => ({
      organization_id: org,
      id: randomUUID(),
      key_id: randomBytes(8).toString('hex'),
      key_hash: randomBytes(32),
      start: 'tnty_rlscheck',
      name: 'Sneaky key',
      scopes: '{members:read}',
      created_by: user,
    }),
  },
];

/** The webhook endpoint, and each organization's event, that the webhook_deliveries rows point at. */
const deliveryTargets = { endpoint: randomUUID(), tool: randomUUID(), consumer: randomUUID(), eventOf: new Map<string, string>() };
/** Rows written in this order, as the migration user, for every organization of twoTenants(). */
const SEEDED: TenantTable['name'][] = [
  'invitations',
  'audit_events',
  'audit_checkpoints',
  'events',
  'webhook_deliveries',
  'organization_tools',
  'sharing_grants',
  'api_keys',
];

const insertSql = (table: TenantTable, values: Record<string, unknown>) => {
  const cols = Object.keys(values);
  return sql`insert into ${sql.table(table.name)} (${sql.join(cols.map((c) => sql.ref(c)))}) values (${sql.join(cols.map((c) => values[c]))})`;
};

/** Runs `statement`; a refusal by a policy or a missing grant (42501) counts as "nothing done". */
async function rowsTouched(run: () => Promise<{ numAffectedRows?: bigint }>): Promise<bigint | 'refused'> {
  try {
    const n = (await run()).numAffectedRows;
    if (n === undefined) throw new Error('the driver did not report a row count');
    return n;
  } catch (err) {
    if ((err as { code?: string }).code === '42501') return 'refused';
    throw err;
  }
}

describe.each(ENGINES)('RLS on every tenant table (%s)', (engine) => {
  let t: TestApp;
  let kysely: Kysely<unknown>;
  beforeAll(async () => {
    t = await startApp(engine);
    kysely = t.db.kysely as unknown as Kysely<unknown>;
    await sql`insert into audit_signing_keys (kid, public_jwk, private_pkcs8, retired_at)
              values (${CHECKPOINT_KID}, '{}'::jsonb, 'unused', now())`.execute(kysely);
    await sql`insert into webhook_endpoints (id, url, event_types, secret)
      values (${deliveryTargets.endpoint}, 'https://receiver.example.com/hook', '{member.added}', 'whsec_test')`.execute(kysely);
    for (const tool of [deliveryTargets.tool, deliveryTargets.consumer]) {
      await sql`insert into tools (id, slug, name, client_id, audience)
        values (${tool}, ${`rls-${tool.slice(0, 8)}`}, 'RLS check', ${tool}, ${`https://rls-${tool}.example.com`})`.execute(kysely);
    }
  });
  afterAll(() => t.close());

  /** Two organizations with a row in every tenant table each, written as the migration user. */
  async function twoTenants() {
    const make = async () => {
      const org = await insertOrganization(t.db, 'Tenant');
      const user = await insertUser(t.db);
      await insertMembership(t.db, org.id, user.id, 'owner');
      for (const name of SEEDED) {
        const table = TABLES.find((x) => x.name === name)!;
        const row = table.row(org.id, user.id);
        if (name === 'events') deliveryTargets.eventOf.set(org.id, String(row.id));
        await insertSql(table, row).execute(kysely);
      }
      return { org: org.id, user: user.id };
    };
    return { a: await make(), b: await make() };
  }

  /** Every row of an organization in every tenant table, seen by the migration user (no RLS). */
  const snapshot = async (org: string) => {
    const out: Record<string, unknown[]> = {};
    for (const table of TABLES) {
      out[table.name] = (
        await sql<
          Record<string, unknown>
        >`select * from ${sql.table(table.name)} where ${sql.ref(table.tenant)} = ${org} order by 1, 2`.execute(kysely)
      ).rows;
    }
    return out;
  };

  /** One transaction entered as the application enters it. */
  const entered = <T>(org: string | null, user: string | null, fn: (tx: AnyTx) => Promise<T>) =>
    kysely.transaction().execute(async (tx) => {
      await sql`select * from tenantry_enter(${org}::uuid, ${user}::uuid, null::uuid)`.execute(tx);
      return fn(tx);
    });

  /** The application role with the tenant setting empty, as after a context that was cleared or never set. */
  const appRoleWithoutTenant = <T>(user: string | null, fn: (tx: AnyTx) => Promise<T>) =>
    kysely.transaction().execute(async (tx) => {
      await sql`select set_config('role', 'tenantry_app', true), set_config('app.org_id', '', true), set_config('app.user_id', coalesce(${user}::text, ''), true)`.execute(
        tx,
      );
      return fn(tx);
    });

  it('the tenant tables are exactly the ones checked here', async () => {
    const { rows } = await sql<{ relname: string }>`
      select c.relname from pg_class c
      where c.relkind = 'r' and c.relnamespace = 'public'::regnamespace
        and (c.relname = 'organizations'
             or exists (select 1 from pg_attribute a where a.attrelid = c.oid and a.attname = 'organization_id' and not a.attisdropped))
      order by 1`.execute(kysely);
    expect(rows.map((r) => r.relname)).toEqual(TABLES.map((x) => x.name).sort());
  });

  describe.each([
    ['tenantry_enter with no organization and no user', 'enter'],
    ['the application role with an empty tenant setting', 'empty'],
  ] as const)('with no tenant set (%s)', (_label, how) => {
    const noTenant = <T>(fn: (tx: AnyTx) => Promise<T>) => (how === 'enter' ? entered(null, null, fn) : appRoleWithoutTenant(null, fn));

    it.each(TABLES)('$name: reads zero rows, inserts are refused, updates and deletes touch nothing', async (table) => {
      const { a, b } = await twoTenants();
      const before = [await snapshot(a.org), await snapshot(b.org)];
      const count = await noTenant(async (tx) => {
        try {
          return Number((await sql<{ n: string }>`select count(*) as n from ${sql.table(table.name)}`.execute(tx)).rows[0]!.n);
        } catch (err) {
          if ((err as { code?: string }).code === '42501') return 0; // no grant at all: nothing readable
          throw err;
        }
      });
      expect(count).toBe(0);
      for (const org of [a, b]) {
        const inserted = await rowsTouched(() => noTenant((tx) => insertSql(table, table.row(org.org, org.user)).execute(tx)));
        expect(inserted).toBe('refused');
        const updated = await rowsTouched(() =>
          noTenant((tx) => sql`update ${sql.table(table.name)} set ${sql.raw(table.update)}`.execute(tx)),
        );
        expect([0n, 'refused']).toContain(updated);
        const deleted = await rowsTouched(() => noTenant((tx) => sql`delete from ${sql.table(table.name)}`.execute(tx)));
        expect([0n, 'refused']).toContain(deleted);
      }
      expect([await snapshot(a.org), await snapshot(b.org)]).toEqual(before);
    });
  });

  it.each(TABLES)(
    "$name: with tenant A set, B's rows are never read, updated or deleted, and no row can be written for B",
    async (table) => {
      const { a, b } = await twoTenants();
      const bBefore = await snapshot(b.org);
      const aBefore = await snapshot(a.org);
      const asA = <T>(fn: (tx: AnyTx) => Promise<T>) => entered(a.org, a.user, fn);
      const col = sql.ref(table.tenant);
      const tbl = sql.table(table.name);

      if (table.tenantReads === false) {
        const read = await asA((tx) => sql`select 1 from ${tbl} where ${col} = ${b.org}`.execute(tx)).then(
          () => 'read',
          (err: { code?: string }) => (err.code === '42501' ? 'refused' : Promise.reject(err)),
        );
        expect(read).toBe('refused');
      } else {
        const seen = await asA(async (tx) => (await sql<Record<string, string>>`select ${col} as tenant from ${tbl}`.execute(tx)).rows);
        expect(seen.length).toBe((aBefore[table.name] ?? []).length);
        expect(seen.every((r) => r.tenant === a.org)).toBe(true);
        expect(await asA(async (tx) => (await sql`select 1 from ${tbl} where ${col} = ${b.org}`.execute(tx)).rows)).toEqual([]);
      }

      const updated = await rowsTouched(() =>
        asA((tx) => sql`update ${tbl} set ${sql.raw(table.update)} where ${col} = ${b.org}`.execute(tx)),
      );
      expect([0n, 'refused']).toContain(updated);
      const deleted = await rowsTouched(() => asA((tx) => sql`delete from ${tbl} where ${col} = ${b.org}`.execute(tx)));
      expect([0n, 'refused']).toContain(deleted);
      const inserted = await rowsTouched(() => asA((tx) => insertSql(table, table.row(b.org, a.user)).execute(tx)));
      expect(inserted).toBe('refused');
      if (table.tenant === 'organization_id') {
        // Moving one of A's rows into B is refused too (WITH CHECK, or no UPDATE grant at all).
        const moved = await rowsTouched(() =>
          asA((tx) => sql`update ${tbl} set organization_id = ${b.org} where organization_id = ${a.org}`.execute(tx)),
        );
        expect(moved).toBe('refused');
      }

      expect(await snapshot(b.org)).toEqual(bBefore);
      expect(await snapshot(a.org)).toEqual(aBefore);
    },
  );

  it("through the API, org A's admin and owner using B's ids get 404 on every tenant table's routes, and B is unchanged", async () => {
    const a = await orgWithRoles(t.app, t.db, 'Org A');
    const b = await orgWithRoles(t.app, t.db, 'Org B');
    const bInvite = await authed(t.app, 'POST', `/v1/organizations/${b.id}/invitations`, b.admin.access, {
      email: `b-${b.id}@example.com`,
      role: 'member',
    });
    expect(bInvite.statusCode).toBe(201);
    const bInv = bInvite.json().id as string;
    const bKeyRes = await authed(t.app, 'POST', `/v1/organizations/${b.id}/api-keys`, b.admin.access, {
      name: 'B key',
      scopes: ['members:read'],
    });
    expect(bKeyRes.statusCode).toBe(201);
    const bKey = bKeyRes.json().id as string;
    const bBefore = await snapshot(b.id);
    const aBefore = await snapshot(a.id);

    const calls: Array<[string, string, unknown]> = [
      // organizations
      ['GET', `/v1/organizations/${b.id}`, undefined],
      ['PATCH', `/v1/organizations/${b.id}`, { name: 'pwned' }],
      ['DELETE', `/v1/organizations/${b.id}`, undefined],
      // memberships
      ['GET', `/v1/organizations/${b.id}/members`, undefined],
      ['PATCH', `/v1/organizations/${b.id}/members/${b.member.id}`, { role: 'viewer' }],
      ['DELETE', `/v1/organizations/${b.id}/members/${b.member.id}`, undefined],
      ['PATCH', `/v1/organizations/${a.id}/members/${b.member.id}`, { role: 'viewer' }],
      ['DELETE', `/v1/organizations/${a.id}/members/${b.owner.id}`, undefined],
      // invitations
      ['GET', `/v1/organizations/${b.id}/invitations`, undefined],
      ['POST', `/v1/organizations/${b.id}/invitations`, { email: `a-into-b-${a.id}@example.com`, role: 'admin' }],
      ['DELETE', `/v1/organizations/${b.id}/invitations/${bInv}`, undefined],
      ['DELETE', `/v1/organizations/${a.id}/invitations/${bInv}`, undefined],
      // audit events
      ['GET', `/v1/organizations/${b.id}/audit-events`, undefined],
      // events (webhook deliveries have platform-admin routes only)
      ['GET', `/v1/organizations/${b.id}/events`, undefined],
      // api keys
      ['GET', `/v1/organizations/${b.id}/api-keys`, undefined],
      ['POST', `/v1/organizations/${b.id}/api-keys`, { name: 'A into B', scopes: ['members:read'] }],
      ['DELETE', `/v1/organizations/${b.id}/api-keys/${bKey}`, undefined],
      ['DELETE', `/v1/organizations/${a.id}/api-keys/${bKey}`, undefined],
      ['POST', `/v1/organizations/${b.id}/api-keys/${bKey}/rotate`, { grace_seconds: 0 }],
      ['POST', `/v1/organizations/${a.id}/api-keys/${bKey}/rotate`, { grace_seconds: 0 }],
    ];
    for (const u of [a.admin, a.owner]) {
      for (const [method, url, payload] of calls) {
        const res = await authed(t.app, method, url, u.access, payload);
        expect(res.statusCode, `${method} ${url}`).toBe(404);
        expect(res.json().code).toBe('NOT_FOUND');
      }
    }
    // A's own lists hold nothing of B's, even filtered by B's people.
    const aInvitations = (await authed(t.app, 'GET', `/v1/organizations/${a.id}/invitations`, a.admin.access)).json().data;
    expect(aInvitations.map((i: { id: string }) => i.id)).not.toContain(bInv);
    const aEvents = await authed(t.app, 'GET', `/v1/organizations/${a.id}/audit-events?actor_id=${b.admin.id}`, a.admin.access);
    expect(aEvents.statusCode).toBe(200);
    expect(aEvents.json().data).toEqual([]);
    const aMembers = (await authed(t.app, 'GET', `/v1/organizations/${a.id}/members?limit=100`, a.admin.access)).json().data;
    expect(aMembers.map((m: { user_id: string }) => m.user_id).sort()).toEqual([a.owner.id, a.admin.id, a.member.id, a.viewer.id].sort());

    expect(await snapshot(b.id)).toEqual(bBefore);
    expect(await snapshot(a.id)).toEqual(aBefore);
  });
});
