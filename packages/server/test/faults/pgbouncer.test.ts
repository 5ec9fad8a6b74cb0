import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  adminQuery,
  call,
  clusterPort,
  createOrganization,
  freshDatabase,
  type InProcess,
  ownPgbouncer,
  serviceOn,
  signup,
} from './support.js';

// Transaction-mode PgBouncer hands each transaction whichever server connection is free, so
// nothing may live on a connection between transactions: the tenant context is transaction-local
// (set_config(..., true)), and statements run unnamed (DATABASE_PREPARED_STATEMENTS=unnamed),
// since PgBouncer 1.18 does not carry named prepared statements across server connections.
describe('through transaction-mode PgBouncer', () => {
  let bouncer: Awaited<ReturnType<typeof ownPgbouncer>>;
  let s: InProcess;
  let directUrl: string;
  const tenants: Array<{ owner: { id: string; access: string }; orgId: string; memberIds: string[] }> = [];

  beforeAll(async () => {
    const d = await freshDatabase();
    directUrl = d.directUrl;
    // Three server connections shared by the service's ten: every request's transaction lands
    // on a connection that just served another tenant.
    bouncer = await ownPgbouncer(clusterPort(), 3);
    s = await serviceOn(d.viaProxy(bouncer.port), { poolMax: 10, connectionTimeoutMs: 10_000, preparedStatements: 'unnamed' });
    for (let i = 0; i < 6; i++) {
      const owner = await signup(s.base);
      const created = await createOrganization(s.base, owner.access, `Pooled ${i}`);
      expect(created.status, created.body).toBe(201);
      const orgId = JSON.parse(created.body).id as string;
      const memberIds = [owner.id];
      for (let m = 0; m < 2; m++) {
        const u = await signup(s.base);
        await adminQuery(directUrl, `insert into memberships (organization_id, user_id, role) values ($1, $2, 'member')`, [orgId, u.id]);
        memberIds.push(u.id);
      }
      tenants.push({ owner, orgId, memberIds: memberIds.sort() });
    }
  });
  afterAll(async () => {
    await s?.close();
    await bouncer?.close();
  });

  it('concurrent requests over six tenants each see their own tenant only, and creates are complete', async () => {
    const problems: string[] = [];
    const one = async (n: number) => {
      const t = tenants[n % tenants.length]!;
      const other = tenants[(n + 1) % tenants.length]!;
      const members = await call(s.base, 'GET', `/v1/organizations/${t.orgId}/members?limit=100`, { token: t.owner.access });
      const seen = members.status === 200 ? (JSON.parse(members.body).data as Array<{ user_id: string }>).map((m) => m.user_id).sort() : [];
      if (members.status !== 200 || JSON.stringify(seen) !== JSON.stringify(t.memberIds))
        problems.push(`members ${members.status} ${members.body}`);
      const list = await call(s.base, 'GET', '/v1/organizations', { token: t.owner.access });
      const ids = list.status === 200 ? (JSON.parse(list.body).data as Array<{ id: string }>).map((o) => o.id) : [];
      if (list.status !== 200 || !ids.includes(t.orgId) || ids.some((id) => tenants.some((x) => x !== t && x.orgId === id))) {
        problems.push(`list ${list.status} ${list.body}`);
      }
      const foreign = await call(s.base, 'GET', `/v1/organizations/${other.orgId}`, { token: t.owner.access });
      if (foreign.status !== 404) problems.push(`foreign ${foreign.status} ${foreign.body}`);
      if (n % 10 === 0) {
        const c = await call(s.base, 'POST', '/v1/organizations', {
          token: t.owner.access,
          body: { name: `Pooled create ${n}`, industry: 'technology' },
          headers: { 'idempotency-key': `pooled-${n}` },
        });
        if (c.status !== 201) problems.push(`create ${c.status} ${c.body}`);
      }
    };
    // 40 at a time, 240 rounds of four requests each.
    for (let round = 0; round < 6; round++) await Promise.all(Array.from({ length: 40 }, (_, k) => one(round * 40 + k)));
    expect(problems).toEqual([]);

    // Every create is complete: its owner membership, its audit event and its key's record.
    const incomplete = await adminQuery<{ name: string }>(
      directUrl,
      `select o.name from organizations o
       where o.name like 'Pooled create %' and (
         not exists (select 1 from memberships m where m.organization_id = o.id and m.role = 'owner')
         or not exists (select 1 from audit_events a where a.organization_id = o.id and a.action = 'organization.created'))`,
    );
    expect(incomplete.rows).toEqual([]);
    const created = await adminQuery<{ n: number }>(
      directUrl,
      `select count(*)::int as n from organizations where name like 'Pooled create %'`,
    );
    expect(created.rows[0]!.n).toBe(24);
    const records = await adminQuery<{ n: number }>(
      directUrl,
      `select count(*)::int as n from idempotency_records where idempotency_key like 'pooled-%'`,
    );
    expect(records.rows[0]!.n).toBe(24);
  });
});
