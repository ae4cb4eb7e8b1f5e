#!/usr/bin/env node
// The `mxdoctor` command. Runs the compiled CLI (built by `npm ci` through the `prepare`
// script, or `npm run build`): the bundle in dist/cli/ for the one-shot commands, whose
// start-up is much of their run (scripts/bundle-cli.mjs says why; src/cli/bundle-loader.ts
// runs it with V8's code cache, kept in the user's cache directory), and tsc's output in
// dist/src/ for the service (serve, web, worker) and when the bundle is missing or older than
// it (a build by tsc alone). Runs the TypeScript sources through tsx when dist/ is absent or
// MXDOCTOR_FROM_SOURCE=1 (development and tests).
import { existsSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, isAbsolute, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const compiled = join(root, 'dist', 'src', 'cli', 'main.js');
const bundle = join(root, 'dist', 'cli', 'main.cjs');
// The command is the first argument that is not an option (as src/cli/main.ts reads it).
const command = process.argv.slice(2).find((a) => !a.startsWith('-'));
const service = command === 'serve' || command === 'web' || command === 'worker';

/** The bundle, when it was built with or after tsc's output (never a stale one). */
function freshBundle() {
  try {
    return statSync(bundle).mtimeMs >= statSync(compiled).mtimeMs;
  } catch {
    return false;
  }
}

/** The user's cache directory: $XDG_CACHE_HOME when absolute (XDG Base Directory), else ~/.cache. */
function userCacheDir() {
  const xdg = process.env.XDG_CACHE_HOME;
  if (xdg && isAbsolute(xdg)) return xdg;
  try {
    return join(homedir(), '.cache');
  } catch {
    return undefined;
  }
}

if (process.env.MXDOCTOR_FROM_SOURCE !== '1' && existsSync(compiled)) {
  if (!service && freshBundle()) {
    const loader = join(root, 'dist', 'src', 'cli', 'bundle-loader.js');
    (await import(pathToFileURL(loader).href)).runBundle(dirname(bundle), userCacheDir());
  } else {
    await import(pathToFileURL(compiled).href);
  }
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(pathToFileURL(join(root, 'src', 'cli', 'main.ts')).href);
}
