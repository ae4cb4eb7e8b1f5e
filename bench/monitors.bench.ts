// Monitoring benchmark (issue 7's closing figure): how many monitors one worker process
// sustains at a 5-minute schedule against the loopback fakes. Reproducible with
// `npm run bench monitors` (builds first; needs Redis at 127.0.0.1:6379).
//
// Set-up: 50 fake MX servers (smtp-server with STARTTLS and a certificate from a test CA) on
// 127.0.1.1–50, a fixture resolver serving 3,000 domains monitor-<i>.test (SPF, DMARC, MX
// → one of the 50 servers, as customers of a few providers share MX hosts). The web server
// runs in this process; the worker is its own process (`mxdoctor worker`, compiled dist/),
// so its CPU time is its own. All of them share this machine.
//
// 1. Capacity: N monitors are created (paused) through the API, then "run now" is asked for
//    each: the worker drains that backlog; monitor runs per second = N / time to the last run.
//    With the service defaults (concurrency 4, SMTP connection cache 5 min, politeness
//    2 sessions and 20 starts per minute per MX address), and without the connection cache
//    (every run probes its MX over SMTP and TLS; politeness rate off so the worker, not the
//    limiter, is measured).
// 2. Sustained — the figure: N monitors scheduled every minute (the same runs per second as
//    5·N monitors every 5 minutes; the connection cache keeps its 5-minute lifetime, so each
//    MX is probed as often as at the real schedule). Created paused and then resumed (no
//    burst of first runs), one minute to settle, then two minutes measured: N is sustained
//    when every run scheduled in the window ran exactly once and 95 % started within 30 s of
//    their time (none later than 60 s). The first attempt is at 80 % of the burst capacity;
//    while attempts hold, the next has 25 % more monitors, until one does not (at most 5
//    attempts); when the first does not hold, the next is at 90 % of the rate the worker
//    completed while overloaded. The answer is the largest N that held, ×5.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { Redis } from 'ioredis';
import { startFixtureDns } from '../test/support/dns-server.js';
import type { Zones } from '../test/support/dns-server.js';
import { freePort, startSmtpFake } from '../test/support/smtp-fakes.js';
import type { SmtpFake } from '../test/support/smtp-fakes.js';
import { createTestPki } from '../test/support/test-ca.js';
import { TEST_REDIS_URL, testPrefix } from '../test/support/redis.js';
import { startTestService } from '../test/support/service.js';
import { MxdoctorProcess } from '../test/support/spawn.js';
import { ADMIN_TOKEN, api } from '../test/support/monitor.js';
import { deleteKeysWithPrefix } from '../src/store/redis.js';

const MX_SERVERS = 50;
const DOMAINS = 3000;
const CAPACITY_MONITORS = Number(process.env.BENCH_MONITORS ?? 400);
const SUSTAIN_MS = 2 * 60_000;
const MAX_ATTEMPTS = Number(process.env.BENCH_ATTEMPTS ?? 5);

const SOA = ['ns.example.net hostmaster.example.net 1 3600 600 86400 300'];
const pki = createTestPki('mxdoctor bench');
const port = await freePort();
const mxAddress = (i: number) => `127.0.1.${(i % MX_SERVERS) + 1}`;
const zones: Zones = {};
for (let s = 0; s < MX_SERVERS; s++) zones[`mx${s}.provider.test`] = { A: [mxAddress(s)] };
for (let i = 0; i < DOMAINS; i++) {
  zones[`monitor-${i}.test`] = { MX: [`10 mx${i % MX_SERVERS}.provider.test`], SOA, TXT: ['v=spf1 mx -all'] };
  zones[`_dmarc.monitor-${i}.test`] = { TXT: ['v=DMARC1; p=reject'] };
}
const dns = await startFixtureDns({ zones });
const fakes: SmtpFake[] = [];
for (let s = 0; s < MX_SERVERS; s++) {
  const leaf = pki.leaf({ names: [`mx${s}.provider.test`] });
  fakes.push(
    await startSmtpFake({
      host: mxAddress(s),
      port,
      name: `mx${s}.provider.test`,
      tls: { key: leaf.keyPem, cert: leaf.chainPem },
      domains: Array.from({ length: DOMAINS / MX_SERVERS }, (_, k) => `monitor-${s + k * MX_SERVERS}.test`),
    }),
  );
}

const baseEnv = (prefix: string, extra: Record<string, string>) => ({
  MXDOCTOR_RESOLVERS: dns.address,
  MXDOCTOR_ALLOW_PRIVATE: '1',
  MXDOCTOR_SMTP_PORT: String(port),
  MXDOCTOR_CA_FILE: pki.rootFile,
  MXDOCTOR_EHLO_NAME: 'probe.mxdoctor.test',
  MXDOCTOR_MAIL_FROM: 'probe@mxdoctor.test',
  MXDOCTOR_DNSBLS: 'bl.example.test',
  MXDOCTOR_DOMAIN_BLOCKLISTS: '-',
  MXDOCTOR_ADMIN_TOKEN: ADMIN_TOKEN,
  MXDOCTOR_RATE_LIMIT_REQUESTS: 'off',
  MXDOCTOR_MONITOR_MIN_INTERVAL: '1m',
  MXDOCTOR_LOG_LEVEL: 'warn',
  REDIS_URL: TEST_REDIS_URL,
  MXDOCTOR_REDIS_PREFIX: prefix,
  MXDOCTOR_WORKER_PORT: '0',
  ...extra,
});

