// Tenantry's OpenAPI document as the built server makes it (packages/server/dist).
export async function openApiDocument() {
  const { buildApp } = await import('../../server/dist/app.js');
  const { testConfig } = await import('../../server/dist/config.js');
  const { openDatabase } = await import('../../server/dist/db/database.js');
  const { loadMigrations, migrate } = await import('../../server/dist/db/migrate.js');
  const db = await openDatabase({ dataDir: null, pool: testConfig().db });
  try {
    await migrate(db, await loadMigrations());
    const app = await buildApp(testConfig(), db);
    try {
      await app.ready();
      return app.swagger();
    } finally {
      await app.close();
    }
  } finally {
    await db.close();
  }
}
