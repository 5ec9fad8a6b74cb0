import { defineConfig } from 'vitest/config';

// Tenantry, both example tools and their databases start in each file: slow on a loaded machine.
export default defineConfig({ test: { include: ['test/**/*.test.ts'], testTimeout: 60_000, hookTimeout: 120_000 } });
