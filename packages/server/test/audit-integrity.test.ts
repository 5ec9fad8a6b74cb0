import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../src/db/database.js';
import { uuidv7 } from '../src/db/ids.js';
import { migrate } from '../src/db/migrate.js';
import { assertIsolation } from '../src/db/rls-check.js';
import { withTenant } from '../src/db/tenant-context.js';
import { csvField } from '../src/modules/audit/audit.export.js';
import { record } from '../src/modules/audit/audit.js';
import { verifyAuditLogAsOperator } from '../src/modules/audit/audit.service.js';
import { startApp, type TestApp } from './helpers/app.js';
import { createTestDatabase, ENGINES } from './helpers/db.js';
import { insertOrganization } from './helpers/fixtures.js';
import { type OrgWithRoles, orgWithRoles } from './helpers/orgs.js';
import { authed } from './helpers/users.js';

const SYSTEM = { type: 'system' as const, id: null };
const META = { ip: null, requestId: null };

/** Records `n` events in `orgId`, one transaction each, as the application does. */
async function recordEvents(db: Database, orgId: string, n: number, data: (i: number) => Record<string, unknown> = (i) => ({ i })) {
  for (let i = 0; i < n; i++)
    await withTenant(db, { orgId, userId: null }, (tx) =>
      record(tx, { organizationId: orgId, actor: SYSTEM, meta: META }, { action: 'organization.updated', target: null, data: data(i) }),
    );
}

/** The organization's event ids in chain order, read as the connecting (super)user. */
async function chainIds(db: Database, orgId: string): Promise<string[]> {
  const { rows } = await sql<{ id: string }>`
    select id from audit_events where organization_id = ${orgId} order by chain_seq`.execute(db.kysely);
  return rows.map((r) => r.id);
}

