/**
 * Writes now the V8 code cache of the bundle files this process compiled without one
 * (src/cli/bundle-loader.ts); does nothing when the command line runs from elsewhere than
 * its bundle. A command calls it before it changes V8's flags: a cache written after would
 * carry the changed flags, and V8 would reject it at every later start.
 */
export function saveCodeCacheNow(): void {
  (globalThis as { [key: symbol]: (() => void) | undefined })[Symbol.for('mxdoctor.saveCodeCache')]?.();
}
