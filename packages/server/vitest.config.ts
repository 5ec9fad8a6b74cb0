import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The fault suite breaks its own database and Redis: `npm run test:faults`.
    exclude: ['test/faults/**', 'node_modules/**'],
    pool: 'forks',
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
