// The long fuzz run (issue 13 §8):
//   npm run fuzz [-- target… --runs N --seed S --path P --jobs J --exclude-known]
//
// Runs every fuzz target of test/fuzz/ (or the ones named) for N cases each (default
// 100,000), each target in a child process of its own (so its peak RSS is its own, and a
// target whose event loop is stuck in a synchronous loop can be seen and killed), with the
// network fence loaded, so that nothing leaves loopback. Prints, per target: cases run,
// cases/s, crashes, hangs and property violations (fast-check stops at the first failure and
// shrinks it: the seed, path and counterexample are printed to replay it with --seed/--path),
// the slowest case, peak RSS, and the heap after garbage collection at 10 % of the run and at
// its end (growth between the two would be a leak). Exits 1 when any target failed.
// --jobs runs that many targets at once; --exclude-known leaves out the input shapes that the
// short run leaves out for a known open issue (each named where it is left out).
import { fork } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import fc from 'fast-check';
import { failureKind, stats } from '../test/fuzz/harness.js';
import type { FailureKind } from '../test/fuzz/harness.js';
import { TARGETS } from '../test/fuzz/targets.js';

interface Options {
  targets: string[];
  runs: number;
  seed: number | undefined;
  path: string | undefined;
  jobs: number;
  /** Leave out input shapes with a known open issue, as the short run in npm test does. */
  excludeKnown: boolean;
  child: string | undefined;
}

interface Result {
  target: string;
  cases: number;
  seconds: number;
  failure?: {
    kind: FailureKind | 'stuck';
    seed: number;
    path: string;
    counterexample: string;
    error: string;
  };
  maxCaseMs: number;
  peakRssMb: number;
  heapMb: { start: number; warm: number; end: number };
}

type Message = { type: 'progress'; cases: number; rssMb: number } | { type: 'result'; result: Result };

/** A child that sends no progress for this long has its event loop stuck. */
const STUCK_MS = 60_000;

function parseArgs(argv: string[]): Options {
  const o: Options = {
    targets: [],
    runs: 100_000,
    seed: undefined,
    path: undefined,
    jobs: 1,
    excludeKnown: false,
    child: undefined,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--runs') o.runs = Number(value());
    else if (a === '--seed') o.seed = Number(value());
    else if (a === '--path') o.path = value();
    else if (a === '--jobs') o.jobs = Number(value());
    else if (a === '--child') o.child = value();
    else if (a === '--exclude-known') o.excludeKnown = true;
    else if (a.startsWith('--')) throw new Error(`unknown option ${a}`);
    else o.targets.push(a);
  }
  if (!Number.isInteger(o.runs) || o.runs < 1) throw new Error('--runs takes a positive integer');
  if (!Number.isInteger(o.jobs) || o.jobs < 1) throw new Error('--jobs takes a positive integer');
  for (const t of o.targets)
    if (!TARGETS.some((x) => x.name === t))
      throw new Error(`no fuzz target ${t}; targets: ${TARGETS.map((x) => x.name).join(', ')}`);
  return o;
}

const mb = (bytes: number): number => Math.round((bytes / 1048576) * 10) / 10;

function heapAfterGc(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return mb(process.memoryUsage().heapUsed);
}

/** In the child: runs one target and reports to the parent. */
async function runChild(o: Options): Promise<void> {
  const target = TARGETS.find((t) => t.name === o.child)!;
  const send = (m: Message): void => void process.send?.(m);
  const instance = await target.create({ mode: o.excludeKnown ? 'short' : 'full' });
  const heapMb = { start: heapAfterGc(), warm: 0, end: 0 };
  const warmAt = Math.max(1, Math.floor(o.runs / 10));
  const progress = setInterval(() => {
    if (!heapMb.warm && stats.cases >= warmAt) heapMb.warm = heapAfterGc();
    send({ type: 'progress', cases: stats.cases, rssMb: mb(process.memoryUsage().rss) });
  }, 1000);
  const seed = o.seed!;
  const t0 = performance.now();
  const details = await fc.check(instance.property, {
    numRuns: o.runs,
    seed,
    ...(o.path ? { path: o.path } : {}),
    includeErrorInReport: true,
  });
  const seconds = (performance.now() - t0) / 1000;
  clearInterval(progress);
  await instance.stop();
  heapMb.end = heapAfterGc();
  if (!heapMb.warm) heapMb.warm = heapMb.end;
  const result: Result = {
    target: target.name,
    cases: details.numRuns,
    seconds,
    maxCaseMs: Math.round(stats.maxCaseMs),
    peakRssMb: mb(process.resourceUsage().maxRSS * 1024),
    heapMb,
  };
  if (details.failed) {
    const error = details.errorInstance;
    result.failure = {
      kind: failureKind(error),
      seed: details.seed,
      path: details.counterexamplePath ?? '',
      counterexample: fc.stringify(details.counterexample).slice(0, 4000),
      error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    };
  }
  send({ type: 'result', result });
  process.exit(0);
}

