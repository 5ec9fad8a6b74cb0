import { defineConfig } from 'vitest/config';

// The fault suite (`npm run test:faults`): its own PostgreSQL cluster (global setup), its own
// Redis servers and TCP proxies that cut and stall. Files run one at a time: each breaks things.
export default defineConfig({
  test: {
    include: ['test/faults/**/*.test.ts'],
    globalSetup: ['test/faults/cluster.ts'],
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