describe.each(ENGINES)('audit log integrity (%s)', (engine) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp(engine);
  });
  afterAll(() => t.close());

  const verify = async (o: OrgWithRoles, token = o.admin.access) =>
    authed(t.app, 'GET', `/v1/organizations/${o.id}/audit-events/verify`, token);

  it('verifies a valid log with the right count, and signs a checkpoint of its head', async () => {
    const o = await orgWithRoles(t.app, t.db);
    await recordEvents(t.db, o.id, 5);
    const ids = await chainIds(t.db, o.id);
    expect(ids).toHaveLength(6); // organization.created and five more

    const res = await verify(o);
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ ok: true, checked: 6, first_mismatch: null });
    expect(body.checkpoint).toMatchObject({ chain_seq: 6, last_event_id: ids.at(-1), kid: expect.any(String) });

    await recordEvents(t.db, o.id, 2);
    const again = (await verify(o)).json();
    expect(again).toMatchObject({ ok: true, checked: 8, first_mismatch: null, checkpoint: { chain_seq: 8 } });
    const stored = await t.db.kysely.selectFrom('audit_checkpoints').select('chain_seq').where('organization_id', '=', o.id).execute();
    expect(stored.map((c) => Number(c.chain_seq)).sort()).toEqual([6, 8]);
  });

  it('links events of one transaction in the order they are written', async () => {
    const org = await insertOrganization(t.db);
    await withTenant(t.db, { orgId: org.id, userId: null }, async (tx) => {
      for (let i = 0; i < 3; i++)
        await record(
          tx,
          { organizationId: org.id, actor: SYSTEM, meta: META },
          { action: 'organization.updated', target: null, data: { i } },
        );
    });
    const { rows } = await sql<{ seq: string; i: number; linked: boolean }>`
      select chain_seq::text as seq, (data->>'i')::int as i,
             prev_hash is not distinct from lag(hash) over (order by chain_seq) as linked
      from audit_events where organization_id = ${org.id} order by chain_seq`.execute(t.db.kysely);
    expect(rows).toEqual([
      { seq: '1', i: 0, linked: true },
      { seq: '2', i: 1, linked: true },
      { seq: '3', i: 2, linked: true },
    ]);
  });

  it('a rolled-back savepoint leaves no gap: the next event links to the last one kept', async () => {
    const org = await insertOrganization(t.db);
    const by = { organizationId: org.id, actor: SYSTEM, meta: META };
    await withTenant(t.db, { orgId: org.id, userId: null }, async (tx) => {
      await record(tx, by, { action: 'organization.updated', target: null, data: { kept: 1 } });
      await sql`savepoint before_b`.execute(tx);
      await record(tx, by, { action: 'organization.updated', target: null, data: { kept: 0 } });
      await sql`rollback to savepoint before_b`.execute(tx);
      await record(tx, by, { action: 'organization.updated', target: null, data: { kept: 2 } });
    });
    const { rows } = await sql<{ seq: string; kept: number }>`
      select chain_seq::text as seq, (data->>'kept')::int as kept
      from audit_events where organization_id = ${org.id} order by chain_seq`.execute(t.db.kysely);
    expect(rows).toEqual([
      { seq: '1', kept: 1 },
      { seq: '2', kept: 2 },
    ]);
    expect(await verifyAuditLogAsOperator(t.db, org.id)).toMatchObject({ ok: true, checked: 2 });
  });

  it('ignores the chain columns a writer supplies (the trigger sets them)', async () => {
    const org = await insertOrganization(t.db);
    await recordEvents(t.db, org.id, 1);
    await sql`insert into audit_events (organization_id, id, actor_type, action, chain_seq, prev_hash, hash)
              values (${org.id}, ${uuidv7()}, 'system', 'organization.updated', 1, '\\x00', '\\x00')`.execute(t.db.kysely);
    const { rows } = await sql<{ seq: string; linked: boolean }>`
      select chain_seq::text as seq, prev_hash is not distinct from lag(hash) over (order by chain_seq) as linked
      from audit_events where organization_id = ${org.id} order by chain_seq`.execute(t.db.kysely);
    expect(rows).toEqual([
      { seq: '1', linked: true },
      { seq: '2', linked: true },
    ]);
  });

  it('an altered event (UPDATE as superuser) fails verification at that event', async () => {
    const o = await orgWithRoles(t.app, t.db);
    await recordEvents(t.db, o.id, 4);
    const ids = await chainIds(t.db, o.id);
    await sql`update audit_events set data = '{"i": 99}' where organization_id = ${o.id} and id = ${ids[2]}`.execute(t.db.kysely);
    const body = (await verify(o)).json();
    expect(body).toMatchObject({ ok: false, checked: 2, first_mismatch: { id: ids[2], reason: 'does not match its hash' } });
  });

  it('an altered actor, time or target fails at that event too', async () => {
    for (const change of [
      sql`actor_type = 'user'`,
      sql`occurred_at = occurred_at - interval '1 day'`,
      sql`target_id = 'someone-else'`,
      sql`ip = '10.0.0.1'`,
    ]) {
      const o = await orgWithRoles(t.app, t.db);
      await recordEvents(t.db, o.id, 2);
      const ids = await chainIds(t.db, o.id);
      await sql`update audit_events set ${change} where organization_id = ${o.id} and id = ${ids[1]}`.execute(t.db.kysely);
      expect((await verify(o)).json().first_mismatch).toMatchObject({ id: ids[1] });
    }
  });

  it('a deleted event fails verification at the next one', async () => {
    const o = await orgWithRoles(t.app, t.db);
    await recordEvents(t.db, o.id, 4);
    const ids = await chainIds(t.db, o.id);
    await sql`delete from audit_events where organization_id = ${o.id} and id = ${ids[2]}`.execute(t.db.kysely);
    expect((await verify(o)).json()).toMatchObject({ ok: false, checked: 2, first_mismatch: { id: ids[3] } });
  });

  it('a cut-off end of the log fails verification naming the missing last event', async () => {
    const o = await orgWithRoles(t.app, t.db);
    await recordEvents(t.db, o.id, 3);
    const ids = await chainIds(t.db, o.id);
    await sql`delete from audit_events where organization_id = ${o.id} and id = ${ids.at(-1)}`.execute(t.db.kysely);
    expect((await verify(o)).json()).toMatchObject({ ok: false, first_mismatch: { id: ids.at(-1) } });
  });

  it('a rewritten chain (altered, then every hash recomputed) is caught by the signed checkpoint', async () => {
    const o = await orgWithRoles(t.app, t.db);
    await recordEvents(t.db, o.id, 3);
    expect((await verify(o)).json().ok).toBe(true);
    const ids = await chainIds(t.db, o.id);
    // What an attacker with the database but not the checkpoint key can do: rewrite an
    // event and re-link everything after it with the public hash function, head included.
    await sql`update audit_events set data = '{"i": "forged"}' where organization_id = ${o.id} and id = ${ids[1]}`.execute(t.db.kysely);
    await sql`do $$
      declare r audit_events; prev bytea;
      begin
        for r in select * from audit_events where organization_id = ${sql.lit(o.id)} order by chain_seq loop
          update audit_events set prev_hash = prev, hash = tenantry_audit_event_hash(prev, r)
            where organization_id = r.organization_id and id = r.id;
          prev := tenantry_audit_event_hash(prev, r);
        end loop;
        update audit_chain_heads set hash = prev where organization_id = ${sql.lit(o.id)};
      end $$`.execute(t.db.kysely);
    expect((await verify(o)).json()).toMatchObject({
      ok: false,
      first_mismatch: { id: ids.at(-1), reason: 'differs from the signed checkpoint' },
    });
  });

  it('a forged checkpoint signature fails verification', async () => {
    const o = await orgWithRoles(t.app, t.db);
    await recordEvents(t.db, o.id, 1);
    const first = (await verify(o)).json();
    expect(first.ok).toBe(true);
    await sql`update audit_checkpoints set signature = decode(repeat('00', 64), 'hex') where organization_id = ${o.id}`.execute(
      t.db.kysely,
    );
    expect((await verify(o)).json()).toMatchObject({ ok: false, first_mismatch: { id: first.checkpoint.last_event_id } });
  });

  it('an event written with the chain trigger disabled is named as outside the chain', async () => {
    const o = await orgWithRoles(t.app, t.db);
    const id = uuidv7();
    await t.db.kysely.transaction().execute(async (tx) => {
      await sql`alter table audit_events disable trigger user`.execute(tx);
      await sql`insert into audit_events (organization_id, id, actor_type, action) values (${o.id}, ${id}, 'system', 'member.added')`.execute(
        tx,
      );
      await sql`alter table audit_events enable trigger user`.execute(tx);
    });
    expect((await verify(o)).json()).toMatchObject({ ok: false, first_mismatch: { id, reason: 'is not in the chain' } });
  });

  it('verify and export are for admins of the organization only', async () => {
    const o = await orgWithRoles(t.app, t.db);
    const other = await orgWithRoles(t.app, t.db);
    for (const path of ['verify', 'export', 'export?format=csv']) {
      const url = `/v1/organizations/${o.id}/audit-events/${path}`;
      expect((await authed(t.app, 'GET', url, o.member.access)).statusCode).toBe(403);
      const outsider = await authed(t.app, 'GET', url, other.owner.access);
      expect(outsider.statusCode).toBe(404);
      expect(outsider.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect((await authed(t.app, 'GET', url, o.admin.access)).statusCode).toBe(200);
    }
    const bad = await authed(t.app, 'GET', `/v1/organizations/${o.id}/audit-events/export?format=xml`, o.admin.access);
    expect(bad.statusCode).toBe(400);
    expect(bad.headers['content-type']).toMatch(/^application\/problem\+json/);
  });

  it('exports NDJSON lines that equal the API’s AuditEvent, oldest first, within since/until', async () => {
    const o = await orgWithRoles(t.app, t.db);
    await authed(t.app, 'PATCH', `/v1/organizations/${o.id}`, o.owner.access, { name: 'Renamed' });
    await recordEvents(t.db, o.id, 3);
    const listed = (await authed(t.app, 'GET', `/v1/organizations/${o.id}/audit-events?limit=100`, o.admin.access)).json().data;
    const res = await authed(t.app, 'GET', `/v1/organizations/${o.id}/audit-events/export?format=ndjson`, o.admin.access);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/x-ndjson');
    const lines = res.body
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(5);
    // The list is newest first by id; the export is in chain order.
    expect([...lines].sort((a, b) => (a.id < b.id ? 1 : -1))).toEqual(listed);
    expect(lines[0].prev_hash).toBeNull();
    for (let i = 1; i < lines.length; i++) expect(lines[i].prev_hash).toBe(lines[i - 1].hash);

    const future = await authed(t.app, 'GET', `/v1/organizations/${o.id}/audit-events/export?since=2999-01-01T00:00:00Z`, o.admin.access);
    expect(future.body).toBe('');
    const until = lines[2].occurred_at;
    const early = await authed(t.app, 'GET', `/v1/organizations/${o.id}/audit-events/export?until=${until}`, o.admin.access);
    const earlyIds = early.body
      .trimEnd()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l).id);
    expect(earlyIds).toEqual(lines.filter((l) => l.occurred_at < until).map((l) => l.id));
  });

  it('exports CSV with RFC 4180 quoting and spreadsheet formulas neutralised', async () => {
    const o = await orgWithRoles(t.app, t.db);
    const tricky = { note: 'a "quoted", comma\nand newline' };
    await withTenant(t.db, { orgId: o.id, userId: null }, (tx) =>
      record(
        tx,
        { organizationId: o.id, actor: SYSTEM, meta: { ip: '@evil', requestId: '=HYPERLINK("http://x")' } },
        { action: 'member.added', target: { type: 'user', id: '+1-555' }, data: tricky },
      ),
    );
    const res = await authed(t.app, 'GET', `/v1/organizations/${o.id}/audit-events/export?format=csv`, o.admin.access);
    expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
    const records = parseCsv(res.body);
    expect(records[0]).toEqual([
      'id',
      'organization_id',
      'actor_type',
      'actor_id',
      'action',
      'target_type',
      'target_id',
      'data',
      'ip',
      'request_id',
      'occurred_at',
      'prev_hash',
      'hash',
    ]);
    expect(records).toHaveLength(3); // header, organization.created, member.added
    const row = records[2]!;
    expect(row[4]).toBe('member.added');
    expect(row[6]).toBe("'+1-555");
    expect(JSON.parse(row[7]!)).toEqual(tricky);
    expect(row[8]).toBe("'@evil");
    expect(row[9]).toBe('\'=HYPERLINK("http://x")');
    expect(res.body.endsWith('\r\n')).toBe(true);
  });

  it('new chain tables are tenant-isolated: nothing with no tenant set, nothing of another tenant', async () => {
    const a = await orgWithRoles(t.app, t.db);
    const b = await orgWithRoles(t.app, t.db);
    expect((await verify(a)).json().ok).toBe(true);
    const count = (tx: Parameters<Parameters<typeof withTenant>[2]>[0], table: 'audit_chain_heads' | 'audit_checkpoints') =>
      sql<{ n: number }>`select count(*)::int as n from ${sql.table(table)}`.execute(tx).then((r) => r.rows[0]!.n);
    for (const table of ['audit_chain_heads', 'audit_checkpoints'] as const) {
      // No tenant: the application role with no organization set.
      const none = await t.db.kysely.transaction().execute(async (tx) => {
        await sql`select set_config('role', 'tenantry_app', true)`.execute(tx);
        return count(tx, table);
      });
      expect(none).toBe(0);
      const fromB = await withTenant(t.db, { orgId: b.id, userId: null }, async (tx) => {
        const { rows } = await sql<{ n: number }>`
          select count(*)::int as n from ${sql.table(table)} where organization_id = ${a.id}`.execute(tx);
        return rows[0]!.n;
      });
      expect(fromB).toBe(0);
    }
    // Another tenant can neither move A's head nor add a checkpoint to A.
    await withTenant(t.db, { orgId: b.id, userId: null }, async (tx) => {
      const moved = await sql`update audit_chain_heads set seq = 0 where organization_id = ${a.id}`.execute(tx);
      expect(Number(moved.numAffectedRows)).toBe(0);
    });
    await expect(
      withTenant(t.db, { orgId: b.id, userId: null }, (tx) =>
        sql`insert into audit_checkpoints (organization_id, chain_seq, last_event_id, hash, signed_at, kid, signature)
            select ${a.id}, 99, last_event_id, hash, now(), kid, signature from audit_checkpoints limit 1`.execute(tx),
      ),
    ).resolves.toBeDefined(); // selects nothing of A's, so inserts nothing
    await expect(
      withTenant(t.db, { orgId: b.id, userId: null }, (tx) =>
        sql`insert into audit_chain_heads (organization_id) values (${a.id})`.execute(tx),
      ),
    ).rejects.toMatchObject({ code: '42501' });
    // The application role cannot read the checkpoint keys.
    await expect(
      withTenant(t.db, { orgId: a.id, userId: null }, (tx) => sql`select * from audit_signing_keys`.execute(tx)),
    ).rejects.toMatchObject({ code: '42501' });
  });
});