function runTarget(name: string, o: Options): Promise<Result> {
  const target = TARGETS.find((t) => t.name === name)!;
  const fence = pathToFileURL(resolve('test/support/network-fence.mjs')).href;
  const seed = o.seed ?? Math.floor(Math.random() * 2 ** 31);
  const args = ['--child', name, '--runs', String(o.runs), '--seed', String(seed)];
  if (o.path) args.push('--path', o.path);
  if (o.excludeKnown) args.push('--exclude-known');
  const dir = mkdtempSync(join(tmpdir(), 'mxdoctor-fuzz-'));
  const currentFile = join(dir, 'current.json');
  const child = fork(resolve('scripts/fuzz.ts'), args, {
    execArgv: ['--import', 'tsx', '--import', fence, '--expose-gc'],
    env: { ...process.env, MXDOCTOR_TEST_FENCE: fence, FUZZ_CURRENT_FILE: currentFile },
  });
  return new Promise((resolveResult) => {
    let last = Date.now();
    let lastCases = 0;
    let lastPrint = 0;
    let result: Result | undefined;
    const started = performance.now();
    const watchdog = setInterval(() => {
      if (Date.now() - last < Math.max(STUCK_MS, target.budgetMs * 3)) return;
      child.kill('SIGKILL');
    }, 1000);
    child.on('message', (m: Message) => {
      last = Date.now();
      if (m.type === 'progress') {
        lastCases = m.cases;
        if (Date.now() - lastPrint > 30_000) {
          lastPrint = Date.now();
          const s = (performance.now() - started) / 1000;
          console.log(`  ${name}: ${m.cases} cases, ${Math.round(m.cases / s)}/s, RSS ${m.rssMb} MB`);
        }
      } else result = m.result;
    });
    child.on('exit', (code, signal) => {
      clearInterval(watchdog);
      let current: { index: number; what: string } | undefined;
      try {
        current = JSON.parse(readFileSync(currentFile, 'utf8')) as { index: number; what: string };
      } catch {
        // No case started.
      }
      rmSync(dir, { recursive: true, force: true });
      resolveResult(
        result ?? {
          target: name,
          cases: current?.index ?? lastCases,
          seconds: (performance.now() - started) / 1000,
          failure: {
            kind: 'stuck',
            seed,
            path: current ? String(current.index) : '',
            counterexample: current?.what ?? '',
            error: signal
              ? `killed after ${STUCK_MS / 1000} s without progress: the event loop is stuck in case ${current?.index ?? lastCases}`
              : `the child exited with code ${code} before reporting`,
          },
          maxCaseMs: 0,
          peakRssMb: 0,
          heapMb: { start: 0, warm: 0, end: 0 },
        },
      );
    });
  });
}

function print(results: Result[]): void {
  const head = [
    'target',
    'cases',
    'cases/s',
    'crashes',
    'hangs',
    'violations',
    'slowest ms',
    'peak RSS MB',
    'heap MB (10% → end)',
  ];
  const rows = results.map((r) => {
    const k = r.failure?.kind;
    return [
      r.target,
      String(r.cases),
      String(Math.round(r.cases / Math.max(r.seconds, 0.001))),
      k === 'crash' ? '1' : '0',
      k === 'hang' || k === 'stuck' ? '1' : '0',
      k === 'violation' ? '1' : '0',
      String(r.maxCaseMs),
      String(r.peakRssMb),
      `${r.heapMb.warm} → ${r.heapMb.end}`,
    ];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  console.log(line(head));
  for (const r of rows) console.log(line(r));
  for (const r of results) if (r.failure) printFailure(r);
}

function printFailure(r: Result): void {
  const f = r.failure!;
  console.log(`\n${r.target}: ${f.kind} after ${r.cases} cases — ${f.error}`);
  if (f.counterexample)
    console.log(`  ${f.kind === 'stuck' ? 'case' : 'counterexample'}: ${f.counterexample}`);
  if (f.path)
    console.log(`  replay: npm run fuzz -- ${r.target} --seed ${f.seed} --path "${f.path}" --runs 1\n`);
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  if (o.child) return runChild(o);
  const names = o.targets.length ? o.targets : TARGETS.map((t) => t.name);
  console.log(
    `fuzzing ${names.join(', ')}: ${o.runs} cases each${o.seed !== undefined ? `, seed ${o.seed}` : ''}, ${o.jobs} at a time`,
  );
  const results: Result[] = [];
  const queue = [...names];
  await Promise.all(
    Array.from({ length: Math.min(o.jobs, queue.length) }, async () => {
      for (let name = queue.shift(); name; name = queue.shift()) {
        const r = await runTarget(name, o);
        console.log(
          `  ${name}: done, ${r.cases} cases in ${r.seconds.toFixed(1)} s${r.failure ? ` — ${r.failure.kind}` : ''}`,
        );
        if (r.failure) printFailure(r);
        results.push(r);
      }
    }),
  );
  results.sort((a, b) => names.indexOf(a.target) - names.indexOf(b.target));
  console.log('');
  print(results);
  process.exitCode = results.some((r) => r.failure) ? 1 : 0;
}

main().catch((err: unknown) => {
  console.error(`fuzz: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(2);
});
