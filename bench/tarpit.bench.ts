// Benchmark (issue 14 P4): one worker process holds 500 concurrent checks of domains whose MX
// is a tarpit (half greet at one byte per second, half never greet), each on its own loopback
// address so the per-address limit does not serialise them, within 150 MB of resident memory;
// each of them ends at the check deadline; and normal checks submitted meanwhile keep
// completing. Prints the worker's peak RSS, how far past its deadline each tarpit check ended,
// and the latency of normal checks before and during the flood.
// Run with `npm run bench tarpit` (BENCH_TARPITS, BENCH_DEADLINE_MS to change the load).
// Needs Redis at 127.0.0.1:6379. Results also go to bench/results/tarpit.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import type { Job } from 'bullmq';
import type { FixtureDns } from '../test/support/dns-server.js';
import { freePort } from '../test/support/smtp-fakes.js';
import { startTestService } from '../test/support/service.js';
import { startFastDns } from './support/fast-dns.js';
import type { FastZone } from './support/fast-dns.js';
import { loopbackAddress, startFakeMx } from './support/fake-mx.js';
import type { FakeMx } from './support/fake-mx.js';
import { startWorkerProcess, workerEnv } from './support/worker-process.js';

const TARPITS = Number(process.env.BENCH_TARPITS ?? 500);
const NORMAL_BEFORE = 10;
const DEADLINE_MS = Number(process.env.BENCH_DEADLINE_MS ?? 20_000);
/** Worker slots beyond the tarpits, for the normal checks. */
const HEADROOM = 16;
const RSS_TARGET_MIB = 150;

const zones: Record<string, FastZone> = {};
const domain = (kind: string, i: number): string => `${kind}-${i}.example.com`;
const NORMAL_MAX = 200;
for (let i = 0; i < TARPITS; i++) {
  zones[domain('tarpit', i)] = { MX: [`10 mx.${domain('tarpit', i)}`] };
  zones[`mx.${domain('tarpit', i)}`] = { A: [loopbackAddress(1, i)] };
}
for (let i = 0; i < NORMAL_MAX; i++) {
  zones[domain('normal', i)] = { MX: [`10 mx.${domain('normal', i)}`] };
  zones[`mx.${domain('normal', i)}`] = { A: [loopbackAddress(2, i)] };
}
// A fast responder: the flood sends tens of thousands of queries (the worker's, not the
// fixture server's, speed is measured).
const dns = await startFastDns(zones);
const port = await freePort();
const tarpits: FakeMx[] = [];
for (let i = 0; i < TARPITS; i++)
  tarpits.push(await startFakeMx(loopbackAddress(1, i), port, i % 2 ? 'silent' : 'tarpit'));
const normals: FakeMx[] = [];
for (let i = 0; i < NORMAL_MAX; i++) normals.push(await startFakeMx(loopbackAddress(2, i), port, 'mta'));

const env = {
  MXDOCTOR_RATE_LIMIT_CHECKS: 'off',
  MXDOCTOR_RATE_LIMIT_REQUESTS: 'off',
  MXDOCTOR_LOG_LEVEL: 'warn',
};
// The web process only needs the resolver's address in its configuration.
const web = await startTestService({ dns: dns as unknown as FixtureDns, env, mode: 'web' });
const queue = web.service.queue.queue;
const worker = await startWorkerProcess(
  workerEnv({
    prefix: web.prefix,
    dnsAddress: dns.address,
    smtpPort: port,
    extra: {
      MXDOCTOR_LOG_LEVEL: 'info',
      MXDOCTOR_WORKER_CONCURRENCY: String(TARPITS + HEADROOM),
      MXDOCTOR_CHECK_DEADLINE: `${DEADLINE_MS}ms`,
      // The check's deadline ends a tarpit, not the greeting's own timeout.
      MXDOCTOR_SMTP_BANNER_TIMEOUT: `${DEADLINE_MS + 30_000}ms`,
      MXDOCTOR_SMTP_SESSION_TIMEOUT: `${DEADLINE_MS + 60_000}ms`,
    },
  }),
);
const idleRssMiB = worker.rssKiB() / 1024;