describe.each(ENGINES)('migration 030 on an existing audit log (%s)', (engine) => {
  it('chains the events already there, per organization in the order they were written', async () => {
    const t = await createTestDatabase(engine, { upTo: 29 });
    try {
      const a = await insertOrganization(t.db);
      const b = await insertOrganization(t.db);
      const written: Record<string, string[]> = { [a.id]: [], [b.id]: [] };
      // Inserted out of time order: the chain follows occurred_at, then id.
      for (const [org, minutesAgo] of [
        [a.id, 1],
        [b.id, 5],
        [a.id, 3],
        [a.id, 2],
        [b.id, 4],
      ] as const) {
        const id = uuidv7();
        await sql`insert into audit_events (organization_id, id, actor_type, action, data, occurred_at)
                  values (${org}, ${id}, 'system', 'organization.updated', '{"k": [1, "two"]}', now() - make_interval(mins => ${minutesAgo}))`.execute(
          t.db.kysely,
        );
        written[org]!.push(id);
      }
      await migrate(t.db);
      await expect(assertIsolation(t.db)).resolves.toBeUndefined();

      expect(await chainIds(t.db, a.id)).toEqual([written[a.id]![1], written[a.id]![2], written[a.id]![0]]);
      expect(await chainIds(t.db, b.id)).toEqual(written[b.id]);
      expect(await verifyAuditLogAsOperator(t.db, a.id)).toMatchObject({ ok: true, checked: 3, first_mismatch: null });
      expect(await verifyAuditLogAsOperator(t.db, b.id)).toMatchObject({ ok: true, checked: 2, first_mismatch: null });
      // New events continue the chain.
      await recordEvents(t.db, a.id, 1);
      expect(await verifyAuditLogAsOperator(t.db, a.id)).toMatchObject({ ok: true, checked: 4 });
    } finally {
      await t.drop();
    }
  });
});

