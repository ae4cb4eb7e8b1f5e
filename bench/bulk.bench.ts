// Benchmark (issue 16): a bulk run of 1,000 fixture domains spread over 20 loopback MX hosts
// with `mxdoctor check --file`, and a verification run of 1,000 addresses at one catch-all
// and one strict MX with `mxdoctor verify --file`. Reports wall time, the SMTP sessions each
// fake MX address saw, and the CLI's peak RSS. Politeness settings are the defaults unless
// the run says otherwise (the rate limits are what make a polite run slow, by design).
// Run with `npm run bench bulk`. Results also go to bench/results/bulk.json.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT, runMxdoctor } from '../test/support/cli.js';
import { startBulkFixture } from '../test/support/bulk-fixture.js';
import type { Verification } from '../src/verify/model.js';

const DOMAINS = Number(process.env.BENCH_DOMAINS ?? 1000);
const MX_HOSTS = 20;
const ADDRESSES = Number(process.env.BENCH_ADDRESSES ?? 1000);
const compiled = existsSync(join(ROOT, 'dist', 'src', 'cli', 'main.js'));
const preload = pathToFileURL(join(ROOT, 'bench', 'support', 'max-rss.mjs')).href;
const results: Record<string, unknown> = {};

const maxRss = (stderr: string): number => Number(/max-rss-kib (\d+)/.exec(stderr)?.[1] ?? 0);
const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return {
    min: s[0],
    median: s[Math.floor(s.length / 2)],
    max: s.at(-1),
    total: s.reduce((a, b) => a + b, 0),
  };
};

async function bulkChecks(
  label: string,
  extraEnv: Record<string, string>,
  concurrency: number,
): Promise<void> {
  const f = await startBulkFixture({ domains: DOMAINS, mxHosts: MX_HOSTS, failEvery: 10 });
  try {
    const t0 = performance.now();
    const r = await runMxdoctor(
      ['check', '--file', '-', '--json', '--unordered', '--concurrency', String(concurrency)],
      {
        env: {
          ...f.env(),
          ...extraEnv,
          NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import=${preload}`.trim(),
        },
        stdin: f.domains.join('\n'),
        compiled,
        timeoutMs: 30 * 60_000,
      },
    );
    const wallMs = Math.round(performance.now() - t0);
    const reports = r.stdout.trim().split('\n').filter(Boolean).length;
    const sessions = f.fakes.map((x) => x.connections);
    for (const fake of f.fakes) fake.assertNoMessageSent();
    const summary = r.stderr
      .split('\n')
      .filter((l) => /checked in|SMTP:/.test(l))
      .join(' | ');
    const out = {
      domains: DOMAINS,
      mxHosts: MX_HOSTS,
      concurrency,
      settings: extraEnv,
      exit: r.code,
      reports,
      wallMs,
      sessionsPerMxAddress: stats(sessions),
      withoutSharingWouldBe: (DOMAINS / MX_HOSTS) * 2,
      maxRssMiB: Math.round(maxRss(r.stderr) / 1024),
      summary,
    };
    results[label] = out;
    console.log(`${label}:`);
    console.log(
      `  ${reports}/${DOMAINS} reports, exit ${r.code}, wall ${(wallMs / 1000).toFixed(1)} s, peak RSS ${out.maxRssMiB} MiB`,
    );
    console.log(
      `  SMTP sessions per MX address: min ${out.sessionsPerMxAddress.min}, median ${out.sessionsPerMxAddress.median}, max ${out.sessionsPerMxAddress.max}, total ${out.sessionsPerMxAddress.total} (without the shared cache: ${out.withoutSharingWouldBe} per address — a probe and a legacy-TLS session per domain)`,
    );
    console.log(`  ${summary}`);
  } finally {
    await f.stop();
  }
}

async function verification(label: string, extraEnv: Record<string, string>): Promise<void> {
  // Domain d0 on mx0 (strict: users u0…u249 exist), domain d1 on mx1 (catch-all).
  const users = Array.from({ length: ADDRESSES / 4 }, (_, i) => `u${i}`);
  const f = await startBulkFixture({ domains: 2, mxHosts: 2, catchAll: [1], users });
  try {
    const half = ADDRESSES / 2;
    const list = [
      ...Array.from({ length: half }, (_, i) => `u${i}@d0.bulk.test`),
      ...Array.from({ length: half }, (_, i) => `u${i}@d1.bulk.test`),
    ].join('\n');
    const t0 = performance.now();
    const r = await runMxdoctor(['verify', '--file', '-', '--json'], {
      env: {
        ...f.env(),
        ...extraEnv,
        NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import=${preload}`.trim(),
      },
      stdin: list,
      compiled,
      timeoutMs: 30 * 60_000,
    });
    const wallMs = Math.round(performance.now() - t0);
    for (const fake of f.fakes) fake.assertNoMessageSent();
    const v = JSON.parse(r.stdout) as Verification;
    const out = {
      addresses: ADDRESSES,
      settings: extraEnv,
      exit: r.code,
      wallMs,
      counts: v.counts,
      sessions: { strict: f.fakes[0]!.connections, catchAll: f.fakes[1]!.connections },
      rcpts: { strict: f.fakes[0]!.rcpts.length, catchAll: f.fakes[1]!.rcpts.length },
      maxRssMiB: Math.round(maxRss(r.stderr) / 1024),
    };
    results[label] = out;
    console.log(`${label}:`);
    console.log(
      `  ${ADDRESSES} addresses, exit ${r.code}, wall ${(wallMs / 1000).toFixed(1)} s, peak RSS ${out.maxRssMiB} MiB: ${JSON.stringify(v.counts)}`,
    );
    console.log(
      `  sessions: strict MX ${out.sessions.strict} (${out.rcpts.strict} RCPT), catch-all MX ${out.sessions.catchAll} (${out.rcpts.catchAll} RCPT)`,
    );
  } finally {
    await f.stop();
  }
}

const unlimited = { MXDOCTOR_SMTP_RATE_PER_IP: 'off', MXDOCTOR_VERIFY_DOMAIN_RATE: 'off' };
const which = new Set((process.env.BENCH_BULK ?? 'checks,checks-polite,verify,verify-polite').split(','));
if (which.has('checks')) await bulkChecks('bulk checks, rate limits off', unlimited, 16);
if (which.has('checks-polite'))
  await bulkChecks('bulk checks, default politeness (20 sessions/min per MX address)', {}, 16);
if (which.has('verify')) await verification('verification, rate limits off', unlimited);
if (which.has('verify-polite'))
  await verification(
    'verification, default politeness (20 sessions/min per MX address, 120 RCPT/min per domain)',
    {},
  );

mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
writeFileSync(join(ROOT, 'bench', 'results', 'bulk.json'), JSON.stringify(results, null, 2) + '\n');
