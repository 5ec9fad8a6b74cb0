import { defineConfig } from 'vitest/config';

// Tenantry, both example tools and their databases start in each file: slow on a loaded machine.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The server's migrated template databases, which its test helpers copy (shared with the
    // server's tests in a run of the whole repository).
    globalSetup: ['../packages/server/test/global-setup.ts'],
    // As in the server's tests (packages/server/vitest.config.ts): a worker runs file after file
    // in one module cache instead of loading the SDK, Fastify, PGlite and the service again for
    // each file; each file still starts servers and databases of its own.
    pool: 'forks',
    isolate: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
