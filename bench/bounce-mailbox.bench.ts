// P5 (issue 14): a bounce mailbox at once. `mxdoctor bounce DIR --json --no-followup` over the
// shared bounce corpus, side by side in the same run with Sisimai (Sisimai->make over the same
// folder, each result printed as JSON: bench/support/sisimai-make.pl), both pinned to one core
// (taskset -c 0) when taskset exists. The corpus (emails/ and not-bounces/, 239 files) is copied
// COPIES times into one folder so that start-up does not hide the per-message rate; each tool
// also runs over a folder of one message, for its start-up cost. Rates are messages per second
// of wall time and of CPU time (user + system of the child: the steadier figure on a busy
// machine); "marginal" leaves out the start-up. mxdoctor's peak RSS is read from the child
// (bench/support/max-rss.mjs preloaded).
//
//   npm run bench bounce-mailbox          COPIES=10 ROUNDS=3 by default
// Skips cleanly without the corpus (../shared/corpus/bounces) or without Sisimai
// (apt-get install libsisimai-perl): then only mxdoctor is measured.
// Results also go to bench/results/bounce-mailbox.json.
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT } from '../test/support/cli.js';
import { CORPUS_DIR, corpusAvailable } from '../test/support/bounce-corpus.js';

const COPIES = Number(process.env.COPIES ?? 10);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const TARGET = 2000;
const TICK_MS = 10;

if (!corpusAvailable()) {
  console.log(`bounce corpus not found at ${CORPUS_DIR}; skipped`);
  process.exit(0);
}
if (!existsSync(join(ROOT, 'dist', 'src', 'cli', 'main.js'))) {
  console.log('bounce-mailbox: dist/ is missing (run `npm run build`); skipped');
  process.exit(0);
}
const has = (cmd: string, args: string[]): boolean => spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;
const pin = has('taskset', ['-c', '0', 'true']) ? ['taskset', '-c', '0'] : [];
const sisimai = has('perl', ['-MSisimai', '-e', '1']);
const sisimaiVersion = sisimai
  ? spawnSync('perl', ['-MSisimai', '-e', 'print $Sisimai::VERSION'], { encoding: 'utf8' }).stdout.trim()
  : null;

// The corpus, COPIES times, in one folder (names prefixed so that none collide).
const work = mkdtempSync(join(tmpdir(), 'mxdoctor-bench-mailbox-'));
const big = join(work, 'corpus');
const one = join(work, 'one');
mkdirSync(big);
mkdirSync(one);
const files = ['emails', 'not-bounces'].flatMap((sub) =>
  readdirSync(join(CORPUS_DIR, sub)).map((name) => join(CORPUS_DIR, sub, name)),
);
for (let c = 0; c < COPIES; c++) {
  for (const path of files)
    copyFileSync(path, join(big, `${String(c).padStart(3, '0')}-${path.split('/').pop()}`));
}
copyFileSync(files.find((f) => f.endsWith('lhost-postfix-01.eml')) ?? files[0]!, join(one, 'message.eml'));
const megabytes = (files.reduce((n, f) => n + readFileSync(f).length, 0) * COPIES) / 1024 / 1024;

/** CPU time of this process's reaped children so far, in ms (Linux /proc). */
function childrenCpuMs(): number {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[13]) + Number(fields[14])) * TICK_MS;
  } catch {
    return NaN;
  }
}

interface Run {
  wallMs: number;
  cpuMs: number;
  lines: number;
  /** Peak resident set size in KiB, when the child reports it. */
  maxRssKib: number;
}

const maxRssPreload = pathToFileURL(join(ROOT, 'bench', 'support', 'max-rss.mjs')).href;

function run(argv: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const cpu0 = childrenCpuMs();
    const t0 = performance.now();
    const [cmd, ...args] = [...pin, ...argv];
    const child = spawn(cmd!, args, {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let lines = 0;
    child.stdout.on('data', (d: Buffer) => {
      for (let i = d.indexOf(0x0a); i >= 0; i = d.indexOf(0x0a, i + 1)) lines++;
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const maxRssKib = Number(/max-rss-kib (\d+)/.exec(stderr)?.[1] ?? 0);
      const r = { wallMs: performance.now() - t0, cpuMs: childrenCpuMs() - cpu0, lines, maxRssKib };
      // mxdoctor exits 1 when some messages are unusable (the corpus holds non-bounces).
      if (code !== 0 && code !== 1)
        reject(new Error(`${argv.join(' ')} exited ${code}: ${stderr.slice(0, 500)}`));
      else resolve(r);
    });
  });
}

