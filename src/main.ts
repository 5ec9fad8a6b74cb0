#!/usr/bin/env node
import { ConfigError, loadConfig } from './config.js';
import { logger, openAndPrepare, serve } from './server.js';

const USAGE = `Usage: tenantry <command>

Commands:
  serve                                    start the API (applies migrations first)
  migrate                                  apply pending database migrations and exit
`;

async function main(argv: string[]): Promise<number> {
  const [command = 'serve'] = argv;
  if (command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(USAGE);
    return 0;
  }
  const config = loadConfig();
  switch (command) {
    case 'serve':
      await serve(config);
      return -1; // keeps running until a signal
    case 'migrate': {
      const db = await openAndPrepare(config, logger(config));
      await db.close();
      return 0;
    }
    default:
      process.stderr.write(`Unknown command: ${command}\n\n${USAGE}`);
      return 2;
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
