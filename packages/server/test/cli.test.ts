import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseArgs, USAGE } from '../src/cli/args.js';
import { adminCreate, keysRotate, type Output } from '../src/cli/commands.js';
import { withTenant } from '../src/db/tenant-context.js';
import { record } from '../src/modules/audit/audit.js';
import { verifyAuditLogAsOperator } from '../src/modules/audit/audit.service.js';
import { verifyPassword } from '../src/modules/identity/passwords.js';
import { createTestDatabase, ENGINES, type TestDatabase } from './helpers/db.js';
import { insertOrganization, insertUser } from './helpers/fixtures.js';
import { BIN, freePort } from './helpers/server-process.js';

const PW = 'long enough password';

describe('command line parsing', () => {
  it.each([
    [[], { name: 'serve' }],
    [['serve'], { name: 'serve' }],
    [['migrate'], { name: 'migrate' }],
    [['keys', 'rotate'], { name: 'keys rotate', kind: 'tokens' }],
    [['keys', 'rotate', '--kind', 'webhooks'], { name: 'keys rotate', kind: 'webhooks' }],
    [['keys', 'rotate', '--kind=audit'], { name: 'keys rotate', kind: 'audit' }],
    [['help'], { name: 'help' }],
    [['--help'], { name: 'help' }],
    [['-h'], { name: 'help' }],
    [['admin', 'create', '--help'], { name: 'help' }],
    [['admin', 'create', '--email', 'a@b.co', '--password', PW], { name: 'admin create', email: 'a@b.co', password: PW }],
    [['admin', 'create', `--password=${PW}`, '--email=a@b.co'], { name: 'admin create', email: 'a@b.co', password: PW }],
    // A value that starts with -- is taken in the --name=value form, and may contain "=".
    [
      ['admin', 'create', '--email', 'a@b.co', '--password=--x=y long value'],
      { name: 'admin create', email: 'a@b.co', password: '--x=y long value' },
    ],
  ])('%j → %j', (argv, command) => {
    expect(parseArgs(argv)).toEqual({ ok: true, command });
  });

  it.each([
    [['launch'], /Unknown command "launch"/],
    [['serve', 'now'], /serve takes no arguments/],
    [['migrate', '--force'], /migrate takes no arguments/],
    [['admin'], /admin needs a subcommand/],
    [['admin', 'delete'], /Unknown admin subcommand "delete"/],
    [['keys'], /keys needs a subcommand/],
    [['keys', 'list'], /Unknown keys subcommand "list"/],
    [['keys', 'rotate', 'now'], /keys rotate: unexpected argument "now"/],
    [['keys', 'rotate', '--kind', 'jwt'], /--kind must be one of tokens, webhooks, audit/],
    [['admin', 'create'], /missing --email and --password/],
    [['admin', 'create', '--email', 'a@b.co'], /missing --password/],
    [['admin', 'create', '--password', PW], /missing --email/],
    [['admin', 'create', '--email'], /--email needs a value/],
    [['admin', 'create', '--email=', '--password', PW], /--email needs a value/],
    [['admin', 'create', '--email', '--password', PW], /--email needs a value/],
    [['admin', 'create', '--email', 'a@b.co', '--email', 'c@d.co', '--password', PW], /--email is given more than once/],
    [['admin', 'create', '--email', 'a@b.co', '--password', PW, '--role', 'x'], /unknown option --role/],
    [['admin', 'create', 'a@b.co', PW], /unexpected argument "a@b.co"/],
  ])('%j is refused', (argv, message) => {
    const r = parseArgs(argv);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(message);
  });

  it('documents every command', () => {
    for (const c of ['serve', 'migrate', 'admin create --email', 'keys rotate']) expect(USAGE).toContain(c);
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

describe.each(ENGINES)('command functions (%s)', (engine) => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase(engine);
  });
  afterAll(() => t.drop());

  const userByEmail = (email: string) =>
    t.db.kysely.selectFrom('users').select(['id', 'platform_role', 'password_hash']).where('email', '=', email).executeTakeFirst();

  it('admin create makes a platform admin, and again only updates the password', async () => {
    const first = capture();
    expect(await adminCreate(t.db, { email: ' Root@Example.COM ', password: PW }, first)).toBe(0);
    const created = await userByEmail('root@example.com');
    expect(created).toMatchObject({ platform_role: 'platform_admin' });
    expect(await verifyPassword(created!.password_hash, PW)).toBe(true);
    expect(first.stdout).toContain('root@example.com');
    expect(first.stdout).toContain(created!.id);
    expect(first.stdout + first.stderr).not.toContain(PW);

    const again = capture();
    expect(await adminCreate(t.db, { email: 'root@example.com', password: `${PW} 2` }, again)).toBe(0);
    const updated = await userByEmail('root@example.com');
    expect(updated!.id).toBe(created!.id);
    expect(await verifyPassword(updated!.password_hash, `${PW} 2`)).toBe(true);
    expect(await t.db.kysely.selectFrom('users').select('id').where('email', '=', 'root@example.com').execute()).toHaveLength(1);
  });

  it('admin create promotes an existing user', async () => {
    const u = await insertUser(t.db, 'existing@example.com');
    expect(await adminCreate(t.db, { email: 'existing@example.com', password: PW }, capture())).toBe(0);
    expect(await userByEmail('existing@example.com')).toMatchObject({ id: u.id, platform_role: 'platform_admin' });
  });

  it.each([
    [{ email: 'not-an-email', password: PW }, '--email', 'not-an-email'],
    [{ email: 'short@example.com', password: 'too short' }, '--password', 'short@example.com'],
  ])('admin create refuses %j with exit code 1, naming the option', async (input, option, email) => {
    const io = capture();
    expect(await adminCreate(t.db, input, io)).toBe(1);
    expect(io.stderr).toContain(option);
    expect(io.stderr).not.toContain(input.password);
    expect(io.stdout).toBe('');
    expect(await userByEmail(email)).toBeUndefined();
  });

  it('keys rotate prints only the new kid and retires the previous key', async () => {
    const first = capture();
    expect(await keysRotate(t.db, first)).toBe(0);
    const second = capture();
    expect(await keysRotate(t.db, second)).toBe(0);
    const kid = second.stdout.trim();
    expect(second.stdout).toBe(`${kid}\n`);
    expect(kid).not.toBe(first.stdout.trim());

    const keys = await t.db.kysely.selectFrom('signing_keys').select(['kid', 'retired_at']).execute();
    expect(keys.filter((k) => k.retired_at === null).map((k) => k.kid)).toEqual([kid]);
    expect(keys.find((k) => k.kid === first.stdout.trim())?.retired_at).toBeInstanceOf(Date);
    for (const io of [first, second]) expect(io.stdout + io.stderr).not.toMatch(/PRIVATE KEY|"d":/);
  });

  it('keys rotate --kind audit makes a new checkpoint key; checkpoints signed by the previous one still verify', async () => {
    const org = await insertOrganization(t.db);
    const by = { organizationId: org.id, actor: { type: 'system' as const, id: null }, meta: { ip: null, requestId: null } };
    const change = () =>
      withTenant(t.db, { orgId: org.id, userId: null }, (tx) => record(tx, by, { action: 'organization.updated', target: null, data: {} }));
    await change();
    const old = (await verifyAuditLogAsOperator(t.db, org.id)).checkpoint!.kid;
    const io = capture();
    expect(await keysRotate(t.db, io, 'audit')).toBe(0);
    const kid = io.stdout.trim();
    expect(kid).not.toBe(old);
    expect(io.stdout + io.stderr).not.toMatch(/PRIVATE KEY|"d":/);
    // The old checkpoint verifies; the next one is signed with the new key.
    await change();
    expect(await verifyAuditLogAsOperator(t.db, org.id)).toMatchObject({ ok: true, checkpoint: { kid } });
    expect(await verifyAuditLogAsOperator(t.db, org.id)).toMatchObject({ ok: true, checkpoint: { kid } });
    const keys = await t.db.kysely.selectFrom('audit_signing_keys').select(['kid', 'retired_at']).execute();
    expect(keys.filter((k) => k.retired_at === null).map((k) => k.kid)).toEqual([kid]);
  });
});

describe('the tenantry command checks its arguments before it opens the database', () => {
  // DATABASE_URL points at a closed port: any command that got as far as the database would fail on it.
  const run = async (...args: string[]) => {
    const env = { ...process.env, DATABASE_URL: `postgres://postgres@127.0.0.1:${await freePort()}/tenantry`, LOG_LEVEL: 'silent' };
    return promisify(execFile)(process.execPath, [BIN, ...args], { env }).then(
      (r) => ({ code: 0, ...r }),
      (e: { code: number; stdout: string; stderr: string }) => e,
    );
  };

  it('refuses a bad email with exit 1 and names the option', async () => {
    const r = await run('admin', 'create', '--email', 'not-an-email', '--password', PW);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^tenantry admin create: --email /);
    expect(r.stderr).not.toContain('database');
  });

  it('refuses a short password with exit 1, never echoing it', async () => {
    const r = await run('admin', 'create', '--email', 'a@b.co', '--password', 'short');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/--password /);
    expect(r.stderr).not.toContain('short\n');
  });

  it('refuses a malformed command line with exit 2 and the usage', async () => {
    const r = await run('admin', 'create', '--email');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('Usage: tenantry');
  });
});
