#!/usr/bin/env node
// Runs node's built-in test runner over every *.test.ts file below the given folders
// (default: test/), with tsx as the TypeScript loader and the network fence loaded, so no
// test can reach an address outside loopback. Node 20's --test takes no globs, so the files
// are listed here.
import { readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { spawn } from 'node:child_process';
import { pathToFileURL } from 'node:url';

const args = process.argv.slice(2);
const roots = args.filter((a) => !a.startsWith('--'));
const passThrough = args.filter((a) => a.startsWith('--'));

function collect(dir, out) {
  for (const entry of readdirSync(dir).sort()) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) collect(path, out);
    else if (entry.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

const files = [];
for (const root of roots.length ? roots : ['test']) {
  if (statSync(root).isDirectory()) collect(root, files);
  else files.push(root);
}
if (files.length === 0) {
  console.error('run-tests: no *.test.ts files found under ' + (roots.join(', ') || 'test'));
  process.exit(1);
}

const fence = pathToFileURL(resolve('test/support/network-fence.mjs')).href;
const concurrency = process.env.TEST_CONCURRENCY ?? '2';
const child = spawn(
  process.execPath,
  [
    '--import',
    'tsx',
    '--import',
    fence,
    '--test',
    `--test-concurrency=${concurrency}`,
    ...passThrough,
    ...files,
  ],
  { stdio: 'inherit', env: { ...process.env, MXDOCTOR_TEST_FENCE: fence } },
);
child.on('exit', (code, signal) => process.exit(signal ? 1 : (code ?? 1)));
