// A standalone worker process (workers/worker.ts, as `mxdoctor worker` runs it) for the
// service benches: the compiled dist/workers/worker.js when `npm run bench` has built it, the
// sources through tsx otherwise; the network fence loaded. Its CPU time and resident set are
// read from /proc while it runs, so a bench measures the worker alone, not the fixtures.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CHECK_PROCESS_NODE_FLAGS } from '../../src/server/heap.js';
import { ROOT } from '../../test/support/cli.js';
import { TEST_REDIS_URL } from '../../test/support/redis.js';

const FENCE = pathToFileURL(join(ROOT, 'test', 'support', 'network-fence.mjs')).href;
const COMPILED = join(ROOT, 'dist', 'workers', 'worker.js');
/** Clock ticks per second of /proc/<pid>/stat (USER_HZ; 100 on Linux). */
const TICKS = 100;

export interface WorkerProcess {
  child: ChildProcess;
  pid: number;
  compiled: boolean;
  /** User + system CPU time so far, in ms (10 ms resolution). */
  cpuMs(): number;
  /** Resident set now, KiB. */
  rssKiB(): number;
  /** Peak resident set so far (VmHWM), KiB. */
  peakRssKiB(): number;
  /** JSON log lines so far. */
  lines(): Record<string, unknown>[];
  /** Stops it (SIGTERM, then SIGKILL after 15 s); resolves when it exited. */
  stop(): Promise<void>;
}

/** The environment of a worker against the fixtures: the same settings startTestService uses. */
export function workerEnv(o: {
  prefix: string;
  dnsAddress: string;
  smtpPort: number;
  extra?: Record<string, string>;
}): Record<string, string> {
  return {
    MXDOCTOR_RESOLVERS: o.dnsAddress,
    MXDOCTOR_DNS_TIMEOUT: '5s',
    MXDOCTOR_ALLOW_PRIVATE: '1',
    MXDOCTOR_SMTP_PORT: String(o.smtpPort),
    MXDOCTOR_EHLO_NAME: 'probe.example.org',
    REDIS_URL: TEST_REDIS_URL,
    MXDOCTOR_REDIS_PREFIX: o.prefix,
    MXDOCTOR_WORKER_PORT: '0',
    MXDOCTOR_SHUTDOWN_GRACE: '5s',
    MXDOCTOR_LOG_LEVEL: 'info',
    ...o.extra,
  };
}

export async function startWorkerProcess(
  env: Record<string, string>,
  options: { nodeArgs?: string[]; readyTimeoutMs?: number } = {},
): Promise<WorkerProcess> {
  const compiled = existsSync(COMPILED) && process.env.BENCH_FROM_SOURCE !== '1';
  const args = [
    '--import',
    FENCE,
    ...(compiled ? [] : ['--import', 'tsx']),
    // As `npm run worker` starts it; BENCH_WORKER_HEAP=default measures V8's defaults instead.
    ...(process.env.BENCH_WORKER_HEAP === 'default' ? [] : CHECK_PROCESS_NODE_FLAGS),
    ...(options.nodeArgs ?? []),
    // Extra node options for investigations, e.g. --heapsnapshot-signal=SIGUSR2 or --cpu-prof.
    ...(process.env.BENCH_WORKER_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
    compiled ? COMPILED : join(ROOT, 'workers', 'worker.ts'),
  ];
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', process.env.BENCH_WORKER_STDERR ? 'inherit' : 'pipe'],
  });
  const pid = child.pid!;
  let stdout = '';
  let stderr = '';
  const parsed: Record<string, unknown>[] = [];
  let onLine: ((l: Record<string, unknown>) => void) | undefined;
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
    let i: number;
    while ((i = stdout.indexOf('\n')) >= 0) {
      const line = stdout.slice(0, i);
      stdout = stdout.slice(i + 1);
      if (!line.startsWith('{')) continue;
      const l = JSON.parse(line) as Record<string, unknown>;
      parsed.push(l);
      onLine?.(l);
    }
  });
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  let lastStat = '';
  let lastStatus = '';
  const read = (file: string): string => {
    try {
      return readFileSync(`/proc/${pid}/${file}`, 'utf8');
    } catch {
      return '';
    }
  };
  const stat = (): string => (lastStat = read('stat') || lastStat);
  const status = (): string => (lastStatus = read('status') || lastStatus);
  const field = (name: string): number =>
    Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status())?.[1] ?? 0);

  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`worker not ready after ${options.readyTimeoutMs ?? 30_000} ms: ${stderr}`)),
      options.readyTimeoutMs ?? 30_000,
    );
    onLine = (l) => {
      if (/worker started on queue "checks"/.test(String(l.msg))) {
        clearTimeout(timer);
        resolve();
      }
    };
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`worker exited at start: ${stderr}`));
    });
  });
  onLine = undefined;

  return {
    child,
    pid,
    compiled,
    cpuMs() {
      // Fields after the command name (which may hold spaces): utime is the 12th, stime the 13th.
      const rest = stat()
        .slice(stat().lastIndexOf(')') + 2)
        .split(' ');
      return ((Number(rest[11]) + Number(rest[12])) * 1000) / TICKS;
    },
    rssKiB: () => field('VmRSS'),
    peakRssKiB: () => field('VmHWM'),
    lines: () => parsed,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Waits until `count` jobs of the queue have completed; throws if any failed. */
export async function settledJobs(
  queue: { getJobCounts(...types: string[]): Promise<Record<string, number>> },
  count: number,
  pollMs = 10,
): Promise<void> {
  for (;;) {
    const counts = await queue.getJobCounts('completed', 'failed');
    if ((counts.completed ?? 0) + (counts.failed ?? 0) >= count) {
      if (counts.failed) throw new Error(`${counts.failed} checks failed`);
      return;
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
