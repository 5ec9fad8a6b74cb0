// The event and webhook scenarios of npm run bench (BENCH_ONLY=e1,e2,e3):
// E1, a write (role changes) with the event row written and with it dropped; E2, webhook
// delivery throughput to a keep-alive receiver on loopback, signatures included; E3, the
// outbox lag (event written → delivery received) while events keep coming at a steady rate.
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';

/** Members whose role E1 changes, in the organization E1 writes in. */
const E1_MEMBERS = 200;
/** Organizations the webhook events are spread over: deliveries of one organization go in order, one at a time. */
const E2_ORGANIZATIONS = 100;

async function withClient(url, fn) {
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * An organization of the target user (its owner), with E1_MEMBERS seeded users added as
 * members in SQL; returns an owner's token scoped to it and the members' ids.
 */
export async function roleChangeSetup({ api, base, dbUrl, signupAccess, email, password }) {
  const created = await api(
    base,
    'POST',
    '/v1/organizations',
    { name: `Bench Writes ${process.pid}`, industry: 'technology' },
    { authorization: `Bearer ${signupAccess}` },
  );
  if (created.status !== 201) throw new Error(`creating the E1 organization failed: ${created.status} ${created.text}`);
  const orgId = created.json.id;
  const members = await withClient(dbUrl, async (c) => {
    const { rows } = await c.query(
      `insert into memberships (organization_id, user_id, role)
       select $1, u.id, 'member' from users u
       where u.id not in (select user_id from memberships where organization_id = $1)
       order by u.id limit $2
       returning user_id`,
      [orgId, E1_MEMBERS],
    );
    return rows.map((r) => r.user_id);
  });
  const login = await api(base, 'POST', '/v1/auth/login', { email, password, organization_id: orgId });
  if (login.status !== 200) throw new Error(`owner login for E1 failed: ${login.status} ${login.text}`);
  return { orgId, members, access: login.json.access_token };
}

/**
 * The autocannon requests of E1: PATCH …/members/{id} round-robin over the members, each
 * pass setting the role the previous pass did not, so every request is a change (an audit
 * event, and with it an event row).
 */
export function roleChangeRequests({ orgId, members, access }) {
  let n = 0;
  return [
    {
      method: 'PATCH',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${access}` },
      setupRequest: (req) => {
        const i = n++;
        const role = Math.floor(i / members.length) % 2 === 0 ? 'viewer' : 'member';
        return { ...req, path: `/v1/organizations/${orgId}/members/${members[i % members.length]}`, body: JSON.stringify({ role }) };
      },
    },
  ];
}

/**
 * "Events disabled" for E1 without a switch in the product: a trigger in the bench
 * database drops every event row before it is written. The INSERT is still sent, so the
 * difference measured is the row's write (heap, indexes, WAL), not its round trip.
 */
export const dropEventRows = (dbUrl) =>
  withClient(dbUrl, (c) =>
    c.query(`create or replace function bench_drop_event() returns trigger language plpgsql as $$ begin return null; end $$;
             create or replace trigger bench_drop_event before insert on events for each row execute function bench_drop_event()`),
  );

export const keepEventRows = (dbUrl) =>
  withClient(dbUrl, (c) => c.query('drop trigger if exists bench_drop_event on events; drop function if exists bench_drop_event()'));

/** A keep-alive HTTP receiver on 127.0.0.1 answering 204, recording when each delivery arrived and when its event occurred. */
export async function startReceiver() {
  const arrivals = [];
  const server = http.createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const at = Date.now();
      try {
        const event = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        arrivals.push({ at, occurred: Date.parse(event.timestamp), signed: /v1,.+ v1a,/.test(req.headers['webhook-signature'] ?? '') });
      } catch {
        arrivals.push({ at, occurred: Number.NaN, signed: false });
      }
      res.writeHead(204).end();
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}/hook`,
    arrivals,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

/** Waits until `count` deliveries have arrived, or `timeoutMs` has passed. */
async function arrived(receiver, count, timeoutMs) {
  const until = Date.now() + timeoutMs;
  while (receiver.arrivals.length < count && Date.now() < until) await sleep(20);
  return receiver.arrivals.length >= count;
}

/** `count` member.role_changed events spread over E2_ORGANIZATIONS organizations, in one transaction per call. */
const insertEvents = (client, count) =>
  client.query(
    `insert into events (organization_id, id, type, actor_type, actor_id, data)
     select o.id, gen_random_uuid(), 'member.role_changed', 'system', null,
            jsonb_build_object('user_id', gen_random_uuid(), 'from', 'member', 'to', 'viewer')
     from (select id from organizations order by id limit ${E2_ORGANIZATIONS}) o, generate_series(1, $1::int) k
     order by k
     limit $2`,
    [Math.ceil(count / E2_ORGANIZATIONS), count],
  );

const percentile = (sorted, p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : null);

/**
 * E2: a backlog of `count` events, written in SQL at once, delivered by the running
 * server's worker to the receiver. The rate counts from the first delivery to the last,
 * so the worker's poll interval before the first is not in it.
 */
export async function deliveryThroughput({ dbUrl, receiver, count, timeoutMs }) {
  receiver.arrivals.length = 0;
  await withClient(dbUrl, (c) => insertEvents(c, count));
  const complete = await arrived(receiver, count, timeoutMs);
  const a = receiver.arrivals;
  const seconds = a.length > 1 ? (a[a.length - 1].at - a[0].at) / 1000 : null;
  return {
    scenario: `E2: webhook deliveries, signed, keep-alive receiver (${count.toLocaleString('en-US')} queued)`,
    rps: seconds ? (a.length - 1) / seconds : null,
    p50: null,
    p99: null,
    errors: count - a.length,
    non2xx: null,
    unsigned: a.filter((x) => !x.signed).length,
    complete,
  };
}

/**
 * E3: events written at `perSecond` (in transactions of 10, spread over organizations) for
 * `seconds`; the lag of each is its arrival at the receiver minus the time its event was
 * written (same clock, same machine).
 */
export async function outboxLag({ dbUrl, receiver, perSecond, seconds, timeoutMs }) {
  receiver.arrivals.length = 0;
  const perTx = 10;
  let written = 0;
  await withClient(dbUrl, async (c) => {
    const start = Date.now();
    while (Date.now() - start < seconds * 1000) {
      const due = Math.floor(((Date.now() - start) / 1000) * perSecond);
      while (written < due) {
        await insertEvents(c, perTx);
        written += perTx;
      }
      await sleep(5);
    }
  });
  const complete = await arrived(receiver, written, timeoutMs);
  const lags = receiver.arrivals.map((x) => x.at - x.occurred).sort((x, y) => x - y);
  return {
    scenario: `E3: outbox lag, events written at ${perSecond.toLocaleString('en-US')}/s (ms from write to arrival)`,
    rps: written / seconds,
    p50: percentile(lags, 50),
    p99: percentile(lags, 99),
    errors: written - receiver.arrivals.length,
    non2xx: null,
    complete,
  };
}
