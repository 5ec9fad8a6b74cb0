// The data set, written with SQL as the connecting superuser (which RLS does not
// restrict) after the server has applied its migrations. Ids are derived from
// md5 of a counter, so memberships can name their rows without joins.

// The profile's own lists, from the built service, so the data set uses exactly what the API accepts.
import { INDUSTRIES, SIZES } from '../dist/modules/organizations/profile.js';

export const ORGANIZATIONS = 10_000;
export const USERS = 50_000;
export const MEMBERSHIPS = 100_000;
/** The organization S1 and S2 read: 49 seeded members plus the user signed up over HTTP. */
export const TARGET_MEMBERS = 50;

const sqlArray = (values) => `array[${values.map((v) => `'${v}'`).join(', ')}]`;

/**
 * Seeds organizations, users and memberships; `targetUserId` (signed up over HTTP)
 * becomes a `member` of the target organization. Returns the target organization's id.
 */
export async function seed(client, targetUserId) {
  const others = MEMBERSHIPS - TARGET_MEMBERS; // spread over the other organizations
  const otherOrgs = ORGANIZATIONS - 1;
  await client.query('begin');
  await client.query(`
    insert into users (id, email, name)
    select md5('bench-user-' || k)::uuid, 'bench-user-' || k || '@bench.invalid', 'Bench User ' || k
    from generate_series(1, ${USERS}) k`);
  await client.query(`
    insert into organizations (id, name, slug, industry, size)
    select md5('bench-org-' || i)::uuid, 'Bench Org ' || i, 'bench-org-' || i,
           (${sqlArray(INDUSTRIES)})[1 + i % ${INDUSTRIES.length}], (${sqlArray(SIZES)})[1 + i % ${SIZES.length}]
    from generate_series(1, ${ORGANIZATIONS}) i`);
  // Target organization (i = 1): users 1..49 (who also belong elsewhere), user 1 its owner.
  await client.query(`
    insert into memberships (organization_id, user_id, role)
    select md5('bench-org-1')::uuid, md5('bench-user-' || k)::uuid,
           case when k = 1 then 'owner' else (array['admin', 'member', 'viewer'])[1 + k % 3] end
    from generate_series(1, ${TARGET_MEMBERS - 1}) k`);
  await client.query(`insert into memberships (organization_id, user_id, role) values (md5('bench-org-1')::uuid, $1, 'member')`, [
    targetUserId,
  ]);
  // Organizations 2..10000 get about ten members each. (n mod 9999, n mod 50000) never
  // repeats below 9999 × 50000 (coprime), so no pair is inserted twice; the first
  // membership of each organization is its owner.
  await client.query(`
    insert into memberships (organization_id, user_id, role)
    select md5('bench-org-' || (2 + n % ${otherOrgs}))::uuid, md5('bench-user-' || (1 + n % ${USERS}))::uuid,
           case when n < ${otherOrgs} then 'owner' else (array['admin', 'member', 'member', 'member', 'viewer'])[1 + n % 5] end
    from generate_series(0, ${others - 1}) n`);
  await client.query('commit');
  // The state of a database in service: vacuumed (hint bits set, visibility map built)
  // and analysed, so no autovacuum of the fresh rows runs during the scenarios, and
  // checkpointed, so writing the seed's pages back does not either.
  await client.query('vacuum (analyze) users, organizations, memberships');
  await client.query('checkpoint');

  const { rows } = await client.query(`
    select (select count(*) from organizations)::int as organizations, (select count(*) from users)::int as users,
           (select count(*) from memberships)::int as memberships,
           (select count(*) from memberships where organization_id = md5('bench-org-1')::uuid)::int as target_members,
           md5('bench-org-1')::uuid::text as target_org`);
  const r = rows[0];
  if (r.organizations !== ORGANIZATIONS || r.memberships !== MEMBERSHIPS || r.target_members !== TARGET_MEMBERS) {
    throw new Error(`seeding produced unexpected counts: ${JSON.stringify(r)}`);
  }
  return { orgId: r.target_org, counts: { organizations: r.organizations, users: r.users, memberships: r.memberships } };
}

export const LARGE_ORGANIZATIONS = 100_000;
export const LARGE_MEMBERSHIPS = 1_000_000;

/**
 * Grows the seeded data set to LARGE_ORGANIZATIONS and LARGE_MEMBERSHIPS: organizations
 * 10,001..100,000 with ten members each. Member k of organization i is user
 * 1 + (7i + 5003k) mod USERS, distinct for k < 10 (5003k is never a multiple of USERS), so no
 * pair repeats; k = 0 is the owner. The target organization is untouched.
 */
export async function growLarge(client) {
  const added = LARGE_ORGANIZATIONS - ORGANIZATIONS;
  const perOrg = (LARGE_MEMBERSHIPS - MEMBERSHIPS) / added;
  await client.query('begin');
  await client.query(`
    insert into organizations (id, name, slug, industry, size)
    select md5('bench-org-' || i)::uuid, 'Bench Org ' || i, 'bench-org-' || i,
           (${sqlArray(INDUSTRIES)})[1 + i % ${INDUSTRIES.length}], (${sqlArray(SIZES)})[1 + i % ${SIZES.length}]
    from generate_series(${ORGANIZATIONS + 1}, ${LARGE_ORGANIZATIONS}) i`);
  await client.query(`
    insert into memberships (organization_id, user_id, role)
    select md5('bench-org-' || i)::uuid, md5('bench-user-' || (1 + (7 * i + 5003 * k) % ${USERS}))::uuid,
           case when k = 0 then 'owner' else (array['admin', 'member', 'member', 'member', 'viewer'])[1 + k % 5] end
    from generate_series(${ORGANIZATIONS + 1}, ${LARGE_ORGANIZATIONS}) i, generate_series(0, ${perOrg - 1}) k`);
  await client.query('commit');
  await client.query('vacuum (analyze) organizations, memberships');
  await client.query('checkpoint');
  const { rows } = await client.query(
    'select (select count(*) from organizations)::int as organizations, (select count(*) from memberships)::int as memberships',
  );
  if (rows[0].organizations < LARGE_ORGANIZATIONS || rows[0].memberships < LARGE_MEMBERSHIPS) {
    throw new Error(`growing the data set produced unexpected counts: ${JSON.stringify(rows[0])}`);
  }
}
