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
    // The limits only catch a hang: no test waits for time to pass, and a test that passes does
    // so as soon as its work is done. They are wide so that a machine running other work beside
    // the suite (twelve runnable processes on two cores is common here) is not taken for a hang.
    testTimeout: 120_000,
    // expect.poll waits for a condition; on a loaded machine it can take longer than the 1 s default.
    expect: { poll: { timeout: 30_000 } },
    hookTimeout: 180_000,
    // Three workers on two cores, as in the root config (one of them is often waiting).
    maxWorkers: 3,
  },
});
