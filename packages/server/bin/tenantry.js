#!/usr/bin/env node
// The `tenantry` command. It is a plain file that exists before any build, so npm links
// it at install; it rebuilds only when a source changed, then runs the built CLI.
import '../../../scripts/build-if-stale.mjs';

await import('../dist/main.js');
