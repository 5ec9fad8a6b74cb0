import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebhookDeliverer } from '../src/modules/events/deliverer.js';
import { TOOL_WITHDRAWN } from '../src/modules/events/deliveries.queries.js';
import { loadWebhookKey } from '../src/modules/events/signing.js';
import { startApp, type TestApp } from './helpers/app.js';
import { ENGINES } from './helpers/db.js';
import { type OrgWithRoles, orgWithRoles } from './helpers/orgs.js';
import { eventsSeenInSql, setEnabled } from './helpers/tool-events.js';
import { platformAdminToken, type RegisteredTool, registerTool, toolToken } from './helpers/tools.js';
import { authed } from './helpers/users.js';
import { startReceiver } from './helpers/webhook-receiver.js';

type Receiver = Awaited<ReturnType<typeof startReceiver>>;

describe.each(ENGINES)('webhooks and events of tools (%s)', (engine) => {
  let t: TestApp;
  let admin: string;
  let receiver: Receiver;
  let worker: WebhookDeliverer;
  let enabledOrg: OrgWithRoles;
  let otherOrg: OrgWithRoles;
  let tool: RegisteredTool;
  let otherTool: RegisteredTool;

  beforeAll(async () => {
    t = await startApp(engine, { webhookAllowPrivate: true });
    admin = await platformAdminToken(t);
    receiver = await startReceiver();
    worker = new WebhookDeliverer(t.db, await loadWebhookKey(t.db.kysely), t.app.log, undefined, {
      allowPrivate: true,
      retentionDays: 30,
      jitter: () => 0,
    });
    enabledOrg = await orgWithRoles(t.app, t.db, 'Enabled Org');
    otherOrg = await orgWithRoles(t.app, t.db, 'Other Org');
    tool = await registerTool(t, admin);
    otherTool = await registerTool(t, admin);
  });
  afterEach(async () => {
    await sql`delete from webhook_endpoints`.execute(t.db.kysely);
    await sql`delete from organization_tools`.execute(t.db.kysely);
    receiver.received.length = 0;
  });
  afterAll(async () => {
    await worker.stop();
    await receiver.close();
    await t.close();
  });

  const changeRole = async (o: OrgWithRoles, role: 'viewer' | 'member') =>
    expect((await authed(t.app, 'PATCH', `/v1/organizations/${o.id}/members/${o.member.id}`, o.owner.access, { role })).statusCode).toBe(
      200,
    );
  const registerEndpoint = async (token: string, body: Record<string, unknown> = {}) => {
    const res = await authed(t.app, 'POST', '/v1/webhook-endpoints', token, {
      url: receiver.url,
      event_types: ['member.role_changed'],
      ...body,
    });
    expect(res.statusCode, res.body).toBe(201);
    return res.json() as { id: string; tool_id: string | null; secret: string };
  };
  /** The organizations whose events reached `path`. */
  const receivedOrgs = (path: string) =>
    receiver.received.filter((r) => r.path === path).map((r) => (JSON.parse(r.body) as { organization_id: string }).organization_id);

  it('an endpoint bound to a tool receives only the organizations where the tool is enabled', async () => {
    await setEnabled(t, enabledOrg, tool, true);
    const ep = await registerEndpoint(await toolToken(t, tool), { url: `${receiver.url}/tool` });
    expect(ep.tool_id).toBe(tool.id);
    await registerEndpoint(admin, { url: `${receiver.url}/platform` });
    await changeRole(enabledOrg, 'viewer');
    await changeRole(otherOrg, 'viewer');
    await worker.runOnce();
    // The platform's endpoint gets both organizations' events, the tool's only the enabled one's.
    expect(receivedOrgs('/hooks/tool')).toEqual([enabledOrg.id]);
    expect(receivedOrgs('/hooks/platform').sort()).toEqual([enabledOrg.id, otherOrg.id].sort());
    const tools = await authed(t.app, 'GET', `/v1/webhook-endpoints/${ep.id}/deliveries`, admin);
    expect(tools.json().data.map((d: { organization_id: string }) => d.organization_id)).toEqual([enabledOrg.id]);
    await changeRole(enabledOrg, 'member');
    await changeRole(otherOrg, 'member');
  });

  it('an event of an organization where the tool was disabled is never delivered, even after enabling it again', async () => {
    await setEnabled(t, enabledOrg, tool, true);
    const ep = await registerEndpoint(await toolToken(t, tool));
    await setEnabled(t, enabledOrg, tool, false);
    await changeRole(enabledOrg, 'viewer'); // while disabled
    await setEnabled(t, enabledOrg, tool, true);
    await worker.runOnce();
    expect(receiver.received).toHaveLength(0);
    await changeRole(enabledOrg, 'member'); // enabled again
    await worker.runOnce();
    expect(receiver.received).toHaveLength(1);
    expect(JSON.parse(receiver.received[0]!.body).data).toMatchObject({ from: 'viewer', to: 'member' });
    expect((await authed(t.app, 'GET', `/v1/webhook-endpoints/${ep.id}/deliveries`, admin)).json().data).toHaveLength(1);
  });

  it('a delivery fanned out while the tool was enabled is not sent once it is disabled: it fails and says why; the disabling itself is sent', async () => {
    await setEnabled(t, enabledOrg, tool, true);
    const ep = await registerEndpoint(await toolToken(t, tool), { event_types: ['member.role_changed', 'organization_tool.disabled'] });
    await changeRole(enabledOrg, 'viewer');
    await worker.dispatch();
    await setEnabled(t, enabledOrg, tool, false);
    await worker.runOnce();
    // Only the event of its own disabling reaches the tool.
    expect(receiver.received.map((r) => JSON.parse(r.body).type)).toEqual(['organization_tool.disabled']);
    expect(JSON.parse(receiver.received[0]!.body).data).toEqual({ tool_id: tool.id });
    const deliveries = (await authed(t.app, 'GET', `/v1/webhook-endpoints/${ep.id}/deliveries`, admin)).json().data;
    const d = deliveries.find((x: { status: string }) => x.status === 'failed');
    expect(d).toMatchObject({ status: 'failed', attempts: 0, last_error: TOOL_WITHDRAWN });
    // Neither a retry nor a replay sends it while the tool is disabled.
    const token = await toolToken(t, tool);
    expect((await authed(t.app, 'POST', `/v1/webhook-endpoints/${ep.id}/deliveries/${d.id}/retry`, token)).statusCode).toBe(202);
    const replayed = await authed(t.app, 'POST', `/v1/webhook-endpoints/${ep.id}/replay`, token, { since: '2000-01-01T00:00:00Z' });
    expect(replayed.json()).toEqual({ replayed: 1 }); // the disabling event only
    receiver.received.length = 0;
    await worker.runOnce();
    expect(receiver.received.map((r) => JSON.parse(r.body).type)).toEqual(['organization_tool.disabled']);
    await changeRole(enabledOrg, 'member');
  });

  it('a tool cannot see or manage another tool’s endpoints: each answers 404', async () => {
    await setEnabled(t, enabledOrg, tool, true);
    const mine = await registerEndpoint(await toolToken(t, tool));
    const theirs = await registerEndpoint(await toolToken(t, otherTool));
    expect(theirs.tool_id).toBe(otherTool.id);
    const platform = await registerEndpoint(admin);
    const token = await toolToken(t, tool, enabledOrg.id);
    const list = await authed(t.app, 'GET', '/v1/webhook-endpoints', token);
    expect(list.json().data.map((e: { id: string }) => e.id)).toEqual([mine.id]);
    for (const id of [theirs.id, platform.id]) {
      const attempts: Array<[string, string, unknown?]> = [
        ['GET', `/v1/webhook-endpoints/${id}`],
        ['PATCH', `/v1/webhook-endpoints/${id}`, { status: 'disabled' }],
        ['POST', `/v1/webhook-endpoints/${id}/rotate-secret`],
        ['GET', `/v1/webhook-endpoints/${id}/deliveries`],
        ['POST', `/v1/webhook-endpoints/${id}/deliveries/${id}/retry`],
        ['POST', `/v1/webhook-endpoints/${id}/replay`, { since: '2000-01-01T00:00:00Z' }],
        ['DELETE', `/v1/webhook-endpoints/${id}`],
      ];
      for (const [method, url, body] of attempts) {
        const res = await authed(t.app, method, url, token, body);
        expect(res.statusCode, `${method} ${url}`).toBe(404);
      }
    }
    // Registering an endpoint for another tool is refused; the platform admin still sees every endpoint unchanged.
    expect(
      (
        await authed(t.app, 'POST', '/v1/webhook-endpoints', token, {
          url: receiver.url,
          event_types: ['member.added'],
          tool_id: otherTool.id,
        })
      ).statusCode,
    ).toBe(403);
    const seen = (await authed(t.app, 'GET', '/v1/webhook-endpoints?limit=100', admin)).json().data as Array<{
      id: string;
      status: string;
    }>;
    expect(seen.map((e) => e.id).sort()).toEqual([mine.id, theirs.id, platform.id].sort());
    expect(seen.every((e) => e.status === 'enabled')).toBe(true);
    // Its own endpoint: every route answers.
    expect((await authed(t.app, 'PATCH', `/v1/webhook-endpoints/${mine.id}`, token, { event_types: ['member.added'] })).statusCode).toBe(
      200,
    );
    expect((await authed(t.app, 'POST', `/v1/webhook-endpoints/${mine.id}/rotate-secret`, token)).statusCode).toBe(200);
    expect((await authed(t.app, 'DELETE', `/v1/webhook-endpoints/${mine.id}`, token)).statusCode).toBe(204);
  });

  it('a platform admin binds an endpoint to an existing tool only', async () => {
    const ep = await registerEndpoint(admin, { tool_id: tool.id });
    expect(ep.tool_id).toBe(tool.id);
    const res = await authed(t.app, 'POST', '/v1/webhook-endpoints', admin, {
      url: receiver.url,
      event_types: ['member.added'],
      tool_id: '01900000-0000-7000-8000-000000000000',
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().code).toBe('VALIDATION_FAILED');
    // The tool manages the endpoint the admin bound to it.
    expect((await authed(t.app, 'GET', `/v1/webhook-endpoints/${ep.id}`, await toolToken(t, tool))).statusCode).toBe(200);
  });

  it('the tool pull API sees only the organizations where the tool is enabled, over the API and in SQL', async () => {
    await setEnabled(t, enabledOrg, tool, true);
    await changeRole(enabledOrg, 'viewer');
    await changeRole(otherOrg, 'viewer');
    for (const token of [await toolToken(t, tool), await toolToken(t, tool, enabledOrg.id)]) {
      const res = await authed(t.app, 'GET', '/v1/events?types=member.role_changed', token);
      expect(res.statusCode).toBe(200);
      const orgs = new Set((res.json().data as Array<{ organization_id: string }>).map((e) => e.organization_id));
      expect([...orgs]).toEqual([enabledOrg.id]);
    }
    // Another organization's event id is not a position the tool can page from.
    const otherEvent = (await authed(t.app, 'GET', `/v1/organizations/${otherOrg.id}/events`, otherOrg.owner.access)).json().data[0].id;
    expect((await authed(t.app, 'GET', `/v1/events?after=${otherEvent}`, await toolToken(t, tool))).statusCode).toBe(400);
    // The database itself: as the tool, the role sees the enabled organization's events only; another tool, none.
    expect(await eventsSeenInSql(t, tool.id)).toEqual([enabledOrg.id]);
    expect(await eventsSeenInSql(t, otherTool.id)).toEqual([]);
    // Disabled: nothing of the organization any more but the event of its own disabling.
    await setEnabled(t, enabledOrg, tool, false);
    const after = (await authed(t.app, 'GET', '/v1/events', await toolToken(t, tool))).json().data as Array<{ type: string }>;
    expect(after.map((e) => e.type)).toEqual(['organization_tool.disabled']);
    await changeRole(enabledOrg, 'member');
    await changeRole(otherOrg, 'member');
  });

  it('a user who is not a platform admin still reads no events across organizations', async () => {
    expect((await authed(t.app, 'GET', '/v1/events', enabledOrg.owner.access)).statusCode).toBe(403);
    expect((await authed(t.app, 'GET', '/v1/webhook-endpoints', enabledOrg.owner.access)).statusCode).toBe(403);
  });
});
