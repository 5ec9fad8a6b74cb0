import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERRORS, type ErrorCode } from '../src/http/errors.js';
import { startApp, type TestApp } from './helpers/app.js';
import { type OpenApiDocument, operations } from './helpers/openapi.js';

const ROOT = resolve(import.meta.dirname, '../../..');
const REDOCLY = join(ROOT, 'node_modules/.bin/redocly');

// Operations that never touch the database.
const NO_DATABASE = new Set([
  'getHealth',
  'getMetrics',
  'getOpenApiDocument',
  'getJwks',
  'getAuthorizationServerMetadata',
  'listEventTypes',
]);
// Operations that take no input and so have no client error (redocly.yaml turns the rule off for them).
const NO_CLIENT_ERROR = new Set([...NO_DATABASE, 'getReadiness', 'getWebhookKeys']);

interface LintReport {
  totals: { errors: number; warnings: number };
  problems: Array<{ ruleId: string; message: string; location: Array<{ pointer: string }> }>;
}

describe('the OpenAPI document', () => {
  let t: TestApp;
  let doc: OpenApiDocument;
  beforeAll(async () => {
    // A public URL like a deployment's: redocly warns about a localhost server.
    t = await startApp('pglite', { publicUrl: 'https://api.tenantry.test' });
    const res = await t.app.inject({ method: 'GET', url: '/openapi.json', headers: { host: 'api.tenantry.test' } });
    expect(res.statusCode).toBe(200);
    doc = res.json();
  });
  afterAll(() => t.close());

  it('passes redocly lint (redocly.yaml) with no error and no warning', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tenantry-openapi-'));
    try {
      const file = join(dir, 'openapi.json');
      await writeFile(file, JSON.stringify(doc, null, 2));
      // redocly exits non-zero when it finds errors; the JSON report on stdout is read either way.
      const stdout = await promisify(execFile)(REDOCLY, ['lint', file, '--config', join(ROOT, 'redocly.yaml'), '--format=json'], {
        env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
        maxBuffer: 16 * 1024 * 1024,
      }).then(
        (r) => r.stdout,
        (err: { stdout?: string }) => err.stdout ?? '',
      );
      const report = JSON.parse(stdout) as LintReport;
      const found = report.problems.map((p) => `${p.ruleId} at ${p.location[0]?.pointer}: ${p.message}`);
      expect(found).toEqual([]);
      expect(report.totals).toMatchObject({ errors: 0, warnings: 0 });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('gives every operation a unique camelCase operationId, a summary and a description', () => {
    const ids = operations(doc).map(({ op }) => op.operationId);
    expect(ids.every((id) => typeof id === 'string' && /^[a-z][a-zA-Z]+$/.test(id))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    for (const { method, path, op } of operations(doc)) {
      expect(op.summary, `${method} ${path}`).toBeTruthy();
      expect(op.description, `${method} ${path}`).toBeTruthy();
    }
  });

  it('documents the operations endpoints, the JWK Set and the metadata with response schemas', () => {
    for (const path of [
      '/healthz',
      '/readyz',
      '/metrics',
      '/openapi.json',
      '/.well-known/jwks.json',
      '/.well-known/oauth-authorization-server',
    ]) {
      expect(doc.paths[path]?.get, path).toBeDefined();
    }
    expect(doc.paths['/metrics']!.get!.responses['200']!.content).toHaveProperty('text/plain');
    expect(doc.paths['/.well-known/jwks.json']!.get!.responses['200']!.content!['application/json']!.schema).toEqual({
      $ref: '#/components/schemas/JWKS',
    });
    expect(doc.paths['/.well-known/oauth-authorization-server']!.get!.responses['200']!.content!['application/json']!.schema).toEqual({
      $ref: '#/components/schemas/AuthorizationServerMetadata',
    });
  });

  it('names a component schema for every resource and error body, and the operations refer to them', () => {
    expect(Object.keys(doc.components.schemas)).toEqual(
      expect.arrayContaining([
        'Organization',
        'OrganizationPage',
        'Member',
        'MemberPage',
        'Invitation',
        'InvitationPage',
        'CreatedInvitation',
        'AcceptedInvitation',
        'AuditEvent',
        'AuditEventPage',
        'Me',
        'User',
        'TokenResponse',
        'SignupResponse',
        'Problem',
        'ErrorCode',
        'FieldError',
        'OAuthError',
        'JWKS',
        'JWK',
        'AuthorizationServerMetadata',
        'Health',
      ]),
    );
    expect(Object.keys(doc.components.schemas).filter((name) => name.startsWith('def-'))).toEqual([]);
    const listMembers = doc.paths['/v1/organizations/{org_id}/members']!.get!;
    expect(listMembers.responses['200']!.content!['application/json']!.schema).toEqual({ $ref: '#/components/schemas/MemberPage' });
  });

  it('gives every response a description of its own', () => {
    for (const { method, path, op } of operations(doc)) {
      for (const [status, response] of Object.entries(op.responses)) {
        expect(response.description, `${method} ${path} ${status}`).toBeTruthy();
        expect(response.description, `${method} ${path} ${status}`).not.toBe('Default Response');
      }
    }
  });

  it('declares errors as problem+json listing the catalogue codes of their status; OAuth errors as RFC 6749 bodies', () => {
    for (const { method, path, op } of operations(doc)) {
      const where = `${method} ${path}`;
      const statuses = Object.keys(op.responses).map(Number);
      const errors = statuses.filter((s) => s >= 400);
      if (!NO_CLIENT_ERROR.has(op.operationId!))
        expect(
          errors.some((s) => s < 500),
          `${where} declares a 4xx`,
        ).toBe(true);
      if (!NO_DATABASE.has(op.operationId!)) expect(errors, `${where} declares 503`).toContain(503);
      if (op.requestBody) expect(errors, `${where} takes a body`).toEqual(expect.arrayContaining([413, 415]));
      for (const status of [429, 503].filter((s) => errors.includes(s))) {
        expect(op.responses[String(status)]!.headers, `${where} ${status}`).toHaveProperty('Retry-After');
      }
      for (const status of errors) {
        const content = op.responses[String(status)]!.content!;
        if (path.startsWith('/oauth/')) {
          expect(content['application/json']!.schema, where).toEqual({ $ref: '#/components/schemas/OAuthError' });
          continue;
        }
        expect(Object.keys(content), `${where} ${status}`).toEqual(['application/problem+json']);
        const schema = content['application/problem+json']!.schema as {
          allOf: [{ $ref: string }, { properties: { code: { enum: ErrorCode[] } } }];
        };
        expect(schema.allOf[0]).toEqual({ $ref: '#/components/schemas/Problem' });
        const codes = schema.allOf[1].properties.code.enum;
        expect(codes.length, `${where} ${status}`).toBeGreaterThan(0);
        for (const code of codes) expect(ERRORS[code]?.status, `${where} ${status} ${code}`).toBe(status);
      }
    }
  });

  it('lists the new wrong-user answer on acceptInvitation', () => {
    const accept = doc.paths['/v1/invitations/accept']!.post!;
    const schema = accept.responses['403']!.content!['application/problem+json']!.schema as {
      allOf: [unknown, { properties: { code: { enum: string[] } } }];
    };
    expect(schema.allOf[1].properties.code.enum).toContain('INVITATION_EMAIL_MISMATCH');
  });
});
