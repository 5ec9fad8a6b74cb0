import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUDIENCE, ISSUER, type Issuer, startIssuer } from './helpers/issuer.js';

const run = promisify(execFile);
const SDK = resolve(import.meta.dirname, '..');

// The README's quick start, as a tool's developer would paste it into a new project.
const QUICK_START = `import { createTenantry } from '@tenantry/sdk';
const tenantry = createTenantry({ issuer: process.env.TENANTRY_ISSUER, audience: process.env.TOOL_AUDIENCE, jwksUri: process.env.TENANTRY_JWKS });
const request = { headers: { authorization: \`Bearer \${process.env.TOKEN}\` } };
const principal = await tenantry.authenticate(request, { permissions: ['crm:contacts:read'] });
console.log(JSON.stringify(principal));
`;

describe('the packed SDK', () => {
  let dir: string;
  let issuer: Issuer;
  let tarball: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tenantry-sdk-pack-'));
    issuer = await startIssuer();
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', dir], { cwd: SDK });
    tarball = join(dir, (JSON.parse(stdout) as Array<{ filename: string }>)[0]!.filename);
  });
  afterAll(async () => {
    await issuer?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('holds the built code, its types and the README, and no sources or tests', async () => {
    const { stdout } = await run('tar', ['-tzf', tarball]);
    const files = stdout.trim().split('\n');
    expect(files).toContain('package/dist/index.js');
    expect(files).toContain('package/dist/index.d.ts');
    expect(files).toContain('package/README.md');
    expect(files.filter((f) => /^package\/(src|test|bench|scripts)\//.test(f) || f.endsWith('.test.ts'))).toEqual([]);
  });

  it('installs into an empty project and its five-line quick start verifies a token', async () => {
    const project = join(dir, 'tool');
    await run('mkdir', ['-p', project]);
    await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'a-tool', private: true, type: 'module' }));
    await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball], { cwd: project });
    expect((await readdir(join(project, 'node_modules'))).sort()).toEqual(['.package-lock.json', '@tenantry']);
    await writeFile(join(project, 'quick-start.mjs'), QUICK_START);
    const token = await issuer.mint();
    const { stdout } = await run('node', ['quick-start.mjs'], {
      cwd: project,
      env: { ...process.env, TENANTRY_ISSUER: ISSUER, TOOL_AUDIENCE: AUDIENCE, TENANTRY_JWKS: issuer.jwksUrl, TOKEN: token },
    });
    expect(JSON.parse(stdout)).toMatchObject({ type: 'user', permissions: ['crm:contacts:read', 'data:read'] });
    // A forged token makes the same program fail.
    const forged = `${token.slice(0, -6)}AAAAAA`;
    await expect(
      run('node', ['quick-start.mjs'], {
        cwd: project,
        env: { ...process.env, TENANTRY_ISSUER: ISSUER, TOOL_AUDIENCE: AUDIENCE, TENANTRY_JWKS: issuer.jwksUrl, TOKEN: forged },
      }),
    ).rejects.toMatchObject({ stderr: expect.stringContaining('TenantryAuthError') });
  });
});
