import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The fault suite breaks its own database and Redis: `npm run test:faults`.
    exclude: ['test/faults/**', 'node_modules/**'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Each file builds its own databases; two workers match the two cores.
    maxWorkers: 2,
  },
});
