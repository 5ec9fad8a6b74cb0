import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  adminQuery,
  call,
  clusterPort,
  expectUnavailable,
  FaultProxy,
  freshDatabase,
  type InProcess,
  serviceOn,
  signup,
} from './support.js';

// A create whose COMMIT reached the database but whose reply was lost: the client saw a 503
// and cannot know whether it happened. Retried with its Idempotency-Key it gets the original
// 201, because the key's record was committed with the organization.
describe('Idempotency-Key across a lost COMMIT reply', () => {
  let proxy: FaultProxy;
  let s: InProcess;
  let directUrl: string;

  beforeAll(async () => {
    const d = await freshDatabase();
    directUrl = d.directUrl;
    proxy = await new FaultProxy(clusterPort()).listen();
    s = await serviceOn(d.viaProxy(proxy.port));
  });
  afterAll(async () => {
    await s?.close();
    await proxy?.close();
  });

  const organizationsNamed = async (name: string) =>
    (await adminQuery<{ id: string }>(directUrl, 'select id from organizations where name = $1', [name])).rows.map((r) => r.id);

  it('the retry with its key answers the original 201 and exactly one organization exists', async () => {
    const owner = await signup(s.base);
    const body = { name: 'Lost Reply Co', industry: 'technology' };
    const send = () =>
      call(s.base, 'POST', '/v1/organizations', { token: owner.access, body, headers: { 'idempotency-key': 'lost-reply-1' } });

    // The COMMIT of the transaction that stores the key's record, not the replay check's.
    proxy.loseReplyAfter('commit', 'insert into idempotency_records');
    const lost = await send();
    expectUnavailable(lost);
    // The database did commit: the organization is there, though the client was told 503.
    const committed = await organizationsNamed(body.name);
    expect(committed).toHaveLength(1);

    const retried = await send();
    expect(retried.status, retried.body).toBe(201);
    expect(JSON.parse(retried.body)).toMatchObject({ id: committed[0], name: body.name });
    expect(await organizationsNamed(body.name)).toEqual(committed);
    const members = await adminQuery<{ n: number }>(directUrl, 'select count(*)::int as n from memberships where organization_id = $1', [
      committed[0],
    ]);
    expect(members.rows[0]!.n).toBe(1);
  });
});