async function post(d: string): Promise<string> {
  const res = await fetch(`${web.url}/api/v1/checks`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ domain: d }),
  });
  if (res.status !== 202) throw new Error(`POST ${d}: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { id: string }).id;
}

let nextNormal = 0;
/** A normal check, POST to completed report, in ms. */
async function normalCheck(): Promise<number> {
  if (nextNormal >= NORMAL_MAX) throw new Error('out of normal fixture domains');
  const t0 = performance.now();
  const id = await post(domain('normal', nextNormal++));
  for (;;) {
    const s = (await (await fetch(`${web.url}/api/v1/checks/${id}`)).json()) as { status: string };
    if (s.status === 'completed') return performance.now() - t0;
    if (s.status === 'failed') throw new Error(`normal check ${id} failed`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => Math.round(s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? NaN);
  return {
    n: s.length,
    min: Math.round(s[0] ?? NaN),
    median: q(0.5),
    p90: q(0.9),
    max: Math.round(s.at(-1) ?? NaN),
  };
};

let peakSampledMiB = 0;
const sampler = setInterval(() => {
  peakSampledMiB = Math.max(peakSampledMiB, worker.rssKiB() / 1024);
}, 100);

try {
  // Normal checks on an idle worker.
  const before: number[] = [];
  for (let i = 0; i < NORMAL_BEFORE; i++) before.push(await normalCheck());
  const rssBeforeFloodMiB = worker.rssKiB() / 1024;

  // The flood: all tarpit checks queued at once.
  await queue.pause();
  const tarpitIds: string[] = [];
  for (let i = 0; i < TARPITS; i++) tarpitIds.push(await post(domain('tarpit', i)));
  const cpu0 = worker.cpuMs();
  const floodStart = performance.now();
  await queue.resume();
  // Investigations: a heap snapshot of the worker this long into the flood (start the worker
  // with BENCH_WORKER_NODE_ARGS=--heapsnapshot-signal=SIGUSR2).
  const snapshotAt = Number(process.env.BENCH_SNAPSHOT_AT_MS ?? 0);
  if (snapshotAt) setTimeout(() => worker.child.kill('SIGUSR2'), snapshotAt).unref();
  // Wait until every tarpit holds a connection (all checks are in their SMTP phase).
  let held = 0;
  let allHeldMs: number | undefined;
  for (;;) {
    held = tarpits.reduce((n, f) => n + f.open, 0);
    if (held >= TARPITS) {
      allHeldMs = performance.now() - floodStart;
      break;
    }
    if (performance.now() - floodStart > DEADLINE_MS * 0.6) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  // Normal checks while the tarpits hold their slots, one every 250 ms, until the first
  // tarpit check is about to reach its deadline.
  const during: Promise<number>[] = [];
  const stopAt = floodStart + DEADLINE_MS - 1500;
  while (performance.now() < stopAt) {
    during.push(normalCheck());
    await new Promise((r) => setTimeout(r, 250));
  }
  const duringMs = await Promise.all(during);
  const heldAtEnd = tarpits.reduce((n, f) => n + f.open, 0);

  // Every tarpit check finishes (at its deadline).
  for (;;) {
    const counts = await queue.getJobCounts('completed', 'failed');
    if ((counts.completed ?? 0) + (counts.failed ?? 0) >= TARPITS + NORMAL_BEFORE + duringMs.length) break;
    if (performance.now() - floodStart > DEADLINE_MS * 3)
      throw new Error(`tarpit checks still running: ${JSON.stringify(counts)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const floodSeconds = (performance.now() - floodStart) / 1000;
  const cpuMs = worker.cpuMs() - cpu0;
  clearInterval(sampler);
  const peakRssMiB = worker.peakRssKiB() / 1024;

  const overshoot: number[] = [];
  const reportOvershoot: number[] = [];
  const failed: string[] = [];
  for (const id of tarpitIds) {
    const job = (await queue.getJob(id)) as Job | undefined;
    if (!job || !job.finishedOn || !job.processedOn || job.failedReason) {
      failed.push(id);
      continue;
    }
    overshoot.push(job.finishedOn - job.processedOn - DEADLINE_MS);
    reportOvershoot.push((job.returnvalue as { durationMs: number }).durationMs - DEADLINE_MS);
  }
  const maxOpenPerAddress = Math.max(...tarpits.map((f) => f.maxOpen));
  const violations = [...tarpits, ...normals].reduce((n, f) => n + f.violations, 0);

  const results = {
    date: new Date().toISOString(),
    tarpits: TARPITS,
    deadlineMs: DEADLINE_MS,
    workerConcurrency: TARPITS + HEADROOM,
    compiled: worker.compiled,
    rssMiB: {
      idle: Math.round(idleRssMiB),
      afterNormalChecks: Math.round(rssBeforeFloodMiB),
      peak: Math.round(peakRssMiB),
      peakSampled: Math.round(peakSampledMiB),
      target: RSS_TARGET_MIB,
    },
    held: {
      allHeldAfterMs: allHeldMs && Math.round(allHeldMs),
      atLeast: held,
      stillHeldWhenNormalChecksStopped: heldAtEnd,
      maxOpenPerAddress,
    },
    // Job end − job start − deadline (BullMQ's clock) and report.durationMs − deadline.
    pastDeadlineMs: { job: stats(overshoot), report: stats(reportOvershoot) },
    failed: failed.length,
    normalLatencyMs: { idle: stats(before), duringFlood: stats(duringMs) },
    workerCpuMsDuringFlood: Math.round(cpuMs),
    floodSeconds: +floodSeconds.toFixed(1),
    messageCommandsSeen: violations,
  };
  console.log(
    `${TARPITS} tarpit checks (${TARPITS / 2} greeting at 1 byte/s, ${TARPITS / 2} silent), one worker process (concurrency ${TARPITS + HEADROOM}, ${worker.compiled ? 'compiled dist/' : 'from source'}), check deadline ${DEADLINE_MS} ms:`,
  );
  console.log(
    `  held at once: ${held} tarpit sessions${allHeldMs !== undefined ? ` (all after ${Math.round(allHeldMs)} ms)` : ' (NOT all)'}, ${heldAtEnd} still held when the normal checks stopped; most per address ${maxOpenPerAddress}`,
  );
  console.log(
    `  worker RSS: idle ${results.rssMiB.idle} MiB, after ${NORMAL_BEFORE} normal checks ${results.rssMiB.afterNormalChecks} MiB, peak ${results.rssMiB.peak} MiB (target ≤ ${RSS_TARGET_MIB}: ${peakRssMiB <= RSS_TARGET_MIB ? 'met' : 'MISSED'})`,
  );
  const o = results.pastDeadlineMs.job;
  console.log(
    `  ended past the deadline (job end − start − ${DEADLINE_MS} ms): median ${o.median} ms, p90 ${o.p90}, max ${o.max} (min ${o.min}); report.durationMs − deadline: median ${results.pastDeadlineMs.report.median}, max ${results.pastDeadlineMs.report.max}; failed ${failed.length}`,
  );
  const b = results.normalLatencyMs.idle;
  const d = results.normalLatencyMs.duringFlood;
  console.log(
    `  normal checks POST → report: idle median ${b.median} ms (max ${b.max}, n ${b.n}); during the flood median ${d.median} ms, p90 ${d.p90}, max ${d.max} (n ${d.n})`,
  );
  console.log(
    `  worker CPU during the flood ${results.workerCpuMsDuringFlood} ms over ${results.floodSeconds} s`,
  );
  if (violations) console.log(`  DATA/BDAT seen at the fakes: ${violations} (must be 0)`);
  mkdirSync('bench/results', { recursive: true });
  // One tarpit check's report, to see where its time went.
  const sample = await (await fetch(`${web.url}/api/v1/checks/${tarpitIds[0]}`)).json();
  writeFileSync('bench/results/tarpit-sample.json', JSON.stringify(sample, null, 2) + '\n');
  writeFileSync('bench/results/tarpit.json', JSON.stringify(results, null, 2) + '\n');
} finally {
  clearInterval(sampler);
  await worker.stop();
  await web.stop();
  await Promise.all([...tarpits, ...normals].map((f) => f.stop()));
  await dns.stop();
}
