import type { TestProject } from 'vitest/node';
import { buildTemplates, type TestTemplates } from './helpers/templates.js';

// Migrates one template database per engine for the whole run; test files copy it. The SDK's
// and the examples' tests start Tenantry through the same helpers and name this setup too; in a
// run of the whole repository every project's setup runs in this one process, so they share
// one build (kept on globalThis: each project loads this module afresh), dropped by the last
// project to finish.

interface SharedTemplates {
  built: Promise<{ templates: TestTemplates; drop(): Promise<void> }>;
  users: number;
}

const SHARED = Symbol.for('tenantry.test.templates');
const shelf = globalThis as { [SHARED]?: SharedTemplates };

export default async function setup(project: TestProject) {
  shelf[SHARED] ??= { built: buildTemplates(process.env.TEST_DATABASE_URL), users: 0 };
  const shared = shelf[SHARED];
  shared.users++;
  const { templates, drop } = await shared.built;
  project.provide('testTemplates', templates);
  return async () => {
    if (--shared.users > 0) return;
    delete shelf[SHARED];
    await drop();
  };
}
