import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { testConfig } from '../src/config.js';
import { LOCK_FILE } from '../src/db/data-dir-lock.js';
import { openDatabase } from '../src/db/database.js';
import { copyMigratedPgliteDataDir } from './helpers/db.js';

describe('embedded DATA_DIR lock', () => {
  let dir: string;
  const pool = testConfig().db;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tenantry-lock-'));
    // A data directory the run already built: the lock is under test here, not initdb (seconds of CPU).
    await copyMigratedPgliteDataDir(dir);
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('a second open of one DATA_DIR is refused, naming the directory and the pid holding it', async () => {
    const first = await openDatabase({ dataDir: dir, pool });
    try {
      expect((await readFile(join(dir, LOCK_FILE), 'utf8')).trim()).toBe(String(process.pid));
      const second = openDatabase({ dataDir: dir, pool });
      await expect(second).rejects.toThrow(dir);
      await expect(second).rejects.toThrow(`process ${process.pid}`);
      await expect(second).rejects.toThrow(/Stop that server|its API/);
    } finally {
      await first.close();
    }
    // Released on close: the directory opens again.
    const again = await openDatabase({ dataDir: dir, pool });
    await again.close();
  });

  it('a stale lock left by a killed process (its pid is gone) is taken over', async () => {
    // Pids are below 2^22 on Linux: this one cannot be alive.
    await writeFile(join(dir, LOCK_FILE), '4194305\n');
    const db = await openDatabase({ dataDir: dir, pool });
    try {
      expect((await readFile(join(dir, LOCK_FILE), 'utf8')).trim()).toBe(String(process.pid));
    } finally {
      await db.close();
    }
  });
});