/** utime + stime of a process, in seconds (Linux /proc). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

interface Phase {
  label: string;
  monitors: number;
  seconds: number;
  runsPerSecond: number;
  workerCpuPerRunMs: number;
  monitorsAt5m: number;
}

async function withService<T>(
  extra: Record<string, string>,
  fn: (ctx: { url: string; redis: Redis; prefix: string; worker: MxdoctorProcess }) => Promise<T>,
): Promise<T> {
  const prefix = testPrefix('bench-mon');
  const env = baseEnv(prefix, extra);
  const web = await startTestService({ mode: 'web', dns, prefix, env });
  const worker = new MxdoctorProcess(['worker'], env, { fromSource: false });
  const redis = new Redis(TEST_REDIS_URL);
  try {
    // The worker is ready when its start-up reconcile has set up the periodic one.
    for (let i = 0; !(await redis.zscore(`${prefix}:checks:repeat`, 'monitors-reconcile')); i++) {
      if (i > 600 || worker.child.exitCode !== null)
        throw new Error(`the worker did not start: ${worker.stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return await fn({ url: web.url, redis, prefix, worker });
  } finally {
    worker.kill('SIGTERM');
    await worker.exited;
    await web.stop();
    await deleteKeysWithPrefix(redis, prefix);
    redis.disconnect();
  }
}

async function createMonitors(
  url: string,
  from: number,
  count: number,
  every: string,
  paused = false,
): Promise<string[]> {
  const ids: string[] = [];
  for (let i = from; i < from + count; i++) {
    const r = await api<{ id: string }>(url, 'POST', '/api/v1/monitors', {
      domain: `monitor-${i}.test`,
      schedule: { every },
      paused,
    });
    if (r.status !== 201) throw new Error(`create monitor-${i}.test: ${r.status} ${JSON.stringify(r.body)}`);
    ids.push(r.body.id);
  }
  return ids;
}

async function capacity(label: string, extra: Record<string, string>): Promise<Phase> {
  return withService(extra, async ({ url, redis, prefix, worker }) => {
    // Paused monitors (no first run), then "run now" for each: a backlog of N runs that the
    // worker drains (the API queues them faster than the worker runs them).
    const ids = await createMonitors(url, 0, CAPACITY_MONITORS, '1d', true);
    const pid = worker.child.pid!;
    const cpu0 = cpuSeconds(pid);
    const t0 = performance.now();
    for (const id of ids) {
      const r = await api(url, 'POST', `/api/v1/monitors/${id}/run`);
      if (r.status !== 202) throw new Error(`run ${id}: ${r.status}`);
    }
    for (;;) {
      if ((await redis.hlen(`${prefix}:mons:last`)) >= CAPACITY_MONITORS) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const seconds = (performance.now() - t0) / 1000;
    const cpu = cpuSeconds(pid) - cpu0;
    const runsPerSecond = CAPACITY_MONITORS / seconds;
    const phase: Phase = {
      label,
      monitors: CAPACITY_MONITORS,
      seconds: +seconds.toFixed(1),
      runsPerSecond: +runsPerSecond.toFixed(2),
      workerCpuPerRunMs: Math.round((cpu * 1000) / CAPACITY_MONITORS),
      monitorsAt5m: Math.floor(runsPerSecond * 300 * 0.8),
    };
    console.log(
      `${label}: ${CAPACITY_MONITORS} monitor runs in ${phase.seconds} s = ${phase.runsPerSecond} runs/s (worker CPU ${phase.workerCpuPerRunMs} ms/run) → ${phase.monitorsAt5m} monitors at a 5-minute schedule (80 %)`,
    );
    return phase;
  });
}

async function sustain(perMinute: number) {
  return withService({}, async ({ url, redis, prefix }) => {
    const t0 = performance.now();
    const ids = await createMonitors(url, 0, perMinute, '1m', true);
    for (const id of ids) {
      const r = await api(url, 'PATCH', `/api/v1/monitors/${id}`, { paused: false });
      if (r.status !== 200) throw new Error(`resume ${id}: ${r.status}`);
    }
    const setupSeconds = (performance.now() - t0) / 1000;
    await new Promise((r) => setTimeout(r, 60_000));
    const start = Date.now();
    await new Promise((r) => setTimeout(r, SUSTAIN_MS));
    const end = Date.now();
    const completedInWindow = async () => {
      let n = 0;
      for (let i = 0; i < ids.length; i += 200) {
        const p = redis.pipeline();
        for (const id of ids.slice(i, i + 200)) p.zcount(`${prefix}:mon:${id}:runs`, start, end);
        for (const [, v] of (await p.exec()) ?? []) n += Number(v);
      }
      return n;
    };
    // Runs are stored by their start time: those that started in the window ran in it.
    const completedPerSecond = (await completedInWindow()) / ((end - start) / 1000);
    await new Promise((r) => setTimeout(r, 20_000)); // runs scheduled before `end` finish
    let scheduled = 0;
    const lags: number[] = [];
    let dupes = 0;
    for (const id of ids) {
      const runIds = await redis.zrangebyscore(`${prefix}:mon:${id}:runs`, start - 60_000, '+inf');
      const texts = runIds.length
        ? await redis.mget(...runIds.map((r) => `${prefix}:mon:${id}:run:${r}`))
        : [];
      const seen = new Set<string>();
      for (const t of texts) {
        if (!t) continue;
        const run = JSON.parse(t) as { trigger: string; scheduledAt?: string; at: string };
        if (run.trigger !== 'schedule' || !run.scheduledAt) continue;
        const at = Date.parse(run.scheduledAt);
        if (at < start || at >= end) continue;
        if (seen.has(run.scheduledAt)) dupes++;
        seen.add(run.scheduledAt);
        scheduled++;
        lags.push(Date.parse(run.at) - at);
      }
    }
    const expected = Math.round((perMinute * (end - start)) / 60_000);
    lags.sort((a, b) => a - b);
    const pct = (p: number) => Math.round(lags[Math.min(lags.length - 1, Math.floor(p * lags.length))] ?? 0);
    const lagMs = { p50: pct(0.5), p95: pct(0.95), max: lags.at(-1) ?? 0 };
    const sustained =
      scheduled >= expected * 0.99 && dupes === 0 && lagMs.p95 <= 30_000 && lagMs.max <= 60_000;
    const r = {
      monitors: perMinute,
      equivalentEvery5m: perMinute * 5,
      setupSeconds: Math.round(setupSeconds),
      minutesMeasured: (end - start) / 60_000,
      scheduledRunsExpected: expected,
      scheduledRunsDone: scheduled,
      duplicates: dupes,
      completedPerSecond: +completedPerSecond.toFixed(2),
      lagMs,
      sustained,
    };
    console.log(
      `sustained attempt: ${perMinute} monitors every minute (= ${perMinute * 5} every 5 min): ${scheduled} of ${expected} scheduled runs, ${dupes} duplicates, ${r.completedPerSecond} runs/s, start delay p50 ${lagMs.p50} ms, p95 ${lagMs.p95} ms, max ${lagMs.max} ms → ${sustained ? 'SUSTAINED' : 'not sustained'}`,
    );
    return r;
  });
}

const results: Record<string, unknown> = {
  date: new Date().toISOString(),
  machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version },
  setup: { mxServers: MX_SERVERS, domains: DOMAINS },
};
try {
  const cached = await capacity('defaults (concurrency 4, connection cache 5m, politeness on)', {});
  const uncached = await capacity(
    'no connection cache: every run probes SMTP + TLS (concurrency 4, rate limit off)',
    {
      MXDOCTOR_SMTP_CACHE_TTL: '0',
      MXDOCTOR_SMTP_RATE_PER_IP: 'off',
    },
  );
  const c16 = await capacity('defaults, concurrency 16', { MXDOCTOR_WORKER_CONCURRENCY: '16' });
  results.capacity = [cached, uncached, c16];

  const attempts: { sustained: boolean; monitors: number; completedPerSecond: number }[] = [];
  let perMinute = Math.min(DOMAINS, Math.floor(cached.runsPerSecond * 60 * 0.8));
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const r = await sustain(perMinute);
    attempts.push(r);
    const held = attempts.filter((a) => a.sustained);
    const failed = attempts.filter((a) => !a.sustained);
    if (r.sustained && failed.length > 0) break; // between a load that held and one that did not
    if (!r.sustained && held.length > 0) break;
    // Held: 25 % more. Did not: 90 % of what the worker completed while overloaded.
    perMinute = r.sustained
      ? Math.min(DOMAINS, Math.floor(perMinute * 1.25))
      : Math.floor(r.completedPerSecond * 60 * 0.9);
    if (r.sustained && perMinute === r.monitors) break;
  }
  results.sustained = attempts;
  const best = attempts.filter((a) => a.sustained).sort((a, b) => b.monitors - a.monitors)[0];
  results.answer = best
    ? { monitorsEvery5Minutes: best.monitors * 5, method: 'sustained, scheduled every 1m, ×5' }
    : { monitorsEvery5Minutes: null, method: 'no attempt kept up' };
  console.log(
    best
      ? `=> one worker process sustains ${best.monitors * 5} monitors at a 5-minute schedule (${best.monitors} every minute, measured)`
      : '=> no attempt kept up',
  );
} finally {
  await Promise.all(fakes.map((f) => f.stop()));
  await dns.stop();
  for (const f of fakes) f.assertNoMessageSent();
}
mkdirSync('bench/results', { recursive: true });
writeFileSync(
  `bench/results/monitors-${String(results.date).slice(0, 19).replace(/:/g, '')}.json`,
  JSON.stringify(results, null, 2) + '\n',
);
