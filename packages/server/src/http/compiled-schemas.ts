import { createHash } from 'node:crypto';

// One compiled validator or serializer per schema for the whole process. Fastify asks each
// app it builds to compile every route's schemas again; a process that builds more than one
// (the test suite builds hundreds) gets the function compiled before for the same schema text,
// and Ajv's own cache, keyed by schema object, no longer grows with every app. A compiled
// function keeps no state between calls that another app could see (a validator's `errors`
// is read right after the call that set it).
const compiled = new Map<string, unknown>();

/** `compile()`'s result for this compiler (`kind`: the compiler and its options) and schema, compiled once. */
export function compiledOnce<T>(kind: string, schema: unknown, compile: () => T): T {
  const key = `${kind}\n${JSON.stringify(schema)}`;
  let fn = compiled.get(key) as T | undefined;
  if (fn === undefined) {
    fn = compile();
    compiled.set(key, fn);
  }
  return fn;
}

// Fastify hands each compiler copies of the shared schemas, one set per app.
const textOf = new WeakMap<object, string>();

/**
 * A compiler's name for its shared schemas and options: a hash of their text (each shared
 * schema is written out once per app, not once per route).
 */
export function compilerKind(compiler: string, sharedSchemas: Record<string, unknown>, options: unknown): string {
  const hash = createHash('sha256').update(JSON.stringify(options) ?? '');
  for (const [id, schema] of Object.entries(sharedSchemas)) {
    let text = textOf.get(schema as object);
    if (text === undefined) {
      text = JSON.stringify(schema);
      textOf.set(schema as object, text);
    }
    hash.update(`\n${id}\n${text}`);
  }
  return `${compiler} ${hash.digest('base64url')}`;
}
