#!/usr/bin/env node
// Runs every bench/*.bench.ts (or the files given; a bare word selects files containing it) one after the other, with tsx as the loader and
// the network fence loaded, so a benchmark can only talk to loopback.
import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';

const given = process.argv.slice(2);
const files = readdirSync('bench')
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => given.length === 0 || given.some((g) => f.includes(g.replace(/^bench\//, ''))))
  .sort()
  .map((f) => join('bench', f));
if (files.length === 0) {
  console.error('bench: no bench/*.bench.ts matches');
  process.exit(1);
}
const fence = pathToFileURL(resolve('test/support/network-fence.mjs')).href;
let failed = 0;
for (const file of files) {
  console.log(`== ${file}`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--import', fence, file], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
