#!/usr/bin/env node
// The `mxdoctor` command. Runs the compiled CLI from dist/ (built by `npm ci` through the
// `prepare` script, or `npm run build`); runs the TypeScript sources through tsx when dist/
// is absent or MXDOCTOR_FROM_SOURCE=1 (development and tests).
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const compiled = join(root, 'dist', 'src', 'cli', 'main.js');

if (existsSync(compiled) && process.env.MXDOCTOR_FROM_SOURCE !== '1') {
  await import(pathToFileURL(compiled).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(pathToFileURL(join(root, 'src', 'cli', 'main.ts')).href);
}
