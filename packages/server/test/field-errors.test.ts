import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from './helpers/app.js';
import { ENGINES } from './helpers/db.js';
import { type OrgWithRoles, orgWithRoles } from './helpers/orgs.js';
import { authed } from './helpers/users.js';

describe.each(ENGINES)('one error per field (%s)', (engine) => {
  let t: TestApp;
  let o: OrgWithRoles;
  beforeAll(async () => {
    t = await startApp(engine);
    o = await orgWithRoles(t.app, t.db);
  });
  afterAll(() => t.close());

  const errorsOf = (res: { statusCode: number; json(): { code: string; errors: Array<{ path: string; message: string }> } }) => {
    expect(res.statusCode).toBe(400);
    expect(res.json().code).toBe('VALIDATION_FAILED');
    return res.json().errors;
  };

  // `size` is a union (a size or null): Ajv reports each branch and the union itself.
  it.each([['huge'], [5], [true]])('a size of %j is one entry for /body/size listing the sizes and null', async (size) => {
    const res = await authed(t.app, 'POST', '/v1/organizations', o.owner.access, { name: 'S', industry: 'technology', size });
    const errors = errorsOf(res);
    expect(errors).toEqual([{ path: '/body/size', message: expect.stringContaining('must be one of: 1-10, 11-50') }]);
    expect(errors[0]!.message).toMatch(/5001\+, null$/);
    const patch = errorsOf(await authed(t.app, 'PATCH', `/v1/organizations/${o.id}`, o.owner.access, { size }));
    expect(patch.map((e) => e.path)).toEqual(['/body/size']);
  });

  it.each([['space'], [7], [null]])('an industry of %j is one entry for /body/industry', async (industry) => {
    const res = await authed(t.app, 'POST', '/v1/organizations', o.owner.access, { name: 'I', industry });
    expect(errorsOf(res)).toEqual([{ path: '/body/industry', message: expect.stringMatching(/^must be one of: agriculture, /) }]);
  });

  it.each([['boss'], [3]])('a role of %j is one entry for /body/role on a role change and an invitation', async (role) => {
    const change = await authed(t.app, 'PATCH', `/v1/organizations/${o.id}/members/${o.member.id}`, o.owner.access, { role });
    expect(errorsOf(change)).toEqual([{ path: '/body/role', message: 'must be one of: owner, admin, member, viewer' }]);
    const invite = await authed(t.app, 'POST', `/v1/organizations/${o.id}/invitations`, o.admin.access, { email: 'r@example.com', role });
    expect(errorsOf(invite)).toEqual([{ path: '/body/role', message: 'must be one of: owner, admin, member, viewer' }]);
  });

  it('still names each wrong field once when several are wrong', async () => {
    const res = await authed(t.app, 'POST', '/v1/organizations', o.owner.access, {
      name: '',
      industry: 'space',
      size: 'huge',
      metadata: { nested: { a: 1 }, long: 'x'.repeat(2000) },
      surprise: 1,
    });
    const paths = errorsOf(res).map((e) => e.path);
    expect([...paths].sort()).toEqual(
      ['/body/industry', '/body/metadata/long', '/body/metadata/nested', '/body/name', '/body/size', '/body/surprise'].sort(),
    );
    const long = errorsOf(res).find((e) => e.path === '/body/metadata/long');
    expect(long?.message).toBe('must NOT have more than 1024 characters');
  });
});
