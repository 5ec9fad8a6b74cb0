import type { TestProject } from 'vitest/node';
import { buildTemplates } from './helpers/templates.js';

// Migrates one template database per engine for the whole run; test files copy it.
export default async function setup(project: TestProject) {
  const { templates, drop } = await buildTemplates(process.env.TEST_DATABASE_URL);
  project.provide('testTemplates', templates);
  return drop;
}
