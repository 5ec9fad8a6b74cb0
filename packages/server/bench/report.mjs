// The printed table and its section of BENCHMARKS.md.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { totalmem } from 'node:os';

const START = '<!-- bench:start -->';
const END = '<!-- bench:end -->';

export function machine(postgresVersion) {
  let cpus;
  try {
    cpus = execFileSync('nproc', { encoding: 'utf8' }).trim();
  } catch {
    cpus = '?';
  }
  const cpuinfo = existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : '';
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? 'unknown CPU';
  return {
    cpus,
    model,
    memory: `${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
    node: process.version,
    postgres: postgresVersion,
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
  };
}

const num = (n, digits = 0) =>
  n === null || n === undefined || Number.isNaN(n)
    ? '—'
    : n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

// autocannon records whole milliseconds; pgbench's log has microseconds.
const ms = (n) => num(n, Number.isInteger(n) ? 0 : 2);

/** rows: {scenario, rps, p50, p99, errors, non2xx}; errors/non2xx null when not applicable. */
/** startup: { first, later, idleMs } from startup.mjs. */
export function startupTable({ first, later, idleMs }) {
  return [
    `Start-up on the embedded engine (PGlite, a fresh DATA_DIR): \`npm start\` → first 2xx of /healthz, and the server's RSS after ${idleMs / 1000} s idle.`,
    '',
    '| start | npm start → /healthz ms | idle RSS MB |',
    '|---|---:|---:|',
    `| first (creates the database) | ${num(first.ms)} | ${num(first.rssMb)} |`,
    `| later (opens it) | ${num(later.ms)} | ${num(later.rssMb)} |`,
  ].join('\n');
}

export function markdown({ m, settings, rows, notes, pgbenchScript, startup }) {
  const table = [
    '| scenario | requests/s | p50 ms | p99 ms | errors / non-2xx |',
    '|---|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.scenario} | ${num(r.rps)} | ${ms(r.p50)} | ${ms(r.p99)} | ${num(r.errors)} / ${r.non2xx === null ? '—' : num(r.non2xx)} |`,
    ),
  ];
  return [
    `### ${m.date}`,
    '',
    `Machine: ${m.cpus} CPUs (nproc), ${m.model}, ${m.memory} RAM; Node ${m.node}; PostgreSQL ${m.postgres}.`,
    settings,
    '',
    ...table,
    '',
    ...(startup ? [startupTable(startup), ''] : []),
    ...notes.map((n) => `- ${n}`),
    '',
    "<details><summary>pgbench script (S1's transaction)</summary>",
    '',
    '```sql',
    pgbenchScript.trim(),
    '```',
    '',
    '</details>',
  ].join('\n');
}

const PREAMBLE = `# Benchmarks

Produced by \`npm run bench\` (bench/run.mjs): the service on PostgreSQL, a seeded data set, autocannon
against each scenario, next to a Fastify hello-world ceiling and pgbench running S1's own SQL
transaction, all on the same machine in the same run. The section between the markers below is
rewritten by every run; notes written outside it are kept.

`;

/** Replaces the generated section of BENCHMARKS.md, keeping whatever is written around it. */
export function writeSection(path, section) {
  const block = `${START}\n${section}\n${END}`;
  if (!existsSync(path)) {
    writeFileSync(path, `${PREAMBLE}${block}\n`);
    return;
  }
  const text = readFileSync(path, 'utf8');
  const start = text.indexOf(START);
  const end = text.indexOf(END, start);
  const next =
    start >= 0 && end > start ? text.slice(0, start) + block + text.slice(end + END.length) : `${text.replace(/\s*$/, '\n\n')}${block}\n`;
  writeFileSync(path, next);
}
