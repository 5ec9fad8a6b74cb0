import type { Database } from '../../src/db/database.js';
import { uuidv7 } from '../../src/db/ids.js';
import type { Role } from '../../src/db/schema.js';

// Fixtures write as the connecting (migration) user, outside any tenant context,
// so a test can set up rows that the application role will then be tested against.

export async function insertUser(db: Database, email = `${uuidv7()}@example.com`) {
  const id = uuidv7();
  await db.kysely.insertInto('users').values({ id, email, name: 'Test User' }).execute();
  return { id, email };
}

export async function insertOrganization(db: Database, name = 'Org') {
  const id = uuidv7();
  await db.kysely
    .insertInto('organizations')
    .values({ id, name, slug: `org-${id.slice(-12)}`, industry: 'technology' })
    .execute();
  return { id };
}

export async function insertMembership(db: Database, organizationId: string, userId: string, role: Role) {
  await db.kysely.insertInto('memberships').values({ organization_id: organizationId, user_id: userId, role }).execute();
}
