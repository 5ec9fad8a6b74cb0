// The README's recipe for running as a login role that owns the schema but is not a
// superuser, followed on the local PostgreSQL with a fresh role and database.
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { adminQuery } from './helpers/db.js';
import { type ServerProcess, startServerProcess } from './helpers/server-process.js';

const ADMIN_URL = process.env.TEST_DATABASE_URL;
const README = new URL('../../../README.md', import.meta.url);

async function recipe(): Promise<string> {
  const text = await readFile(README, 'utf8');
  const section = text.slice(text.indexOf('### Running as a non-superuser owner role'));
  const sql = /```sql\n([\s\S]*?)```/.exec(section)?.[1];
  if (!sql) throw new Error('README.md has no sql block under "Running as a non-superuser owner role"');
  return sql;
}

describe.skipIf(!ADMIN_URL)('the non-superuser owner role recipe (PostgreSQL)', () => {
  const suffix = randomBytes(4).toString('hex');
  const owner = `tenantry_owner_${suffix}`;
  const database = `tenantry_recipe_${suffix}`;
  const password = `pw ${suffix} of the recipe`;
  let server: ServerProcess | undefined;

  afterAll(async () => {
    await server?.stop();
    await adminQuery(ADMIN_URL!, `drop database if exists ${database} with (force)`);
    await adminQuery(ADMIN_URL!, `drop role if exists ${owner}`);
  });

  it('lets that role migrate and serve, and it stays no superuser', async () => {
    const statements = (await recipe())
      .replaceAll('tenantry_owner', owner)
      .replace(/create database tenantry owner/, `create database ${database} owner`)
      .replaceAll("'change this password'", `'${password}'`)
      .split(';')
      .map((s) => s.trim())
      .filter(Boolean);
    expect(statements.some((s) => s.startsWith(`create database ${database} owner ${owner}`))).toBe(true);
    for (const statement of statements) {
      // As the README says: on a cluster that already has the request roles, their create role is skipped.
      const requestRole = /^create role (tenantry_(?:app|platform|user|maintenance|worker|keyring)) /.exec(statement)?.[1];
      if (requestRole && (await adminQuery(ADMIN_URL!, 'select 1 from pg_roles where rolname = $1', [requestRole])).rowCount) continue;
      await adminQuery(ADMIN_URL!, statement);
    }
    const url = new URL(ADMIN_URL!);
    url.username = owner;
    url.password = password;
    url.pathname = `/${database}`;
    server = await startServerProcess({ DATABASE_URL: url.toString() });
    const ready = await fetch(`${server.base}/readyz`);
    expect(ready.status).toBe(200);
    const signup = await fetch(`${server.base}/v1/auth/signup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'owner-recipe@example.com', password: 'a long passphrase', name: 'Owner' }),
    });
    expect(signup.status).toBe(201);
    // An API key works too: it is found across organizations by tenantry_keyring, not by the owner.
    const post = (path: string, token: string, body: unknown) =>
      fetch(`${server!.base}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify(body),
      });
    const access = ((await signup.json()) as { access_token: string }).access_token;
    const org = (await (await post('/v1/organizations', access, { name: 'Recipe', industry: 'other' })).json()) as { id: string };
    const created = await post(`/v1/organizations/${org.id}/api-keys`, access, { name: 'Recipe key', scopes: ['members:read'] });
    expect(created.status).toBe(201);
    const { key } = (await created.json()) as { key: string };
    const members = await fetch(`${server.base}/v1/organizations/${org.id}/members`, { headers: { authorization: `Bearer ${key}` } });
    expect(members.status).toBe(200);
    const role = await adminQuery(ADMIN_URL!, 'select rolsuper from pg_roles where rolname = $1', [owner]);
    expect(role.rows[0]).toEqual({ rolsuper: false });
    const applied = await adminQuery(url.toString(), 'select count(*)::int as n from schema_migrations');
    expect(applied.rows[0].n).toBeGreaterThan(0);
  });
});
