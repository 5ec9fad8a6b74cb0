import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The fault suite breaks its own database and Redis: `npm run test:faults`.
    exclude: ['test/faults/**', 'node_modules/**'],
    pool: 'forks',
    // A worker runs file after file in one module cache instead of loading Fastify, PGlite and
    // the service afresh for each (about 2 CPU-seconds a file). Each file still gets databases
    // and an app of its own; code keeps no state in a module that one file could leave for the
    // next (passwords.ts keys its dummy hash by setting), and a test that fakes the clock
    // restores it (vi.useRealTimers) before it ends.
    isolate: false,
    // Migrates the run's template databases once; each file copies one (test/helpers/db.ts).
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 30_000,
    // expect.poll waits for a condition; on a loaded machine it can take longer than the 1 s default.
    expect: { poll: { timeout: 10_000 } },
    hookTimeout: 60_000,
    // Each file builds its own databases; two workers match the two cores.
    maxWorkers: 2,
  },
});
