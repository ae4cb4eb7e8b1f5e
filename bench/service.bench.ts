// Service benchmark (issue 5's closing figures), reproducible with `npm run bench` or
// `node scripts/run-bench.mjs bench/service.bench.ts`. Needs Redis at 127.0.0.1:6379.
//
// 1. Latency: time from POST /api/v1/checks to the completed report for a fixture domain
//    (MX on 127.0.0.x, fixture DNS on loopback), single-process mode (web + worker), median
//    of 10 sequential checks of distinct domains (so dedupe never answers).
// 2. Throughput: 200 checks queued while the queue is paused, then one worker process
//    (workers/worker.ts) takes them; checks per second until all 200 are completed, and the
//    worker's CPU time per check (issue 14 P3), at the default concurrency and at 16. The
//    worker first runs BENCH_WARM_UP (40) checks of other domains, untimed: a worker lives for
//    days, and a cold one spends its first checks compiling its modules and warming up V8's
//    optimiser (3-4 ms per check of the 200). BENCH_WARM_UP=0 times it cold, as before.
//    The bench domains publish no DKIM key, so _domainkey does not exist and the DKIM check
//    asks 5 questions; BENCH_DKIM=1 gives each a key under selector1, and then it asks 46.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { startFixtureDns } from '../test/support/dns-server.js';
import { SERVICE_ZONES, benchZones } from '../test/fixtures/zones/service.js';
import { startTestService } from '../test/support/service.js';
import { settledJobs, startWorkerProcess, workerEnv } from './support/worker-process.js';

const LATENCY_RUNS = 10;
const QUEUED = 200;
const WARM_UP = Number(process.env.BENCH_WARM_UP ?? 40);
const DKIM = process.env.BENCH_DKIM === '1';

const dns = await startFixtureDns({
  zones: { ...SERVICE_ZONES, ...benchZones(LATENCY_RUNS + 2 * (WARM_UP + QUEUED), { dkim: DKIM }) },
});
const env = {
  MXDOCTOR_RATE_LIMIT_CHECKS: 'off',
  MXDOCTOR_RATE_LIMIT_REQUESTS: 'off',
  MXDOCTOR_LOG_LEVEL: 'warn',
};

async function post(url: string, domain: string): Promise<string> {
  const res = await fetch(`${url}/api/v1/checks`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ domain }),
  });
  if (res.status !== 202) throw new Error(`POST ${domain}: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { id: string }).id;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

// 1. Latency.
const latencies: number[] = [];
{
  const t = await startTestService({ dns, env });
  for (let i = 0; i < LATENCY_RUNS; i++) {
    const t0 = performance.now();
    const id = await post(t.url, `bench-${i}.example.com`);
    for (;;) {
      const s = (await (await fetch(`${t.url}/api/v1/checks/${id}`)).json()) as { status: string };
      if (s.status === 'completed') break;
      if (s.status === 'failed') throw new Error(`check ${id} failed`);
      await new Promise((r) => setTimeout(r, 2));
    }
    latencies.push(performance.now() - t0);
  }
  await t.stop();
}

// 2. Throughput of one worker process (workers/worker.ts, as `mxdoctor worker` runs it), so
//    that its CPU time is the worker's alone (the fixture DNS and the web stay in this process).
//    BENCH_CPU_PROF=<dir> writes the worker's V8 CPU profile there.
async function throughput(
  concurrency: number,
  offset: number,
): Promise<{ seconds: number; perSecond: number; cpuMsPerCheck: number; peakRssMiB: number }> {
  const t = await startTestService({ dns, env, mode: 'web' });
  const queue = t.service.queue.queue;
  await queue.pause();
  const prof = process.env.BENCH_CPU_PROF;
  const worker = await startWorkerProcess(
    workerEnv({
      prefix: t.prefix,
      dnsAddress: dns.address,
      smtpPort: t.config.smtp.port,
      // The worker logs at the default level (info), as in production.
      extra: { ...env, MXDOCTOR_LOG_LEVEL: 'info', MXDOCTOR_WORKER_CONCURRENCY: String(concurrency) },
    }),
    prof ? { nodeArgs: ['--cpu-prof', '--cpu-prof-dir', prof] } : {},
  );
  const settled = (count: number): Promise<void> => settledJobs(queue, count, 20);
  if (WARM_UP > 0) {
    for (let i = 0; i < WARM_UP; i++) await post(t.url, `bench-${offset + QUEUED + i}.example.com`);
    await queue.resume();
    await settled(WARM_UP);
    await queue.pause();
  }
  for (let i = 0; i < QUEUED; i++) await post(t.url, `bench-${offset + i}.example.com`);
  const cpu0 = worker.cpuMs();
  const t0 = performance.now();
  await queue.resume();
  await settled(WARM_UP + QUEUED);
  const seconds = (performance.now() - t0) / 1000;
  const cpuMs = worker.cpuMs() - cpu0;
  const peakRssMiB = worker.peakRssKiB() / 1024;
  await worker.stop();
  await t.stop();
  return { seconds, perSecond: QUEUED / seconds, cpuMsPerCheck: cpuMs / QUEUED, peakRssMiB };
}
const defaultConcurrency = 4;
const tDefault = await throughput(defaultConcurrency, LATENCY_RUNS);
const t16 = await throughput(16, LATENCY_RUNS + WARM_UP + QUEUED);
await dns.stop();

const results = {
  date: new Date().toISOString(),
  machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version },
  latencyMs: {
    median: Math.round(median(latencies)),
    min: Math.round(Math.min(...latencies)),
    max: Math.round(Math.max(...latencies)),
    runs: latencies.map(Math.round),
  },
  throughput: [
    {
      concurrency: defaultConcurrency,
      warmUpChecks: WARM_UP,
      dkim: DKIM,
      checks: QUEUED,
      seconds: +tDefault.seconds.toFixed(2),
      checksPerSecond: +tDefault.perSecond.toFixed(1),
      cpuMsPerCheck: +tDefault.cpuMsPerCheck.toFixed(1),
      peakRssMiB: Math.round(tDefault.peakRssMiB),
    },
    {
      concurrency: 16,
      warmUpChecks: WARM_UP,
      dkim: DKIM,
      checks: QUEUED,
      seconds: +t16.seconds.toFixed(2),
      checksPerSecond: +t16.perSecond.toFixed(1),
      cpuMsPerCheck: +t16.cpuMsPerCheck.toFixed(1),
      peakRssMiB: Math.round(t16.peakRssMiB),
    },
  ],
};
console.log(
  `POST → completed report, fixture domain, single process: median ${results.latencyMs.median} ms of ${LATENCY_RUNS} (min ${results.latencyMs.min}, max ${results.latencyMs.max})`,
);
for (const r of results.throughput) {
  console.log(
    `${QUEUED} queued checks${DKIM ? ' of domains with DKIM' : ''}, one worker process${WARM_UP ? ` (after ${WARM_UP} untimed)` : ' (cold)'}, concurrency ${r.concurrency}: ${r.seconds} s = ${r.checksPerSecond} checks/s, worker CPU ${r.cpuMsPerCheck} ms/check, peak RSS ${r.peakRssMiB} MiB`,
  );
}
mkdirSync('bench/results', { recursive: true });
writeFileSync(
  `bench/results/service-${results.date.slice(0, 19).replace(/:/g, '')}.json`,
  JSON.stringify(results, null, 2) + '\n',
);
