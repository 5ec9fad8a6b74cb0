// Response serializers compiled when first needed instead of all at start-up. Fastify
// compiles one fast-json-stringify function for every route, status and content type
// before it listens: about a fifth of an embedded start's CPU. Here each route gets a
// stand-in that compiles its serializer (with Fastify's own compiler and the shared
// component schemas) on its first use, and after the server listens the rest are
// compiled a few at a time while the process is idle, so a schema that cannot compile
// still fails soon after start, and later requests find theirs ready.
import { SerializerSelector } from '@fastify/fast-json-stringify-compiler';
import { compiledOnce, compilerKind } from './compiled-schemas.js';

type Build = ReturnType<typeof SerializerSelector>;
type Serialize = (data: unknown) => string;

/** The compilersFactory.buildSerializer of Fastify's schemaController option, and the warm-up. */
export function lazySerializers(): { buildSerializer: Build; compileRest: () => Promise<void> } {
  const real = SerializerSelector();
  const pending = new Set<() => Serialize>();
  const buildSerializer = ((externalSchemas, options) => {
    const compile = real(externalSchemas, options);
    const kind = compilerKind('serializer', externalSchemas as Record<string, unknown>, options);
    return (routeSchema: Parameters<typeof compile>[0]) => {
      let fn: Serialize | undefined;
      const get = () => {
        pending.delete(get);
        fn ??= compiledOnce(kind, routeSchema.schema, () => compile(routeSchema) as Serialize);
        return fn;
      };
      pending.add(get);
      return (data: unknown) => (fn ?? get())(data);
    };
  }) as Build;
  const compileRest = async () => {
    for (const get of [...pending]) {
      get();
      await new Promise((resolve) => setImmediate(resolve));
    }
  };
  return { buildSerializer, compileRest };
}
