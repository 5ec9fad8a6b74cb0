import { defineConfig } from 'vitest/config';

// One run over every package; each package's own config says what its tests need.
export default defineConfig({
  test: {
    projects: ['packages/*', 'examples'],
    // Each server test file builds its own databases; two workers match the two cores.
    maxWorkers: 2,
  },
});
