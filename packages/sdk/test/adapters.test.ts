import type { AddressInfo } from 'node:net';
import express from 'express';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTenantry,
  expressRequirePermission,
  principalOf,
  refusalOf,
  requirePermission,
  type Tenantry,
  tenantryExpress,
  tenantryFastify,
} from '../src/index.js';
import { AUDIENCE, ISSUER, type Issuer, startIssuer } from './helpers/issuer.js';

// The same routes in each framework: a contact list in an organization (a shareable scope,
// crm:contacts:read), a contact write (crm:contacts:write, not shareable), and a public route.
// Each is served over real HTTP on loopback and called with real tokens.

type Serve = (tenantry: Tenantry) => Promise<{ url: string; close(): Promise<unknown> }>;

const serveFastify: Serve = async (tenantry) => {
  const app = Fastify();
  await app.register(tenantryFastify, { tenantry });
  app.get('/health', { config: { tenantry: false } }, async () => ({ ok: true }));
  app.get('/orgs/:org_id/contacts', { config: { tenantry: { permissions: ['crm:contacts:read'], shareable: true } } }, async (request) => {
    const p = principalOf(request);
    return { org: p.orgId, by: p.id, type: p.type };
  });
  app.post('/orgs/:org_id/contacts', async (request) => {
    requirePermission(principalOf(request), 'crm:contacts:write');
    return { written: true };
  });
  app.setErrorHandler((err, _request, reply) => {
    const refusal = refusalOf(err);
    if (!refusal) return reply.code(500).send({ code: 'INTERNAL' });
    return reply.code(refusal.status).headers(refusal.headers).send(refusal.body);
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  return { url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`, close: () => app.close() };
};

const serveExpress: Serve = async (tenantry) => {
  const app = express();
  app.get('/health', (_req, res) => void res.json({ ok: true }));
  app.get('/orgs/:org_id/contacts', tenantryExpress(tenantry, { permissions: ['crm:contacts:read'], shareable: true }), (req, res) => {
    const p = (req as unknown as { principal: { orgId: string; id: string; type: string } }).principal;
    res.json({ org: p.orgId, by: p.id, type: p.type });
  });
  app.post('/orgs/:org_id/contacts', tenantryExpress(tenantry), expressRequirePermission('crm:contacts:write'), (_req, res) => {
    res.json({ written: true });
  });
  const server = await new Promise<ReturnType<typeof app.listen>>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise((r) => server.close(r)) };
};

const servePlain: Serve = async (tenantry) => {
  const { createServer } = await import('node:http');
  const server = createServer(async (req, res) => {
    const answer = (status: number, body: unknown, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
      res.writeHead(status, headers).end(JSON.stringify(body));
    if (req.url === '/health') return answer(200, { ok: true });
    const m = /^\/orgs\/([^/]+)\/contacts$/.exec(req.url ?? '');
    if (!m) return answer(404, {});
    try {
      const write = req.method === 'POST';
      const p = await tenantry.authenticate(
        req,
        write ? { permissions: ['crm:contacts:write'] } : { permissions: ['crm:contacts:read'], shareable: true },
        m[1],
      );
      return answer(200, write ? { written: true } : { org: p.orgId, by: p.id, type: p.type });
    } catch (err) {
      const refusal = refusalOf(err);
      if (!refusal) return answer(500, { code: 'INTERNAL' });
      return answer(refusal.status, refusal.body, refusal.headers);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise((r) => server.close(r)) };
};

describe.each<[string, Serve]>([
  ['fastify', serveFastify],
  ['express', serveExpress],
  ['plain', servePlain],
])('the %s adapter', (_name, serve) => {
  let issuer: Issuer;
  let tool: { url: string; close(): Promise<unknown> };
  const org = crypto.randomUUID();
  beforeAll(async () => {
    issuer = await startIssuer();
    tool = await serve(createTenantry({ issuer: ISSUER, audience: AUDIENCE, jwksUri: issuer.jwksUrl }));
  });
  afterAll(async () => {
    await tool?.close();
    await issuer?.close();
  });

  const call = (path: string, token?: string, method = 'GET') =>
    fetch(`${tool.url}${path}`, { method, headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });

  it('serves the principal of a valid token on its organization’s route', async () => {
    const token = await issuer.mint({ org_id: org });
    const res = await call(`/orgs/${org}/contacts`, token);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ org, type: 'user' });
  });

  it('answers 401 problem+json with a Bearer challenge without a valid token', async () => {
    for (const auth of [undefined, 'not-a-jwt', await issuer.mint({ org_id: org, aud: 'https://billing.tools.test' })]) {
      const res = await call(`/orgs/${org}/contacts`, auth);
      expect(res.status).toBe(401);
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(await res.json()).toMatchObject({ status: 401, code: 'UNAUTHENTICATED' });
    }
  });

  it('answers 404 on another organization’s route, as if it did not exist', async () => {
    const res = await call(`/orgs/${crypto.randomUUID()}/contacts`, await issuer.mint({ org_id: org }));
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ code: 'NOT_FOUND' });
  });

  it('answers 403 without the route’s permission (requirePermission)', async () => {
    const reader = await issuer.mint({ org_id: org, permissions: ['crm:contacts:read'] });
    expect((await call(`/orgs/${org}/contacts`, reader, 'POST')).status).toBe(403);
    const nobody = await issuer.mint({ org_id: org, permissions: [] });
    expect((await call(`/orgs/${org}/contacts`, nobody)).status).toBe(403);
    const writer = await issuer.mint({ org_id: org, permissions: ['crm:contacts:write'] });
    expect((await call(`/orgs/${org}/contacts`, writer, 'POST')).status).toBe(200);
  });

  it('accepts a grant-bound token only on a route that declares its scope shareable', async () => {
    const grantBound = await issuer.mint({
      principal: 'tool',
      sub: 'billing',
      client_id: 'billing',
      sid: undefined,
      org_id: org,
      grant_id: crypto.randomUUID(),
      permissions: ['crm:contacts:read', 'crm:contacts:write'],
    });
    const read = await call(`/orgs/${org}/contacts`, grantBound);
    expect(read.status).toBe(200);
    expect(await read.json()).toMatchObject({ type: 'tool', by: 'billing' });
    const write = await call(`/orgs/${org}/contacts`, grantBound, 'POST');
    expect(write.status).toBe(403);
  });

  it('leaves a public route public', async () => {
    expect((await call('/health')).status).toBe(200);
  });
});
