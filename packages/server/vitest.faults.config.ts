import { defineConfig } from 'vitest/config';

// The fault suite (`npm run test:faults`): its own PostgreSQL cluster (global setup), its own
// Redis servers and TCP proxies that cut and stall. Files run one at a time: each breaks things.
export default defineConfig({
  test: {
    include: ['test/faults/**/*.test.ts'],
    globalSetup: ['test/faults/cluster.ts'],
    pool: 'forks',
    fileParallelism: false,
    // Only a hang trips these: what each case must hold is bounded inside the case itself. On a
    // loaded machine, starting a server and its cluster alone can take tens of seconds.
    testTimeout: 180_000,
    hookTimeout: 180_000,
  },
});