describe.runIf(ENGINES.includes('postgres'))('audit chain under concurrent writers (postgres)', () => {
  it('links every event exactly once when many transactions write in one organization at once', async () => {
    const t = await createTestDatabase('postgres', { pool: { poolMax: 10 } });
    try {
      const org = await insertOrganization(t.db);
      const WRITERS = 20;
      const EACH = 5;
      // Each transaction writes several events, so the trigger's lock is held across statements.
      await Promise.all(
        Array.from({ length: WRITERS }, (_, w) =>
          withTenant(t.db, { orgId: org.id, userId: null }, async (tx) => {
            for (let i = 0; i < EACH; i++)
              await record(
                tx,
                { organizationId: org.id, actor: SYSTEM, meta: META },
                { action: 'organization.updated', target: null, data: { w, i } },
              );
          }),
        ),
      );
      const { rows } = await sql<{ seq: string; w: number; i: number; linked: boolean }>`
        select chain_seq::text as seq, (data->>'w')::int as w, (data->>'i')::int as i,
               prev_hash is not distinct from lag(hash) over (order by chain_seq) as linked
        from audit_events where organization_id = ${org.id} order by chain_seq`.execute(t.db.kysely);
      expect(rows.map((r) => Number(r.seq))).toEqual(Array.from({ length: WRITERS * EACH }, (_, k) => k + 1));
      expect(rows.every((r) => r.linked)).toBe(true);
      // A transaction's events are contiguous in the chain (commit order) and in the order it wrote them.
      for (let k = 0; k < rows.length; k += EACH) {
        const group = rows.slice(k, k + EACH);
        expect(new Set(group.map((r) => r.w)).size).toBe(1);
        expect(group.map((r) => r.i)).toEqual([0, 1, 2, 3, 4]);
      }
      expect(await verifyAuditLogAsOperator(t.db, org.id)).toMatchObject({ ok: true, checked: WRITERS * EACH });
    } finally {
      await t.drop();
    }
  });
});

describe('csvField', () => {
  it('quotes, doubles quotes and neutralises formulas', () => {
    expect(csvField(null)).toBe('');
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    expect(csvField('cr\r')).toBe('"cr\r"');
    for (const f of ['=1+1', '+1', '-1', '@SUM(A1)', '\tx']) expect(csvField(f)).toBe(`'${f}`);
    expect(csvField('=a,"b"')).toBe(`"'=a,""b"""`);
  });
});

/** A small RFC 4180 reader for the tests: quoted fields, doubled quotes, CRLF records. */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let field = '';
  let fields: string[] = [];
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      fields.push(field);
      field = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      fields.push(field);
      records.push(fields);
      fields = [];
      field = '';
      i++;
    } else field += c;
  }
  return records;
}