const mxdoctor = (dir: string): string[] => [
  process.execPath,
  '--import',
  maxRssPreload,
  join(ROOT, 'bin', 'mxdoctor.js'),
  'bounce',
  dir,
  '--json',
  '--no-followup',
];
const perl = (dir: string): string[] => ['perl', join(ROOT, 'bench', 'support', 'sisimai-make.pl'), dir];

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

interface Tool {
  name: string;
  argv: (dir: string) => string[];
  big: Run[];
  one: Run[];
}
const tools: Tool[] = [{ name: 'mxdoctor', argv: mxdoctor, big: [], one: [] }];
if (sisimai) tools.push({ name: `Sisimai ${sisimaiVersion}`, argv: perl, big: [], one: [] });

const messages = readdirSync(big).length;
try {
  for (const t of tools) await run(t.argv(one)); // warm-up: disk cache
  for (let r = 0; r < ROUNDS; r++) {
    for (const t of tools) {
      t.one.push(await run(t.argv(one)));
      t.big.push(await run(t.argv(big)));
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

const rows = tools.map((t) => {
  const wall = median(t.big.map((r) => r.wallMs));
  const cpu = median(t.big.map((r) => r.cpuMs));
  const startWall = median(t.one.map((r) => r.wallMs));
  const startCpu = median(t.one.map((r) => r.cpuMs));
  return {
    tool: t.name,
    files: messages,
    outputLines: t.big[0]!.lines,
    wallMs: Math.round(wall),
    cpuMs: Math.round(cpu),
    startWallMs: Math.round(startWall),
    startCpuMs: Math.round(startCpu),
    perSecondWall: Math.round(messages / (wall / 1000)),
    perSecondCpu: Math.round(messages / (cpu / 1000)),
    marginalPerSecondCpu: Math.round((messages - 1) / ((cpu - startCpu) / 1000)),
    maxRssMb: Math.round(Math.max(...t.big.map((r) => r.maxRssKib)) / 1024) || null,
  };
});
console.log(
  `bounce mailbox: ${messages} files (the corpus ×${COPIES}, ${megabytes.toFixed(1)} MB), ${pin.length ? 'pinned to one core' : 'not pinned (no taskset)'}, median of ${ROUNDS}`,
);
for (const r of rows) {
  console.log(
    `  ${r.tool.padEnd(16)} ${String(r.outputLines).padStart(5)} lines  wall ${String(r.wallMs).padStart(6)} ms  CPU ${String(r.cpuMs).padStart(6)} ms  →  ${String(r.perSecondWall).padStart(5)} msg/s (wall)  ${String(r.perSecondCpu).padStart(5)} msg/s (CPU)  ${String(r.marginalPerSecondCpu).padStart(5)} msg/s (CPU, less a ${r.startCpuMs} ms start-up)${r.maxRssMb ? `  peak RSS ${r.maxRssMb} MB` : ''}`,
  );
}
const [mx, ss] = rows;
let ratio: { wall: number; cpu: number } | null = null;
if (mx && ss) {
  ratio = {
    wall: Math.round((mx.perSecondWall / ss.perSecondWall) * 100) / 100,
    cpu: Math.round((mx.perSecondCpu / ss.perSecondCpu) * 100) / 100,
  };
  console.log(`  mxdoctor / Sisimai: ×${ratio.cpu} (CPU), ×${ratio.wall} (wall)`);
} else console.log('  Sisimai not installed (apt-get install libsisimai-perl): no side-by-side figure');
console.log(
  `  P5 target ≥ ${TARGET} msg/s: ${mx!.perSecondCpu >= TARGET ? 'met' : 'NOT met'} (${mx!.perSecondCpu} msg/s of CPU)`,
);
mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
writeFileSync(
  join(ROOT, 'bench', 'results', 'bounce-mailbox.json'),
  JSON.stringify(
    { at: new Date().toISOString(), copies: COPIES, rounds: ROUNDS, pinned: pin.length > 0, rows, ratio },
    null,
    2,
  ) + '\n',
);
