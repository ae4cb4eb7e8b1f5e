// Service benchmark (issue 5's closing figures), reproducible with `npm run bench` or
// `node scripts/run-bench.mjs bench/service.bench.ts`. Needs Redis at 127.0.0.1:6379.
//
// 1. Latency: time from POST /api/v1/checks to the completed report for a fixture domain
//    (MX on 127.0.0.x, fixture DNS on loopback), single-process mode (web + worker), median
//    of 10 sequential checks of distinct domains (so dedupe never answers).
// 2. Throughput: 200 checks queued while the worker is paused, then the worker resumes;
//    checks per second until all 200 are completed, at the default concurrency and at 16.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { startFixtureDns } from '../test/support/dns-server.js';
import { SERVICE_ZONES, benchZones } from '../test/fixtures/zones/service.js';
import { startTestService } from '../test/support/service.js';

const LATENCY_RUNS = 10;
const QUEUED = 200;

const dns = await startFixtureDns({ zones: { ...SERVICE_ZONES, ...benchZones(LATENCY_RUNS + 2 * QUEUED) } });
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

// 2. Throughput.
async function throughput(
  concurrency: number,
  offset: number,
): Promise<{ seconds: number; perSecond: number }> {
  const t = await startTestService({
    dns,
    env: { ...env, MXDOCTOR_WORKER_CONCURRENCY: String(concurrency) },
  });
  const worker = t.service.worker!;
  await worker.pause();
  for (let i = 0; i < QUEUED; i++) await post(t.url, `bench-${offset + i}.example.com`);
  const queue = t.service.queue.queue;
  const t0 = performance.now();
  worker.resume();
  for (;;) {
    const counts = await queue.getJobCounts('completed', 'failed');
    if ((counts.completed ?? 0) + (counts.failed ?? 0) >= QUEUED) {
      if (counts.failed) throw new Error(`${counts.failed} checks failed`);
      break;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  const seconds = (performance.now() - t0) / 1000;
  await t.stop();
  return { seconds, perSecond: QUEUED / seconds };
}
const defaultConcurrency = 4;
const tDefault = await throughput(defaultConcurrency, LATENCY_RUNS);
const t16 = await throughput(16, LATENCY_RUNS + QUEUED);
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
      checks: QUEUED,
      seconds: +tDefault.seconds.toFixed(2),
      checksPerSecond: +tDefault.perSecond.toFixed(1),
    },
    {
      concurrency: 16,
      checks: QUEUED,
      seconds: +t16.seconds.toFixed(2),
      checksPerSecond: +t16.perSecond.toFixed(1),
    },
  ],
};
console.log(
  `POST → completed report, fixture domain, single process: median ${results.latencyMs.median} ms of ${LATENCY_RUNS} (min ${results.latencyMs.min}, max ${results.latencyMs.max})`,
);
for (const r of results.throughput) {
  console.log(
    `${QUEUED} queued checks, single process, concurrency ${r.concurrency}: ${r.seconds} s = ${r.checksPerSecond} checks/s`,
  );
}
mkdirSync('bench/results', { recursive: true });
writeFileSync(
  `bench/results/service-${results.date.slice(0, 19).replace(/:/g, '')}.json`,
  JSON.stringify(results, null, 2) + '\n',
);
