// The README's first session, run as written with bash against a started server (the
// built server, embedded engine, a temporary DATA_DIR), so the README stays true.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ServerProcess, startServerProcess } from './helpers/server-process.js';

const README = new URL('../../../README.md', import.meta.url);

/** The fenced bash block under "## A first session". */
async function firstSessionBlock(): Promise<string> {
  const text = await readFile(README, 'utf8');
  const section = text.slice(text.indexOf('## A first session'));
  const block = /```bash\n([\s\S]*?)```/.exec(section.slice(0, section.indexOf('\n## ', 3)))?.[1];
  if (!block) throw new Error('README.md has no bash block under "## A first session"');
  return block;
}

describe("the README's first session", () => {
  let server: ServerProcess;
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'tenantry-readme-'));
    server = await startServerProcess({ DATA_DIR: dataDir });
  }, 180_000);
  afterAll(async () => {
    await server?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('runs top to bottom in bash and each step answers what it says', async () => {
    const block = await firstSessionBlock();
    // The one change: the server's address instead of the default port.
    expect(block).toContain('API=http://127.0.0.1:3000\n');
    const script = block.replace('API=http://127.0.0.1:3000\n', `API=${server.base}\n`);
    const marker = '\n--- captured ---\n';
    const { stdout } = await promisify(execFile)('bash', [
      '-c',
      `${script}\nprintf '${marker.replaceAll('\n', '\\n')}%s\\n%s\\n%s\\n' "$ACCESS" "$REFRESH" "$ORG"`,
    ]);
    const [printed, captured] = stdout.split(marker);
    const [access, refresh, org] = captured!.trim().split('\n');

    expect(org).toMatch(/^[0-9a-f-]{36}$/);
    // The refreshed access token is scoped to the new organization, with the owner's role.
    expect(decodeJwt(access!)).toMatchObject({ org_id: org, org_role: 'owner' });
    // The last invitation answer is printed by jq: the invitation, with its link.
    const invitation = JSON.parse(printed!);
    expect(invitation).toMatchObject({ email: 'grace@example.com', role: 'admin', status: 'pending' });
    expect(invitation.accept_url).toContain('/invitations/accept?token=inv_');

    // REFRESH holds the rotated token: it refreshes once more, and then it is spent.
    const refreshWith = (token: string) =>
      fetch(`${server.base}/oauth/token`, {
        method: 'POST',
        body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: token }),
      });
    const again = await refreshWith(refresh!);
    expect(again.status).toBe(200);
    expect((await refreshWith(refresh!)).status).toBe(400);
  });
});
