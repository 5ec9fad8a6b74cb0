#!/usr/bin/env node
import { parseArgs, USAGE } from './cli/args.js';
import { adminCreate, auditVerify, keysRotate, processOutput, refuseAdminInput } from './cli/commands.js';
import { type Config, ConfigError, loadConfig } from './config.js';
import type { Database } from './db/database.js';

// The server and the database engines load only for commands that get as far as needing
// them, so a refused command line answers in milliseconds.
const server = () => import('./server.js');

/** Opens the database (migrations applied, isolation checked) for one command, and always closes it. */
async function withDatabase(config: Readonly<Config>, fn: (db: Database) => Promise<number>): Promise<number> {
  // Logs go to stderr so that a command's stdout holds only its result.
  const { logger, openAndPrepare } = await server();
  const db = await openAndPrepare(config, logger(config, 2));
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}

async function main(argv: string[]): Promise<number> {
  const parsed = parseArgs(argv);
  if (!parsed.ok) {
    process.stderr.write(`tenantry: ${parsed.error}\n\n${USAGE}`);
    return 2;
  }
  const { command } = parsed;
  if (command.name === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  const config = loadConfig();
  switch (command.name) {
    case 'serve':
      await (await server()).serveUntilSignal(config);
      return -1; // keeps running until a signal
    case 'migrate':
      return withDatabase(config, async () => 0);
    case 'admin create':
      return refuseAdminInput(command, processOutput) ?? withDatabase(config, (db) => adminCreate(db, command, processOutput));
    case 'keys rotate':
      return withDatabase(config, (db) => keysRotate(db, processOutput, command.kind));
    case 'audit verify':
      return withDatabase(config, (db) => auditVerify(db, command.org, processOutput));
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (err: unknown) => {
    if (err instanceof ConfigError) process.stderr.write(`${err.message}\n`);
    else process.stderr.write(`tenantry: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
