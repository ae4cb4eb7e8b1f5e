#!/usr/bin/env node
// Runs the benchmarks: every bench/*.bench.ts (or the files given), one after another, with
// tsx and the network fence (benchmarks talk to loopback only). Each prints its figures and
// may write JSON to bench/results/.
import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';

const given = process.argv.slice(2);
const files = given.length
  ? given
  : readdirSync('bench')
      .filter((f) => f.endsWith('.bench.ts'))
      .sort()
      .map((f) => join('bench', f));
if (files.length === 0) {
  console.error('run-bench: no bench/*.bench.ts files');
  process.exit(1);
}
const fence = pathToFileURL(resolve('test/support/network-fence.mjs')).href;
let failed = 0;
for (const file of files) {
  console.log(`\n== ${file}`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--import', fence, file], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
