import type { App } from '../../src/app.js';
import { buildApp } from '../../src/app.js';
import { type Config, testConfig } from '../../src/config.js';
import type { Engine } from '../../src/db/database.js';
import { createTestDatabase, type TestDatabase, type TestDbOptions } from './db.js';

export interface TestApp extends TestDatabase {
  app: App;
  close(): Promise<void>;
}

/** An app on a fresh database of its own; `close` stops it and drops the database. */
export async function startApp(engine: Engine, overrides: Partial<Config> = {}, dbOpts: TestDbOptions = {}): Promise<TestApp> {
  const t = await createTestDatabase(engine, dbOpts);
  const app = await buildApp(testConfig(overrides), t.db);
  return {
    ...t,
    app,
    async close() {
      await app.close();
      await t.drop();
    },
  };
}
