// How much of the machine's CPU went to processes that are not part of the run
// (a test suite, a build) while a scenario ran: on a shared machine that, not the
// code, can be what moves the figures. Linux only; elsewhere nothing is measured.
import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

function machineTicks() {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1, 9).map(Number);
  return { total: cpu.reduce((a, b) => a + b, 0), idle: cpu[3] + cpu[4] };
}

/** user + system ticks of every process that belongs to the run: ours, our children, PostgreSQL. */
function runTicks(ownPids) {
  let ticks = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const pid = Number(entry);
    if (pid !== process.pid && !ownPids.has(pid) && comm !== 'postgres') continue;
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    ticks += Number(fields[11]) + Number(fields[12]); // utime, stime
  }
  return ticks;
}

function snapshot(ownPids) {
  return { ...machineTicks(), run: runTicks(ownPids) };
}

/**
 * Measures while `work` runs for about `seconds`: from half a second in to half a
 * second before the end, so every process of the scenario lives across the window.
 * Resolves with work's result and `foreign`, the share of all CPU time used by
 * other processes (null when it cannot be measured).
 */
export async function withForeignCpu(seconds, ownPids, work) {
  let a;
  let b;
  const measure = (async () => {
    if (seconds < 2) return;
    try {
      await sleep(500);
      a = snapshot(ownPids());
      await sleep(seconds * 1000 - 1000);
      b = snapshot(ownPids());
    } catch {
      a = b = undefined;
    }
  })();
  const result = await work();
  await measure;
  if (!a || !b || b.total <= a.total) return { result, foreign: null };
  const total = b.total - a.total;
  const busy = total - (b.idle - a.idle);
  return { result, foreign: Math.max(0, Math.min(1, (busy - (b.run - a.run)) / total)) };
}
