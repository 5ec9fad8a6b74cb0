import { defineConfig } from 'vitest/config';

// PGlite and in-process Tenantry servers start slowly on a loaded machine.
export default defineConfig({ test: { include: ['test/**/*.test.ts'], testTimeout: 60_000, hookTimeout: 120_000 } });
