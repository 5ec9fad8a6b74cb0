import type { App } from '../../src/app.js';
import type { Database } from '../../src/db/database.js';
import type { Role } from '../../src/db/schema.js';
import { insertMembership } from './fixtures.js';
import { bearer, type SignedUp, signupUser } from './users.js';

export interface OrgWithRoles {
  id: string;
  slug: string;
  owner: SignedUp;
  admin: SignedUp;
  member: SignedUp;
  viewer: SignedUp;
}

export async function createOrg(app: App, owner: SignedUp, body: Record<string, unknown> = {}) {
  const res = await app.inject({
    method: 'POST',
    url: '/v1/organizations',
    headers: bearer(owner.access),
    payload: { name: 'Acme Corp', industry: 'technology', ...body },
  });
  if (res.statusCode !== 201) throw new Error(`create org failed: ${res.statusCode} ${res.body}`);
  return res.json() as { id: string; slug: string; name: string };
}

/** An organization created over the API by its owner, with an admin, a member and a viewer added directly. */
export async function orgWithRoles(app: App, db: Database, name = 'Acme Corp'): Promise<OrgWithRoles> {
  const owner = await signupUser(app);
  const org = await createOrg(app, owner, { name });
  const add = async (role: Role) => {
    const u = await signupUser(app);
    await insertMembership(db, org.id, u.id, role);
    return u;
  };
  return { id: org.id, slug: org.slug, owner, admin: await add('admin'), member: await add('member'), viewer: await add('viewer') };
}

export const auditCount = async (db: Database, orgId: string) =>
  Number(
    (
      await db.kysely
        .selectFrom('audit_events')
        .select((eb) => eb.fn.countAll().as('n'))
        .where('organization_id', '=', orgId)
        .executeTakeFirstOrThrow()
    ).n,
  );
