import {
  lstatSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Script } from 'node:vm';
import { HOOK, hooks } from './bundle-hooks.js';
import { EXIT } from './errors.js';

/**
 * Runs the command line from its CommonJS bundle (dist/cli/, scripts/bundle-cli.mjs says why
 * it is one), each file compiled from V8's code cache when an earlier run left one.
 *
 * Node 20 has no compile cache for modules (22 has module.enableCompileCache): a script
 * compiled through node:vm can take the bytecode an earlier compilation produced instead of
 * parsing and compiling again, for the top level and for every function that earlier run
 * compiled. For `mxdoctor check` that is about a third of its CPU at every run.
 *
 * The cache of a file lives in the user's cache directory ($XDG_CACHE_HOME/mxdoctor/v8, or
 * ~/.cache/mxdoctor/v8), under a name made of the file's name and SHA-256 (computed by the
 * build, in bundle.json), its size and modification time, and Node's version and
 * architecture, so that a rebuilt, edited or differently run bundle never meets a stale
 * cache; V8 checks its own version and flags again and rejects a cache that does not fit. A
 * file without a usable cache is compiled as usual and leaves its cache as the process exits,
 * unless it exits with a usage or internal error (or earlier, through `saveCodeCacheNow` of
 * bundle-hooks.ts, before a command changes V8's flags). The cache holds what the run that
 * wrote it compiled.
 * Bytecode is code: the directory is used only when it belongs to this user and nobody else
 * can write to it. Anything that goes wrong with the cache costs only the speed-up: the file
 * then runs as it would without one.
 */

interface BundleFile {
  sha256: string;
}

interface Bundle {
  files: Record<string, BundleFile>;
}

/** Caches still to write: the script compiled without one, and where its cache goes. */
const unsaved = new Map<string, Script>();

/**
 * Runs dist/cli/main.cjs (and, as the command table asks for them, the commands' files), with
 * the code cache in `cacheBase`/mxdoctor/v8 (bin/mxdoctor.js passes the user's cache
 * directory; none, no cache).
 */
export function runBundle(dir: string, cacheBase: string | undefined): void {
  const bundle = JSON.parse(readFileSync(join(dir, 'bundle.json'), 'utf8')) as Bundle;
  const cacheDir = cacheBase === undefined ? undefined : usableCacheDir(cacheBase);
  const loaded = new Map<string, unknown>();
  const loadOnce = (path: string): unknown => {
    if (!loaded.has(path)) loaded.set(path, load(path, bundle, cacheDir));
    return loaded.get(path);
  };
  const hook = hooks();
  hook[HOOK.load] = loadOnce;
  hook[HOOK.saveCodeCache] = saveCodeCache;
  // The service's command module, outside the bundle, for the help (src/cli/main.ts).
  hook[HOOK.importService] = () => import(pathToFileURL(join(dir, '..', 'src', 'cli', 'serve.js')).href);
  process.once('exit', (code) => {
    // A run that stopped at a usage or input error (or a bug) compiled little beyond the
    // top level, and the first cache written is the one every later run takes: it would
    // leave them compiling most of their code themselves. The next run that does its work
    // writes it instead.
    if (code !== EXIT.usage && code !== EXIT.internal) saveCodeCache();
  });
  loadOnce(join(dir, 'main.cjs'));
}

/** Writes the caches not yet written. Called at exit, and by a command before it changes V8's flags. */
function saveCodeCache(): void {
  for (const [file, script] of unsaved) {
    unsaved.delete(file);
    const temporary = `${file}.${process.pid}.tmp`;
    try {
      writeFileSync(temporary, script.createCachedData(), { mode: 0o600 });
      renameSync(temporary, file); // whole or not at all, whatever other processes do meanwhile
      pruneStale(file);
    } catch {
      try {
        unlinkSync(temporary);
      } catch {
        // nothing was written
      }
    }
  }
}

/** Caches of earlier builds of the same file: kept a week after their last write, then removed. */
const STALE_MS = 7 * 24 * 3600_000;

/** The bundle file a cache file belongs to: "check.cjs" of "check.cjs-<key>.v8". */
function entryName(cacheFile: string): string {
  const name = basename(cacheFile);
  return name.slice(0, name.indexOf('.cjs-') + '.cjs'.length);
}

/** Removes the stale caches of the file whose cache was just written (`kept`). */
function pruneStale(kept: string): void {
  const dir = dirname(kept);
  const prefix = `${entryName(kept)}-`;
  for (const name of readdirSync(dir)) {
    const file = join(dir, name);
    if (file === kept || !name.startsWith(prefix) || !name.endsWith('.v8')) continue;
    try {
      if (Date.now() - statSync(file).mtimeMs > STALE_MS) unlinkSync(file);
    } catch {
      // gone already, or not ours to remove
    }
  }
}

/** Compiles and runs one file of the bundle as CommonJS; returns its exports. */
function load(path: string, bundle: Bundle, cacheDir: string | undefined): unknown {
  // The build writes ASCII only (scripts/bundle-cli.mjs, asciiOnly): read as Latin-1, the
  // bytes copied as they are into a one-byte string. Read as UTF-8, check.cjs's 1.5 MB took
  // 2–4 ms to decode before the first DNS query of every `mxdoctor check`, against 0.3–2.
  const source = readFileSync(path, 'latin1');
  const entry = bundle.files[basename(path)];
  const cacheFile = cacheDir && entry ? join(cacheDir, cacheName(path, entry)) : undefined;
  let cachedData: Buffer | undefined;
  if (cacheFile) {
    try {
      cachedData = readFileSync(cacheFile);
    } catch {
      // none yet
    }
  }
  const script = new Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename: path,
    // No import() runs inside (the build sees to it): with a code cache, Node 20 loses a
    // script's importModuleDynamically, and without one its use is an experimental warning.
    ...(cachedData ? { cachedData } : {}),
  });
  if (cacheFile && (!cachedData || script.cachedDataRejected)) unsaved.set(cacheFile, script);
  hooks()[HOOK.trace]?.('bundle', path);
  const module = { exports: {} as unknown };
  const wrapper = script.runInThisContext() as (
    exports: unknown,
    require: NodeJS.Require,
    module: { exports: unknown },
    filename: string,
    dirname: string,
  ) => void;
  wrapper.call(module.exports, module.exports, createRequire(path), module, path, dirname(path));
  return module.exports;
}

/** The cache's file name for a bundle file as it is on disk now, under this Node. */
function cacheName(path: string, entry: BundleFile): string {
  const { size, mtimeMs } = statSync(path);
  const key = [entry.sha256.slice(0, 16), size, Math.round(mtimeMs), process.version, process.arch];
  return `${basename(path)}-${key.join('-')}.v8`;
}

/** The cache directory, created if need be; undefined unless it is this user's alone. */
function usableCacheDir(base: string): string | undefined {
  if (typeof process.getuid !== 'function') return undefined;
  const dir = join(base, 'mxdoctor', 'v8');
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const stat = lstatSync(dir);
    if (!stat.isDirectory() || stat.uid !== process.getuid() || (stat.mode & 0o022) !== 0) return undefined;
    return dir;
  } catch {
    return undefined;
  }
}
