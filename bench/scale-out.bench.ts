// Benchmark (issue 14, Scale-out): 200 queued checks of domains whose MX hosts share 10
// loopback addresses, taken by one worker process, then by two on the same Redis. Prints the
// wall time of each and their ratio beside the ratio the machine's cores allow (from the CPU
// each side used); that no check ran twice (its "check started" log lines across the workers,
// the stored reports, and the sessions each domain got at the fake MX servers); and that the
// per-MX-address session limit held across the processes, as the fake servers saw it (most
// sessions open at once per address), not as a counter says. Each worker process first runs
// BENCH_WARM_UP (40) checks of other domains, untimed.
// Run with `npm run bench scale-out`. Needs Redis at 127.0.0.1:6379. Results also go to
// bench/results/scale-out.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { Redis } from 'ioredis';
import { TEST_REDIS_URL } from '../test/support/redis.js';
import type { FixtureDns } from '../test/support/dns-server.js';
import { freePort } from '../test/support/smtp-fakes.js';
import { startTestService } from '../test/support/service.js';
import { startFastDns } from './support/fast-dns.js';
import type { FastZone } from './support/fast-dns.js';
import { loopbackAddress, startFakeMx } from './support/fake-mx.js';
import type { FakeMx } from './support/fake-mx.js';
import { settledJobs, startWorkerProcess, workerEnv } from './support/worker-process.js';
import type { WorkerProcess } from './support/worker-process.js';

const CHECKS = Number(process.env.BENCH_CHECKS ?? 200);
const MX_ADDRESSES = 10;
const SESSIONS_PER_ADDRESS = Number(process.env.BENCH_SESSIONS_PER_ADDRESS ?? 2);
const CONCURRENCY = 16;
/**
 * Checks each worker process runs before the timed ones, on domains of their own: a worker
 * lives for days, and the first few dozen checks of a new process pay for V8's compiling. Cold,
 * two processes pay it twice for the same 200 checks, which measured the warm-up, not the
 * scale-out.
 */
const WARM_UP_PER_WORKER = Number(process.env.BENCH_WARM_UP ?? 40);

const zones: Record<string, FastZone> = {};
const domain = (run: number, i: number): string => `scale-${run}-${i}.example.com`;
const warmUpDomain = (run: number, i: number): string => `warm-${run}-${i}.example.com`;
for (const run of [1, 2]) {
  for (let i = 0; i < CHECKS; i++)
    zones[domain(run, i)] = { MX: [`10 mx${i % MX_ADDRESSES}.scale.example.net`] };
  for (let i = 0; i < WARM_UP_PER_WORKER * run; i++)
    zones[warmUpDomain(run, i)] = { MX: [`10 mx${i % MX_ADDRESSES}.scale.example.net`] };
}
for (let m = 0; m < MX_ADDRESSES; m++) zones[`mx${m}.scale.example.net`] = { A: [loopbackAddress(3, m)] };
const dns = await startFastDns(zones);
const port = await freePort();
const env = {
  MXDOCTOR_RATE_LIMIT_CHECKS: 'off',
  MXDOCTOR_RATE_LIMIT_REQUESTS: 'off',
  MXDOCTOR_LOG_LEVEL: 'warn',
};

interface RunResult {
  workers: number;
  seconds: number;
  workerCpuMs: number[];
  benchCpuMs: number;
  redisCpuMs: number;
  startedPerJob: { once: number; more: number; never: number };
  reportsStored: number;
  sessionsPerDomain: Record<string, number>;
  maxOpenPerAddress: number[];
  messageCommands: number;
}

/** CPU time Redis has used so far (all its threads), in ms, from INFO cpu. */
async function redisCpuMs(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const field = (name: string): number => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? 0);
  return (field('used_cpu_user') + field('used_cpu_sys')) * 1000;
}

