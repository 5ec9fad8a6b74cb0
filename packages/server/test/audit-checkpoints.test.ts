import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withTenant } from '../src/db/tenant-context.js';
import { AuditCheckpointer } from '../src/modules/audit/audit.checkpoints.js';
import { record } from '../src/modules/audit/audit.js';
import { verifyAuditLogAsOperator } from '../src/modules/audit/audit.service.js';
import { createTestDatabase, ENGINES, type TestDatabase } from './helpers/db.js';
import { insertOrganization } from './helpers/fixtures.js';

// The periodic checkpoint job (AUDIT_CHECKPOINT_INTERVAL_MS), one tick at a time.

describe.each(ENGINES)('the audit checkpoint job (%s)', (engine) => {
  let t: TestDatabase;
  const errors: Array<{ organizationId: string; firstMismatch: { id: string } | null }> = [];
  let job: AuditCheckpointer;

  beforeAll(async () => {
    t = await createTestDatabase(engine);
    job = new AuditCheckpointer(t.db, { error: (obj: never) => void errors.push(obj) } as never, 2);
  });
  afterAll(() => t?.drop());

  /** `n` audited changes in the organization, one transaction each. */
  const change = async (orgId: string, n: number) => {
    for (let i = 0; i < n; i++) {
      const by = { organizationId: orgId, actor: { type: 'system' as const, id: null }, meta: { ip: null, requestId: null } };
      await withTenant(t.db, { orgId, userId: null }, (tx) =>
        record(tx, by, { action: 'organization.updated', target: null, data: { i } }),
      );
    }
  };
  const checkpoints = async (orgId: string) =>
    (
      await sql<{
        seq: string;
      }>`select chain_seq::text as seq from audit_checkpoints where organization_id = ${orgId} order by chain_seq`.execute(t.db.kysely)
    ).rows.map((r) => Number(r.seq));

  it('one tick signs a checkpoint of the head of every chain that grew, and nothing for a chain that did not', async () => {
    const orgs = await Promise.all([1, 2, 3].map(() => insertOrganization(t.db)));
    for (const o of orgs) await change(o.id, 2);
    // More organizations than one listing batch (2): the tick pages through them all.
    expect((await job.runOnce()).signed).toBe(3);
    for (const o of orgs) expect(await checkpoints(o.id)).toEqual([2]);

    await change(orgs[0]!.id, 3);
    expect(await job.runOnce()).toEqual({ signed: 1, failed: 0 });
    expect(await checkpoints(orgs[0]!.id)).toEqual([2, 5]);
    expect(await checkpoints(orgs[1]!.id)).toEqual([2]);
    expect(await job.runOnce()).toEqual({ signed: 0, failed: 0 });
    // The checkpoints the job signed verify like any other.
    expect(await verifyAuditLogAsOperator(t.db, orgs[0]!.id)).toMatchObject({ ok: true, checked: 5 });
  });

  it('an event altered after the latest checkpoint stops the job from signing over it, and it names the event', async () => {
    const org = await insertOrganization(t.db);
    await change(org.id, 2);
    await job.runOnce();
    await change(org.id, 2);
    const { rows } = await sql<{ id: string }>`
      select id from audit_events where organization_id = ${org.id} and chain_seq = 3`.execute(t.db.kysely);
    // As the superuser: a row changed behind the application's back.
    await sql`update audit_events set data = '{"i": 99}' where organization_id = ${org.id} and chain_seq = 3`.execute(t.db.kysely);

    expect((await job.runOnce()).failed).toBe(1);
    expect(await checkpoints(org.id)).toEqual([2]);
    expect(errors.find((e) => e.organizationId === org.id)?.firstMismatch?.id).toBe(rows[0]!.id);
  });

  it('an event altered at the latest checkpoint is found although the job recomputes only from there', async () => {
    const org = await insertOrganization(t.db);
    await change(org.id, 2);
    await job.runOnce();
    await change(org.id, 1);
    await sql`update audit_events set data = '{"i": 42}' where organization_id = ${org.id} and chain_seq = 2`.execute(t.db.kysely);
    // The organization of the test before still fails too: a tick checks it again each time.
    expect((await job.runOnce()).failed).toBe(2);
    expect(errors.filter((e) => e.organizationId === org.id)).toHaveLength(1);
    expect(await checkpoints(org.id)).toEqual([2]);
  });
});
