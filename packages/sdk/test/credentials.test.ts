import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClientCredentials } from '../src/index.js';

// Stands in for Tenantry's POST /oauth/token (client_credentials), which records what it was asked.
describe('ClientCredentials', () => {
  let server: Server;
  let url: string;
  const asked: Array<{ authorization?: string; form: URLSearchParams }> = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        asked.push({ authorization: req.headers.authorization, form: new URLSearchParams(body) });
        if (req.headers.authorization !== `Basic ${Buffer.from('billing%3Aone:s%C3%A9cret').toString('base64')}`) {
          return void res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'invalid_client' }));
        }
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ access_token: `t${asked.length}`, token_type: 'Bearer', expires_in: 300 }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/oauth/token`;
  });
  afterAll(() => new Promise((r) => server.close(r)));

  it('asks with client_secret_basic (form-encoded id and secret) and the organization, resource and scope, and keeps the token until 30 s before it expires', async () => {
    let clock = Date.now();
    const creds = new ClientCredentials({
      tokenEndpoint: url,
      clientId: 'billing:one',
      clientSecret: 'sécret',
      organizationId: 'org-1',
      resource: 'https://crm.example',
      scope: 'crm:contacts:read',
      now: () => clock,
    });
    const tokens = await Promise.all(Array.from({ length: 5 }, () => creds.token()));
    expect(new Set(tokens).size).toBe(1);
    expect(asked).toHaveLength(1);
    expect(Object.fromEntries(asked[0]!.form)).toEqual({
      grant_type: 'client_credentials',
      organization_id: 'org-1',
      scope: 'crm:contacts:read',
      resource: 'https://crm.example',
    });
    clock += 269_000;
    expect(await creds.token()).toBe(tokens[0]);
    clock += 2_000;
    expect(await creds.token()).not.toBe(tokens[0]);
    expect(asked).toHaveLength(2);
  });

  it('throws with the OAuth error when refused', async () => {
    const creds = new ClientCredentials({ tokenEndpoint: url, clientId: 'billing', clientSecret: 'wrong' });
    await expect(creds.token()).rejects.toThrow('invalid_client');
  });
});
