// PGlite keeps its data directory in one process: a second process on the same directory
// sees only its own writes and loses them. The directory is locked by a file created with
// O_EXCL that holds the owner's pid; a lock whose pid is no longer alive is stale (the owner
// was killed) and is taken over.
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export const LOCK_FILE = 'tenantry.lock';

export class DataDirLocked extends Error {
  constructor(
    readonly dir: string,
    readonly pid: number,
  ) {
    super(
      `DATA_DIR ${dir} is in use by process ${pid} (a running Tenantry server or command). ` +
        'Stop that server before running this, or make the change through its API.',
    );
    this.name = 'DataDirLocked';
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}

function holder(path: string): number | undefined {
  try {
    const pid = Number(readFileSync(path, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Takes the lock on `dir` or throws DataDirLocked; the returned function releases it. */
export function lockDataDir(dir: string): () => void {
  const path = join(dir, LOCK_FILE);
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = holder(path);
      // A pid still alive holds it (this process included: one PGlite per directory).
      // A file without a pid may be one being written right now: only the second look decides.
      if (pid !== undefined && alive(pid)) throw new DataDirLocked(dir, pid);
      if (attempt >= 2) throw new DataDirLocked(dir, pid ?? 0);
      if (pid !== undefined || attempt > 0) {
        try {
          unlinkSync(path);
        } catch {
          // another process removed the stale lock first; the next O_EXCL open decides
        }
      }
    }
  }
  let held = true;
  const release = () => {
    if (!held) return;
    held = false;
    process.off('exit', release);
    if (holder(path) === process.pid) {
      try {
        unlinkSync(path);
      } catch {
        // already gone
      }
    }
  };
  // Also released when the process exits without closing the database (process.exit in the CLI).
  process.on('exit', release);
  return release;
}
