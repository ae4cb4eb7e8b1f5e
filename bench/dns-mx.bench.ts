// Benchmark of the foundation: the stub resolver's latency on loopback, the MX check alone
// through the pipeline, and `mxdoctor check --no-smtp` (every DNS check) as a user runs it.
// Run with `npm run bench` (builds first). Results also go to bench/results/dns-mx.json.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DnsClient } from '../src/dns/client.js';
import { mxCheck } from '../src/mx/check.js';
import { runCheck } from '../src/checks/run.js';
import type { Check } from '../src/checks/types.js';
import { loadConfig } from '../src/config/index.js';
import { normalizeDomain } from '../src/input/domain.js';
import { DEFAULT_CHECK_OPTIONS } from '../src/report/model.js';
import type { Report } from '../src/report/model.js';
import { startFixtureDns } from '../test/support/dns-server.js';
import { ROOT, runMxdoctor } from '../test/support/cli.js';
import { MX_ZONES } from '../test/fixtures/zones/mx.js';

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const p95 = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.95)]!;
const compiled = existsSync(join(ROOT, 'dist', 'src', 'cli', 'main.js'));
const dns = await startFixtureDns({ zones: MX_ZONES });
const results: Record<string, unknown> = {};

try {
  // 1. One uncached query at a time, 200 times (distinct names defeat the cache).
  const client = new DnsClient({
    servers: [{ host: '127.0.0.1', port: dns.port }],
    timeoutMs: 2000,
    retries: 0,
  });
  const names = Object.keys(MX_ZONES);
  const latencies: number[] = [];
  for (let i = 0; i < 200; i++) {
    const t0 = performance.now();
    await client.query(
      names[i % names.length]!,
      i < names.length ? 'A' : i < 2 * names.length ? 'MX' : 'TXT',
    );
    latencies.push(performance.now() - t0);
  }
  results.queryMs = {
    median: +median(latencies).toFixed(2),
    p95: +p95(latencies).toFixed(2),
    n: latencies.length,
  };
  console.log(
    `DNS query on loopback (fixture dns2 server): median ${median(latencies).toFixed(2)} ms, p95 ${p95(latencies).toFixed(2)} ms over ${latencies.length}`,
  );

  // 2. The MX check alone through the pipeline, 20 times.
  const config = loadConfig({ MXDOCTOR_RESOLVERS: dns.address, MXDOCTOR_DNS_TIMEOUT: '2s' });
  const parsed = normalizeDomain('two-mx.example.com');
  if (!parsed.ok) throw new Error(parsed.error);
  const mxRuns: number[] = [];
  for (let i = 0; i < 20; i++) {
    const r = await runCheck(
      parsed.domain,
      { ...DEFAULT_CHECK_OPTIONS, smtp: false },
      { config, checks: [mxCheck as Check] },
    );
    mxRuns.push(r.durationMs);
  }
  results.mxCheckMs = { median: median(mxRuns), runs: mxRuns };
  console.log(
    `MX check of two-mx.example.com (5 queries): median ${median(mxRuns)} ms over ${mxRuns.length}`,
  );

  // 3. The CLI as a user runs it, every DNS check, no SMTP: median of 5.
  const wall: number[] = [];
  const internal: number[] = [];
  let queries = 0;
  for (let i = 0; i < 6; i++) {
    const t0 = performance.now();
    const r = await runMxdoctor(
      ['check', 'two-mx.example.com', '--json', '--no-smtp', '--resolver', dns.address],
      {
        compiled,
      },
    );
    const report = JSON.parse(r.stdout) as Report;
    if (i === 0) continue; // warm-up
    wall.push(performance.now() - t0);
    internal.push(report.durationMs);
    queries = report.dnsLog.length;
  }
  results.cliNoSmtp = { wallMedianMs: Math.round(median(wall)), reportMedianMs: median(internal), queries };
  console.log(
    `mxdoctor check --no-smtp (all DNS checks, ${queries} queries, ${compiled ? 'compiled' : 'tsx'}): report median ${median(internal)} ms, wall clock median ${Math.round(median(wall))} ms`,
  );
  mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
  writeFileSync(join(ROOT, 'bench', 'results', 'dns-mx.json'), JSON.stringify(results, null, 2));
} finally {
  await dns.stop();
}
