import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseArgs, USAGE } from '../src/cli/args.js';
import { auditVerify, type Output } from '../src/cli/commands.js';
import { uuidv7 } from '../src/db/ids.js';
import { withTenant } from '../src/db/tenant-context.js';
import { record } from '../src/modules/audit/audit.js';
import { createTestDatabase, ENGINES, type TestDatabase } from './helpers/db.js';
import { insertOrganization } from './helpers/fixtures.js';
import { BIN, freePort } from './helpers/server-process.js';

const ORG = '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b';

describe('tenantry audit verify: parsing', () => {
  it.each([
    [['audit', 'verify', '--org', ORG], { name: 'audit verify', org: ORG }],
    [['audit', 'verify', `--org=${ORG.toUpperCase()}`], { name: 'audit verify', org: ORG }],
  ])('%j → %j', (argv, command) => {
    expect(parseArgs(argv)).toEqual({ ok: true, command });
  });

  it.each([
    [['audit'], /audit needs a subcommand/],
    [['audit', 'export'], /Unknown audit subcommand "export"/],
    [['audit', 'verify'], /missing --org/],
    [['audit', 'verify', '--org'], /--org needs a value/],
    [['audit', 'verify', '--org', 'acme'], /--org must be an organization id \(a UUID\), got "acme"/],
    [['audit', 'verify', '--org', ORG, '--all'], /unknown option --all/],
    [['audit', 'verify', '--org', ORG, '--org', ORG], /--org is given more than once/],
  ])('%j is refused', (argv, message) => {
    const r = parseArgs(argv);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(message);
  });

  it('is documented', () => {
    expect(USAGE).toContain('audit verify --org');
  });
});

function capture(): Output & { stdout: string; stderr: string } {
  const o = {
    stdout: '',
    stderr: '',
    out: (t: string) => {
      o.stdout += t;
    },
    err: (t: string) => {
      o.stderr += t;
    },
  };
  return o;
}

async function recordEvents(t: TestDatabase, orgId: string, n: number) {
  for (let i = 0; i < n; i++)
    await withTenant(t.db, { orgId, userId: null }, (tx) =>
      record(
        tx,
        { organizationId: orgId, actor: { type: 'system', id: null }, meta: { ip: null, requestId: null } },
        { action: 'organization.updated', target: null, data: { i } },
      ),
    );
}

describe.each(ENGINES)('tenantry audit verify (%s)', (engine) => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase(engine);
  });
  afterAll(() => t.drop());

  it('exits 0 with the count for a valid log, and 1 naming the altered event after tampering', async () => {
    const org = await insertOrganization(t.db);
    await recordEvents(t, org.id, 3);
    const good = capture();
    expect(await auditVerify(t.db, org.id, good)).toBe(0);
    expect(JSON.parse(good.stdout)).toMatchObject({ ok: true, checked: 3, first_mismatch: null });

    const { rows } = await sql<{ id: string }>`
      select id from audit_events where organization_id = ${org.id} order by chain_seq`.execute(t.db.kysely);
    await sql`update audit_events set action = 'member.added' where organization_id = ${org.id} and id = ${rows[1]!.id}`.execute(
      t.db.kysely,
    );
    const bad = capture();
    expect(await auditVerify(t.db, org.id, bad)).toBe(1);
    expect(JSON.parse(bad.stdout)).toMatchObject({ ok: false, checked: 1, first_mismatch: { id: rows[1]!.id } });
    expect(bad.stderr).toContain(rows[1]!.id);
  });

  it('exits 1 for an organization that does not exist', async () => {
    const io = capture();
    expect(await auditVerify(t.db, uuidv7(), io)).toBe(1);
    expect(io.stderr).toMatch(/organization .* not found/);
    expect(io.stdout).toBe('');
  });

  it.runIf(engine === 'postgres')('runs as the tenantry command against the database', async () => {
    const org = await insertOrganization(t.db);
    await recordEvents(t, org.id, 2);
    const r = await promisify(execFile)(process.execPath, [BIN, 'audit', 'verify', '--org', org.id], {
      env: { ...process.env, DATABASE_URL: t.url, LOG_LEVEL: 'silent' },
    });
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, checked: 2 });
  });
});

describe('tenantry audit verify checks its arguments before it opens the database', () => {
  it('refuses an --org that is not an id with exit 2, without reaching the database', async () => {
    // DATABASE_URL points at a closed port: a command that got as far as the database would fail on it.
    const env = { ...process.env, DATABASE_URL: `postgres://postgres@127.0.0.1:${await freePort()}/tenantry`, LOG_LEVEL: 'silent' };
    const r = await promisify(execFile)(process.execPath, [BIN, 'audit', 'verify', '--org', "x' or 1=1"], { env }).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => e,
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--org must be an organization id');
    expect(r.stderr).not.toMatch(/ECONNREFUSED|connect/i);
  });
});
