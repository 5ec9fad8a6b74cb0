#!/usr/bin/env node
// `npm start` and the `tenantry` command: rebuild (tsc -b) only when a source file or
// a tsconfig is newer than the build's record, so an unchanged tree starts at once.
// `tsc -b` alone is a no-op when up to date, but loading the compiler to find that out
// costs about a second; comparing modification times costs milliseconds.
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const PACKAGES = ['packages/sdk', 'packages/server'];

function newest(dir) {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) latest = Math.max(latest, newest(path));
    else latest = Math.max(latest, statSync(path).mtimeMs);
  }
  return latest;
}

const mtime = (path) => {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return -1;
  }
};

export function isStale() {
  const configs = [join(root, 'tsconfig.json'), join(root, 'tsconfig.base.json')];
  return PACKAGES.some((pkg) => {
    const dir = join(root, pkg);
    const built = mtime(join(dir, 'tsconfig.tsbuildinfo'));
    if (built < 0) return true;
    const inputs = [newest(join(dir, 'src')), mtime(join(dir, 'tsconfig.json')), ...configs.map(mtime)];
    return inputs.some((t) => t > built);
  });
}

if (isStale()) {
  process.stderr.write('Building (sources changed since the last build)...\n');
  execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-b'], { cwd: root, stdio: 'inherit' });
}