async function run(workers: number): Promise<RunResult> {
  const fakes: FakeMx[] = [];
  for (let m = 0; m < MX_ADDRESSES; m++) fakes.push(await startFakeMx(loopbackAddress(3, m), port, 'mta'));
  const web = await startTestService({ dns: dns as unknown as FixtureDns, env, mode: 'web' });
  const queue = web.service.queue.queue;
  const procs: WorkerProcess[] = [];
  const post = async (name: string): Promise<string> => {
    const res = await fetch(`${web.url}/api/v1/checks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ domain: name }),
    });
    if (res.status !== 202) throw new Error(`POST: ${res.status} ${await res.text()}`);
    return ((await res.json()) as { id: string }).id;
  };
  const settled = (count: number): Promise<void> => settledJobs(queue, count);
  try {
    for (let w = 0; w < workers; w++)
      procs.push(
        await startWorkerProcess(
          workerEnv({
            prefix: web.prefix,
            dnsAddress: dns.address,
            smtpPort: port,
            extra: {
              MXDOCTOR_LOG_LEVEL: 'info',
              MXDOCTOR_WORKER_CONCURRENCY: String(CONCURRENCY),
              MXDOCTOR_SMTP_SESSIONS_PER_IP: String(SESSIONS_PER_ADDRESS),
              // Every check opens its sessions (no shared connection results), and only the
              // concurrency limit paces them.
              MXDOCTOR_SMTP_CACHE_TTL: '0',
              MXDOCTOR_SMTP_RATE_PER_IP: 'off',
            },
          }),
        ),
      );
    const warmUps = WARM_UP_PER_WORKER * workers;
    for (let i = 0; i < warmUps; i++) await post(warmUpDomain(workers, i));
    await settled(warmUps);
    // The timed checks are all queued before any worker may take one.
    await queue.pause();
    const ids: string[] = [];
    for (let i = 0; i < CHECKS; i++) ids.push(await post(domain(workers, i)));
    const cpu0 = procs.map((p) => p.cpuMs());
    const redis0 = await redisCpuMs(redis);
    const bench0 = process.cpuUsage();
    const t0 = performance.now();
    await queue.resume();
    await settled(warmUps + CHECKS);
    const seconds = (performance.now() - t0) / 1000;
    const bench = process.cpuUsage(bench0);
    const redisCpu = (await redisCpuMs(redis)) - redis0;
    const workerCpuMs = procs.map((p, i) => p.cpuMs() - cpu0[i]!);
    // Let the last log lines arrive.
    await new Promise((r) => setTimeout(r, 300));
    const started = new Map<string, number>();
    for (const p of procs)
      for (const l of p.lines())
        if (l.msg === 'check started') started.set(String(l.jobId), (started.get(String(l.jobId)) ?? 0) + 1);
    const startedPerJob = { once: 0, more: 0, never: 0 };
    for (const id of ids) {
      const n = started.get(id) ?? 0;
      if (n === 1) startedPerJob.once++;
      else if (n === 0) startedPerJob.never++;
      else startedPerJob.more++;
    }
    let reportsStored = 0;
    for (const id of ids) if (await web.service.store.getMeta(id)) reportsStored++;
    const sessionsPerDomain: Record<string, number> = {};
    const timed = new Set(Array.from({ length: CHECKS }, (_, i) => domain(workers, i)));
    for (const f of fakes)
      for (const [d, n] of f.perDomain)
        if (timed.has(d)) sessionsPerDomain[d] = (sessionsPerDomain[d] ?? 0) + n;
    return {
      workers,
      seconds,
      workerCpuMs,
      benchCpuMs: (bench.user + bench.system) / 1000,
      redisCpuMs: redisCpu,
      startedPerJob,
      reportsStored,
      sessionsPerDomain,
      maxOpenPerAddress: fakes.map((f) => f.maxOpen),
      messageCommands: fakes.reduce((n, f) => n + f.violations, 0),
    };
  } finally {
    await Promise.all(procs.map((p) => p.stop()));
    await web.stop();
    await Promise.all(fakes.map((f) => f.stop()));
  }
}

const redis = new Redis(TEST_REDIS_URL);
try {
  const load = loadavg()[0]!;
  const one = await run(1);
  const two = await run(2);
  const ratio = one.seconds / two.seconds;
  // What two workers can gain on this machine: the one-worker run used U ms of CPU (worker,
  // with V8's helper threads; this process's fixtures, DNS and web; Redis) in W ms of wall
  // time. Two workers doing the same work need at least U / cores, so at most
  // W · cores / U faster, and never more than 2×. Once a worker needs little CPU per check,
  // one worker and what it talks to keep two cores busy and a second cannot add much.
  const cores = cpus().length;
  const used = one.workerCpuMs[0]! + one.benchCpuMs + one.redisCpuMs;
  const busy = used / (one.seconds * 1000 * cores);
  const allowed = Math.min(2, 1 / busy);
  const describe = (r: RunResult): string => {
    const counts = Object.values(r.sessionsPerDomain);
    const byCount = new Map<number, number>();
    for (const n of counts) byCount.set(n, (byCount.get(n) ?? 0) + 1);
    return [
      `${r.workers} worker process${r.workers > 1 ? 'es' : ''} × concurrency ${CONCURRENCY}: ${r.seconds.toFixed(2)} s = ${(CHECKS / r.seconds).toFixed(1)} checks/s; worker CPU ${r.workerCpuMs.map((c) => `${Math.round(c)} ms`).join(' + ')} (${(r.workerCpuMs.reduce((a, b) => a + b, 0) / CHECKS).toFixed(1)} ms/check), fixtures + web ${Math.round(r.benchCpuMs)} ms, Redis ${Math.round(r.redisCpuMs)} ms`,
      `  checks started once ${r.startedPerJob.once}, more than once ${r.startedPerJob.more}, never ${r.startedPerJob.never}; reports stored ${r.reportsStored}/${CHECKS}; at the fakes: domains seen ${counts.length}, sessions per domain ${[...byCount].map(([n, d]) => `${n}×${d}`).join(', ')}`,
      `  most sessions open at once per MX address (limit ${SESSIONS_PER_ADDRESS}): ${r.maxOpenPerAddress.join(' ')}${Math.max(...r.maxOpenPerAddress) <= SESSIONS_PER_ADDRESS ? ' — held' : ' — EXCEEDED'}`,
    ].join('\n');
  };
  console.log(
    `${CHECKS} queued checks over ${MX_ADDRESSES} MX addresses, ${SESSIONS_PER_ADDRESS} sessions per address, one Redis (load average ${load.toFixed(1)} on ${cpus().length} cores at start):`,
  );
  console.log(describe(one));
  console.log(describe(two));
  console.log(
    `two workers vs one: ${ratio.toFixed(2)}× faster; the cores allow about ${allowed.toFixed(2)}× (the one-worker run kept ${cores} cores ${Math.round(busy * 100)}% busy: worker ${Math.round(one.workerCpuMs[0]!)} ms, fixtures + web ${Math.round(one.benchCpuMs)} ms, Redis ${Math.round(one.redisCpuMs)} ms of CPU in ${one.seconds.toFixed(2)} s)`,
  );
  mkdirSync('bench/results', { recursive: true });
  writeFileSync(
    'bench/results/scale-out.json',
    JSON.stringify(
      { date: new Date().toISOString(), loadAverage: load, checks: CHECKS, one, two, ratio, allowed },
      null,
      2,
    ) + '\n',
  );
} finally {
  redis.disconnect();
  await dns.stop();
}
