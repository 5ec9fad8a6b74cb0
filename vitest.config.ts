import { relative } from 'node:path';
import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

// A file runs on one worker from start to end, so a long file that starts late is the run's
// tail; vitest's own order (package after package, larger files first) starts the audit
// export files, three lines each, last. The files that take longest (CPU seconds in a whole
// run) start first, longest first, then the rest package by package (a worker is reused for
// the next file only within a package), the SDK's many short files last.
const LONG_FILES = [
  'packages/server/test/audit-export.pglite.test.ts',
  'packages/server/test/audit-export.postgres.test.ts',
  'packages/server/test/readme.test.ts',
  'packages/server/test/sql-files.test.ts',
  'packages/server/test/no-500.property.test.ts',
  'packages/server/test/audit-integrity.test.ts',
  'packages/server/test/email-delivery.test.ts',
  'packages/server/test/account-lifecycle.test.ts',
  'packages/server/test/migrate.test.ts',
  // Last, so that the next file, the examples' other one, reuses its worker.
  'examples/test/platform-story.test.ts',
];
const PACKAGES = ['examples', 'packages/server', 'packages/sdk'];

class LongFilesFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]) {
    const root = this.ctx.config.root;
    const place = (list: string[], path: string) => {
      const i = list.indexOf(path);
      return i === -1 ? list.length : i;
    };
    const long = (f: TestSpecification) => place(LONG_FILES, relative(root, f.moduleId));
    const pkg = (f: TestSpecification) => place(PACKAGES, relative(root, f.project.config.root));
    // Array.prototype.sort is stable: within a package, vitest's order stays.
    return (await super.sort(files)).sort((a, b) => long(a) - long(b) || pkg(a) - pkg(b));
  }
}

// One run over every package; each package's own config says what its tests need.
export default defineConfig({
  test: {
    projects: ['packages/*', 'examples'],
    // Three workers on two cores: a file waiting on a server process, a browser or a timer leaves
    // its core to the third (194 → 186 s for the whole run on a quiet machine).
    maxWorkers: 3,
    sequence: { sequencer: LongFilesFirst },
  },
});
