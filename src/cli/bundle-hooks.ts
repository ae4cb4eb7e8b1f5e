/**
 * How the command line's bundle and its loader reach each other (scripts/bundle-cli.mjs,
 * src/cli/bundle-loader.ts). They cannot share module state: each bundle file holds its own
 * copy of what it imports, and the loader runs from dist/src/. So they meet on globalThis,
 * under registered symbols, which every copy names alike. bundle-cli.mjs writes the names of
 * `load` and `trace` into the code it generates; the module tracer of the tests
 * (test/support/module-trace.mjs) defines `trace`.
 */
const LOAD: unique symbol = Symbol.for('mxdoctor.loadBundle');
const SAVE_CODE_CACHE: unique symbol = Symbol.for('mxdoctor.saveCodeCache');
const IMPORT_SERVICE: unique symbol = Symbol.for('mxdoctor.importService');
const TRACE: unique symbol = Symbol.for('mxdoctor.trace');

export const HOOK = {
  /** Loads a bundle file by path and returns its exports (the command table's stubs). */
  load: LOAD,
  /** Writes the code caches not yet written. */
  saveCodeCache: SAVE_CODE_CACHE,
  /** Imports the service's command module, which stays outside the bundle. */
  importService: IMPORT_SERVICE,
  /** Told of each bundle file run ("bundle", path) and module evaluated on demand ("init", path). */
  trace: TRACE,
} as const;

export interface Hooks {
  [HOOK.load]?: (path: string) => unknown;
  [HOOK.saveCodeCache]?: () => void;
  [HOOK.importService]?: () => Promise<unknown>;
  [HOOK.trace]?: (kind: string, what: string) => void;
}

/** The hooks as this process has them (none outside the bundle). */
export const hooks = (): Hooks => globalThis as Hooks;

/**
 * Writes now the V8 code cache of the bundle files this process compiled without one; does
 * nothing when the command line runs from elsewhere than its bundle. A command calls it before
 * it changes V8's flags: a cache written after would carry the changed flags, and V8 would
 * reject it at every later start.
 */
export function saveCodeCacheNow(): void {
  hooks()[HOOK.saveCodeCache]?.();
}
