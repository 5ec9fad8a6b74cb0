#!/usr/bin/env node
// Regenerates src/client/schema.ts from the OpenAPI document of the server as built now:
// the app is built in-process on an embedded database and asked for `app.swagger()`.
// Run after the server's routes change: `npm run generate:client` (it builds first).
import { writeFile } from 'node:fs/promises';
import { CLIENT_FILE, clientSource } from './client-source.mjs';
import { openApiDocument } from './server-document.mjs';

const source = await clientSource(await openApiDocument());
await writeFile(CLIENT_FILE, source);
console.log(`wrote ${CLIENT_FILE.pathname}`);
