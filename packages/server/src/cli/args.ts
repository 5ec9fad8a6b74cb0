// The command line as data: parsing is a pure function, so every accepted and
// refused form is unit-tested without starting anything.

import { isUuid } from '../db/ids.js';

export const USAGE = `Usage: tenantry <command> [options]

Commands:
  serve                     start the API (the default; applies migrations first)
  migrate                   apply pending database migrations and exit
  admin create --email <email> --password <password>
                            create a platform admin, or make an existing user one with this password
  keys rotate               make a new signing key and print its kid; the previous key keeps
                            verifying tokens it signed until they expire
  audit verify --org <organization id>
                            recompute the organization's audit chain and check its latest signed
                            checkpoint; prints {ok, checked, first_mismatch} and exits 0 when it
                            verifies, 1 when it does not
  help                      show this text

Options take a value as "--name value" or "--name=value" (the latter for a value that starts with --).
Configuration comes from the environment (DATABASE_URL, DATA_DIR, ...): see README.md.
`;

export type Command =
  | { name: 'help' }
  | { name: 'serve' }
  | { name: 'migrate' }
  | { name: 'admin create'; email: string; password: string }
  | { name: 'keys rotate' }
  | { name: 'audit verify'; org: string };

export type ParseResult = { ok: true; command: Command } | { ok: false; error: string };

const fail = (error: string): ParseResult => ({ ok: false, error });
const ok = (command: Command): ParseResult => ({ ok: true, command });

const isHelp = (a: string) => a === 'help' || a === '--help' || a === '-h';

/** Parses the arguments after `tenantry` (process.argv.slice(2)). */
export function parseArgs(argv: readonly string[]): ParseResult {
  const [command = 'serve', ...rest] = argv;
  if (isHelp(command) || rest.some(isHelp)) return ok({ name: 'help' });

  switch (command) {
    case 'serve':
    case 'migrate':
      return rest.length === 0 ? ok({ name: command }) : fail(`${command} takes no arguments (got ${quote(rest[0]!)})`);
    case 'admin':
      return parseAdmin(rest);
    case 'keys': {
      const [sub, ...extra] = rest;
      if (sub !== 'rotate')
        return fail(
          sub === undefined ? 'keys needs a subcommand: keys rotate' : `Unknown keys subcommand ${quote(sub)}: expected keys rotate`,
        );
      return extra.length === 0 ? ok({ name: 'keys rotate' }) : fail(`keys rotate takes no arguments (got ${quote(extra[0]!)})`);
    }
    case 'audit':
      return parseAudit(rest);
    default:
      return fail(`Unknown command ${quote(command)}`);
  }
}

function parseAdmin(rest: string[]): ParseResult {
  const [sub, ...args] = rest;
  if (sub !== 'create')
    return fail(
      sub === undefined ? 'admin needs a subcommand: admin create' : `Unknown admin subcommand ${quote(sub)}: expected admin create`,
    );
  const flags = parseFlags(args, ['email', 'password']);
  if ('error' in flags) return fail(`admin create: ${flags.error}`);
  const missing = ['email', 'password'].filter((f) => flags.values[f] === undefined);
  if (missing.length > 0) return fail(`admin create: missing ${missing.map((f) => `--${f}`).join(' and ')}`);
  return ok({ name: 'admin create', email: flags.values.email!, password: flags.values.password! });
}

function parseAudit(rest: string[]): ParseResult {
  const [sub, ...args] = rest;
  if (sub !== 'verify')
    return fail(
      sub === undefined ? 'audit needs a subcommand: audit verify' : `Unknown audit subcommand ${quote(sub)}: expected audit verify`,
    );
  const flags = parseFlags(args, ['org']);
  if ('error' in flags) return fail(`audit verify: ${flags.error}`);
  const org = flags.values.org;
  if (org === undefined) return fail('audit verify: missing --org');
  if (!isUuid(org)) return fail(`audit verify: --org must be an organization id (a UUID), got ${quote(org)}`);
  return ok({ name: 'audit verify', org: org.toLowerCase() });
}

/** `--name value` and `--name=value` for the allowed names; anything else is refused. */
function parseFlags(args: string[], allowed: readonly string[]): { values: Record<string, string> } | { error: string } {
  const values: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const m = /^--([a-z][a-z-]*)(?:=(.*))?$/s.exec(arg);
    if (!m) return { error: `unexpected argument ${quote(arg)}` };
    const name = m[1]!;
    if (!allowed.includes(name)) return { error: `unknown option --${name} (expected ${allowed.map((a) => `--${a}`).join(', ')})` };
    if (values[name] !== undefined) return { error: `--${name} is given more than once` };
    let value = m[2];
    if (value === undefined) {
      const next = args[i + 1];
      // A following option means this one has no value; --name=VALUE takes a value that starts with --.
      if (next === undefined || next.startsWith('--')) return { error: `--${name} needs a value` };
      value = next;
      i++;
    }
    if (value === '') return { error: `--${name} needs a value` };
    values[name] = value;
  }
  return { values };
}

const quote = (s: string) => JSON.stringify(s);
