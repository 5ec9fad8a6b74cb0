// Start-up on the embedded engine, as a newcomer sees it: the time from `npm start`
// (at the repository root) to the first 2xx of /healthz, and the server's resident
// memory once it has been idle for a while. Measured twice on one fresh DATA_DIR:
// the first start creates the database, a later start opens it.
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, startChild, stopChild } from './processes.mjs';

const IDLE_MS = 5000;

/** The pids below `pid` (Linux /proc). */
function descendants(pid) {
  const out = [];
  let tasks = [];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const t of tasks) {
    let children = '';
    try {
      children = readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8');
    } catch {}
    for (const c of children.split(' ').filter(Boolean)) out.push(Number(c), ...descendants(Number(c)));
  }
  return out;
}

const cmdline = (pid) => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return [];
  }
};

const rssMb = (pid) => {
  const kb = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return kb === undefined ? null : Math.round(Number(kb) / 1024);
};

async function startOnce(repoRoot, dataDir) {
  const port = await freePort();
  const env = { ...process.env, DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn' };
  delete env.DATABASE_URL;
  delete env.REDIS_URL;
  const begin = performance.now();
  const child = startChild('npm start', 'npm', ['start', '--silent'], { env, cwd: repoRoot });
  let exited = false;
  child.exited.then(() => (exited = true));
  const deadline = begin + 120_000;
  let ms = null;
  while (performance.now() < deadline && !exited) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(1000) });
      if (res.ok) {
        ms = Math.round(performance.now() - begin);
        break;
      }
    } catch {}
    await sleep(10);
  }
  if (ms === null) {
    await stopChild(child);
    throw new Error(`npm start did not answer /healthz:\n${child.output()}`);
  }
  const server = descendants(child.proc.pid).find((p) => cmdline(p).some((a) => /(dist\/main|bin\/tenantry)\.js$/.test(a)));
  await sleep(IDLE_MS);
  const rss = server === undefined ? null : rssMb(server);
  // npm does not always pass a signal on: stop the server itself (or, not found, everything below npm).
  for (const pid of server === undefined ? descendants(child.proc.pid) : [server]) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {}
  }
  await stopChild(child, 10_000);
  return { ms, rssMb: rss };
}

/** { first, later }: each { ms (npm start → /healthz), rssMb (after IDLE_MS idle) }. */
export async function measureStartup(repoRoot) {
  const dataDir = await mkdtemp(join(tmpdir(), 'tenantry-startup-'));
  try {
    const first = await startOnce(repoRoot, dataDir);
    const later = await startOnce(repoRoot, dataDir);
    return { first, later, idleMs: IDLE_MS };
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}
