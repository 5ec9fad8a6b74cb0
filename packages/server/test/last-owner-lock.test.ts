import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from './helpers/app.js';
import { ENGINES } from './helpers/db.js';
import { type OrgWithRoles, orgWithRoles } from './helpers/orgs.js';
import { authed } from './helpers/users.js';

// The last-owner rule holds under concurrency only because a role change or removal
// locks the organization's owner rows (and the rows involved) before it decides:
// a concurrent change then waits for it and sees its result. PostgreSQL shows that
// with two requests racing (organizations.test.ts); PGlite runs one transaction at a
// time, so a race there proves nothing. What both engines can show is the lock itself:
// a row locked FOR UPDATE keeps the locking transaction's id in its xmax after the
// commit, so each owner row that the decision read must carry, as xmax, the id of
// the very transaction that wrote the change's audit event (its xmin). A plain read
// leaves xmax untouched.

describe.each(ENGINES)('the last-owner decision locks the owner rows (%s)', (engine) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp(engine);
  });
  afterAll(() => t.close());

  /** An organization with two owners: its creator and the admin, promoted over the API. */
  async function twoOwners(): Promise<OrgWithRoles> {
    const o = await orgWithRoles(t.app, t.db);
    const promoted = await authed(t.app, 'PATCH', `/v1/organizations/${o.id}/members/${o.admin.id}`, o.owner.access, { role: 'owner' });
    expect(promoted.statusCode).toBe(200);
    return o;
  }

  /** xmax of each membership row, by user, and the xmin of the one audit event `action` on `target`. */
  async function locksAndWriter(orgId: string, action: string, target: string) {
    const rows = await sql<{ user_id: string; xmax: string }>`
      select user_id, xmax::text as xmax from memberships where organization_id = ${orgId}`.execute(t.db.kysely);
    const event = await sql<{ xmin: string }>`
      select xmin::text as xmin from audit_events
      where organization_id = ${orgId} and action = ${action} and target_id = ${target}`.execute(t.db.kysely);
    expect(event.rows).toHaveLength(1);
    return { xmax: Object.fromEntries(rows.rows.map((r) => [r.user_id, r.xmax])), writer: event.rows[0]!.xmin };
  }

  it('changing a role locks every owner row, including owners the change does not touch, in the transaction that changes it', async () => {
    const o = await twoOwners();
    // The promoted owner (o.admin) is neither the actor nor the target here.
    const res = await authed(t.app, 'PATCH', `/v1/organizations/${o.id}/members/${o.member.id}`, o.owner.access, { role: 'viewer' });
    expect(res.statusCode).toBe(200);
    const { xmax, writer } = await locksAndWriter(o.id, 'member.role_changed', o.member.id);
    expect(writer).not.toBe('0');
    expect(xmax[o.admin.id]).toBe(writer);
    expect(xmax[o.owner.id]).toBe(writer);
    // Rows of members who are neither owners nor involved are not locked.
    expect(xmax[o.viewer.id]).not.toBe(writer);
  });

  it('removing a member locks every owner row in the transaction that removes it', async () => {
    const o = await twoOwners();
    const res = await authed(t.app, 'DELETE', `/v1/organizations/${o.id}/members/${o.viewer.id}`, o.owner.access);
    expect(res.statusCode).toBe(204);
    const { xmax, writer } = await locksAndWriter(o.id, 'member.removed', o.viewer.id);
    expect(xmax[o.admin.id]).toBe(writer);
    expect(xmax[o.owner.id]).toBe(writer);
    expect(xmax[o.member.id]).not.toBe(writer);
  });

  it('an owner leaving locks the other owner rows before deciding they are not the last', async () => {
    const o = await twoOwners();
    const res = await authed(t.app, 'DELETE', `/v1/organizations/${o.id}/members/${o.owner.id}`, o.owner.access);
    expect(res.statusCode).toBe(204);
    const { xmax, writer } = await locksAndWriter(o.id, 'member.removed', o.owner.id);
    expect(xmax[o.admin.id]).toBe(writer);
  });
});
