// The command line as data: parsing is a pure function, so every accepted and
// refused form is unit-tested without starting anything.

import { isUuid } from '../db/ids.js';

export const USAGE = `Usage: tenantry <command> [options]

Commands:
  serve                     start the API (the default; applies migrations first)
  migrate                   apply pending database migrations and exit
  admin create --email <email> --password <password>
                            create a platform admin, or make an existing user one with this password
  keys rotate [--kind tokens|webhooks|audit]
                            make a new signing key and print its kid: of access tokens (the
                            default; the previous key keeps verifying the tokens it signed until
                            they expire), of webhook v1a signatures (the previous key stays
                            published at /.well-known/webhook-keys.json) or of audit checkpoints
                            (the previous key keeps verifying the checkpoints it signed)
  audit verify --org <organization id>
                            recompute the organization's audit chain and check its latest signed
                            checkpoint; prints {ok, checked, first_mismatch} and exits 0 when it
                            verifies, 1 when it does not
  help                      show this text

Options take a value as "--name value" or "--name=value" (the latter for a value that starts with --).
Configuration comes from the environment (DATABASE_URL, DATA_DIR, ...): see README.md.
`;

export const KEY_KINDS = ['tokens', 'webhooks', 'audit'] as const;
export type KeyKind = (typeof KEY_KINDS)[number];

export type Command =
  | { name: 'help' }
  | { name: 'serve' }
  | { name: 'migrate' }
  | { name: 'admin create'; email: string; password: string }
  | { name: 'keys rotate'; kind: KeyKind }
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
    case 'keys':
      return parseKeys(rest);
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

function parseKeys(rest: string[]): ParseResult {
  const [sub, ...args] = rest;
  if (sub !== 'rotate')
    return fail(sub === undefined ? 'keys needs a subcommand: keys rotate' : `Unknown keys subcommand ${quote(sub)}: expected keys rotate`);
  const flags = parseFlags(args, ['kind']);
  if ('error' in flags) return fail(`keys rotate: ${flags.error}`);
  const kind = flags.values.kind ?? 'tokens';
  if (!(KEY_KINDS as readonly string[]).includes(kind))
    return fail(`keys rotate: --kind must be one of ${KEY_KINDS.join(', ')}, got ${quote(kind)}`);
  return ok({ name: 'keys rotate', kind: kind as KeyKind });
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
