import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import openapiTS, { astToString } from 'openapi-typescript';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from './helpers/app.js';

const ROOT = resolve(import.meta.dirname, '../../..');

// A program written against the generated types, as a platform's developer would write it.
// The @ts-expect-error lines fail the compile if the types were too loose to catch the mistake.
const USAGE = `
import createClient from 'openapi-fetch';
import type { components, paths } from './api.js';

type Member = components['schemas']['Member'];

export async function firstSession(baseUrl: string, email: string) {
  const client = createClient<paths>({ baseUrl });
  const signup = await client.POST('/v1/auth/signup', {
    body: { email, password: 'correct horse battery staple', name: 'Client Developer' },
  });
  if (!signup.data) throw new Error('signup failed: ' + JSON.stringify(signup.error));
  const headers = { authorization: 'Bearer ' + signup.data.access_token };

  const org = await client.POST('/v1/organizations', {
    headers,
    body: { name: 'Generated Client Co', industry: 'technology', size: '11-50' },
  });
  if (!org.data) throw new Error('createOrganization failed: ' + JSON.stringify(org.error));
  const status: 'active' | 'suspended' | 'archived' = org.data.status;

  const members = await client.GET('/v1/organizations/{org_id}/members', {
    headers,
    params: { path: { org_id: org.data.id }, query: { limit: 10 } },
  });
  if (!members.data) throw new Error('listMembers failed: ' + JSON.stringify(members.error));
  const list: Member[] = members.data.data;

  // @ts-expect-error industry is required
  await client.POST('/v1/organizations', { headers, body: { name: 'No Industry' } });
  const wrong = await client.POST('/v1/organizations', {
    headers,
    body: {
      name: 'Wrong Size',
      industry: 'technology',
      // @ts-expect-error not one of the sizes
      size: 'huge',
    },
  });
  const problem = wrong.error;
  const code: 'VALIDATION_FAILED' | 'MALFORMED_JSON' | 'UNAUTHENTICATED' | 'FORBIDDEN' | 'EMAIL_NOT_VERIFIED' | 'SLUG_TAKEN'
    | 'IDEMPOTENCY_KEY_REUSED' | 'IDEMPOTENCY_KEY_IN_USE' | 'PAYLOAD_TOO_LARGE' | 'UNSUPPORTED_MEDIA_TYPE' | 'SERVICE_UNAVAILABLE' | undefined = problem?.code;

  return { user: signup.data.user, org: org.data, status, members: list, wrong: { status: wrong.response.status, code, problem } };
}
`;

describe('a client generated from the OpenAPI document', () => {
  let t: TestApp;
  let baseUrl: string;
  let dir: string;
  beforeAll(async () => {
    t = await startApp('pglite');
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    baseUrl = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
    dir = await mkdtemp(join(tmpdir(), 'tenantry-client-'));
  });
  afterAll(async () => {
    await t.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('type-checks against the generated types and signs up, creates an organization and lists its members over HTTP', async () => {
    const document = await (await fetch(`${baseUrl}/openapi.json`)).text();
    await writeFile(join(dir, 'api.d.ts'), astToString(await openapiTS(document)));
    await writeFile(join(dir, 'usage.ts'), USAGE);
    await writeFile(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
    // The usage program imports openapi-fetch as a dependent project would.
    await symlink(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
    const outDir = join(dir, 'out');
    await mkdir(outDir);

    const program = ts.createProgram([join(dir, 'usage.ts')], {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      strict: true,
      noUncheckedIndexedAccess: true,
      skipLibCheck: true,
      types: [],
      lib: ['lib.es2023.d.ts', 'lib.dom.d.ts'],
      outDir,
    });
    const emitted = program.emit();
    const diagnostics = [...ts.getPreEmitDiagnostics(program), ...emitted.diagnostics].map((d) =>
      ts.flattenDiagnosticMessageText(d.messageText, '\n'),
    );
    expect(diagnostics).toEqual([]);

    const usage = (await import(pathToFileURL(join(outDir, 'usage.js')).href)) as {
      firstSession(
        baseUrl: string,
        email: string,
      ): Promise<{
        user: { id: string; email: string };
        org: { id: string; name: string; industry: string; size: string | null };
        status: string;
        members: Array<{ user_id: string; role: string }>;
        wrong: { status: number; code: string | undefined; problem: { errors?: Array<{ path: string }> } | undefined };
      }>;
    };
    const email = `client-${Date.now()}@example.com`;
    const result = await usage.firstSession(baseUrl, email);
    expect(result.user.email).toBe(email);
    expect(result.org).toMatchObject({ name: 'Generated Client Co', industry: 'technology', size: '11-50' });
    expect(result.status).toBe('active');
    expect(result.members).toEqual([expect.objectContaining({ user_id: result.user.id, role: 'owner' })]);
    expect(result.wrong.status).toBe(400);
    expect(result.wrong.code).toBe('VALIDATION_FAILED');
    expect(result.wrong.problem?.errors?.map((e) => e.path)).toEqual(['/body/size']);
  });
});
