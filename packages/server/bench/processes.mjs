// Child processes of a bench run: every one is tracked, so that a failure, an
// interrupt or the normal end stops them all (SIGTERM, then SIGKILL).
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

const OUTPUT_KEEP = 64 * 1024;
const children = new Set();

// Last resort when the bench itself dies (an uncaught error, a broken stderr):
// 'exit' handlers run synchronously, and kill() is synchronous.
process.on('exit', () => {
  for (const c of children) c.proc.kill('SIGKILL');
});

/** Starts `command`, keeping the tail of its output for error messages. */
export function startChild(name, command, args, { env = process.env, cwd = process.cwd() } = {}) {
  const proc = spawn(command, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk) => {
    output += chunk.toString();
    if (output.length > OUTPUT_KEEP) output = output.slice(-OUTPUT_KEEP);
  };
  proc.stdout.on('data', keep);
  proc.stderr.on('data', keep);
  const child = {
    name,
    proc,
    output: () => output,
    exited: new Promise((resolve) => {
      proc.on('error', (err) => {
        keep(`\n[${name}] failed to start: ${err.message}\n`);
        resolve({ code: null, signal: null, error: err });
      });
      proc.on('exit', (code, signal) => resolve({ code, signal }));
    }),
  };
  child.exited.then(() => children.delete(child));
  children.add(child);
  return child;
}

/** Waits for a child to end on its own, killing it after `timeoutMs`. */
export async function waitChild(child, timeoutMs) {
  const ended = await Promise.race([child.exited, sleep(timeoutMs).then(() => null)]);
  if (ended) return ended;
  await stopChild(child);
  throw new Error(`${child.name} did not finish within ${Math.round(timeoutMs / 1000)} s; it was stopped`);
}

/** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
export async function stopChild(child, graceMs = 5000) {
  if (child.proc.exitCode !== null || child.proc.signalCode !== null || child.proc.pid === undefined) return child.exited;
  child.proc.kill('SIGTERM');
  const ended = await Promise.race([child.exited, sleep(graceMs).then(() => null)]);
  if (ended) return ended;
  process.stderr.write(`bench: ${child.name} did not stop within ${graceMs / 1000} s of SIGTERM; sending SIGKILL\n`);
  child.proc.kill('SIGKILL');
  return Promise.race([child.exited, sleep(2000)]);
}

export const childPids = () => new Set([...children].map((c) => c.proc.pid).filter((pid) => pid !== undefined));

export const stopAll = () => Promise.all([...children].map((c) => stopChild(c)));

/** A port that was free a moment ago on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Polls `url` until it answers 2xx; fails when the child exits or `timeoutMs` passes. */
export async function waitReady(child, url, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  let exited = null;
  child.exited.then((e) => (exited = e));
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (exited)
      throw new Error(`${child.name} exited (code ${exited.code}, signal ${exited.signal}) before it was ready:\n${child.output()}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (res.ok) return;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = err.cause?.code ?? err.message;
    }
    await sleep(100);
  }
  throw new Error(`${child.name} was not ready at ${url} within ${timeoutMs / 1000} s (last: ${last}):\n${child.output()}`);
}
