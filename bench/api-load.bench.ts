// API under load (issue 13 §8), reproducible with `npm run bench -- api-load`. Needs Redis at
// 127.0.0.1:6379. Not a timed test: it prints the figures, and exits 1 when the API answered
// anything but 2xx/429 or /healthz's p99 reached 100 ms.
//
// `mxdoctor serve` (web + worker in one process, as `npm start` runs it; compiled, from dist/)
// on loopback, against a fixture resolver. 200 concurrent clients, bounded in requests and in
// time, send a mix of API requests: POST /api/v1/checks (the checks then run in the same
// process), GET /api/v1/checks/:id, GET /api/v1/domains/:domain/checks, GET
// /api/v1/openapi.json. Meanwhile one more client, on a thread of its own, asks /healthz
// every 20 ms and times it.
// Two phases: with the default rate limits (most answers are 429 once the budgets are spent)
// and with rate limits off (every request does its work).
import { mkdirSync, writeFileSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { cpus } from 'node:os';
import { Worker } from 'node:worker_threads';
import { SERVICE_ZONES, benchZones } from '../test/fixtures/zones/service.js';
import { startFixtureDns } from '../test/support/dns-server.js';
import type { FixtureDns } from '../test/support/dns-server.js';
import { TEST_REDIS_URL, cleanPrefix, testPrefix } from '../test/support/redis.js';
import { unusedPort } from '../test/support/service.js';
import { MxdoctorProcess } from '../test/support/spawn.js';

const CLIENTS = 200;
/** Each phase ends after this many API requests in all, or this many seconds, whichever first. */
const REQUESTS = 6000;
const SECONDS = 30;
const HEALTH_EVERY_MS = 20;
const HEALTH_P99_MS = 100;
const DOMAINS = 400;

interface PhaseResult {
  phase: string;
  requests: number;
  seconds: number;
  requestsPerSecond: number;
  statuses: Record<string, number>;
  /** Network errors (connection refused/reset): count as failures too. */
  errors: number;
  apiMs: { p50: number; p99: number; max: number };
  healthz: { samples: number; p50: number; p99: number; max: number; failures: number };
}

/** The /healthz prober, as plain JavaScript for a worker thread: one request every `every` ms. */
const PROBER = `
const { parentPort, workerData } = require('node:worker_threads');
const http = require('node:http');
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const samples = [];
let failures = 0;
let running = true;
parentPort.on('message', () => { running = false; });
const once = () => new Promise((resolve) => {
  const started = performance.now();
  const req = http.get(workerData.url, { agent, timeout: 10000 }, (res) => {
    res.resume();
    res.on('end', () => {
      if (res.statusCode === 200) samples.push(performance.now() - started); else failures++;
      resolve(performance.now() - started);
    });
  });
  req.on('timeout', () => req.destroy(new Error('timed out')));
  req.on('error', () => { failures++; resolve(performance.now() - started); });
});
(async () => {
  while (running) {
    const ms = await once();
    if (ms < workerData.every) await new Promise((r) => setTimeout(r, workerData.every - ms));
  }
  parentPort.postMessage({ samples, failures });
})();
`;

/** One HTTP request through `agent`; resolves with the status and body. */
function send(
  agent: Agent,
  url: string,
  method = 'GET',
  body?: string,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      {
        agent,
        method,
        headers: body
          ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }
          : {},
        timeout: 30_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end(body);
  });
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return Math.round(sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]! * 10) / 10;
}

async function phase(name: string, dns: FixtureDns, env: Record<string, string>): Promise<PhaseResult> {
  const port = await unusedPort();
  const prefix = testPrefix('load');
  const serve = new MxdoctorProcess(
    ['serve'],
    {
      PORT: String(port),
      MXDOCTOR_HOST: '127.0.0.1',
      REDIS_URL: TEST_REDIS_URL,
      MXDOCTOR_REDIS_PREFIX: prefix,
      MXDOCTOR_RESOLVERS: dns.address,
      MXDOCTOR_DNS_TIMEOUT: '2s',
      MXDOCTOR_ALLOW_PRIVATE: '1',
      MXDOCTOR_SMTP_PORT: String(await unusedPort()),
      MXDOCTOR_DNSBLS: 'off',
      MXDOCTOR_DOMAIN_BLOCKLISTS: 'off',
      MXDOCTOR_LOG_LEVEL: 'warn',
      MXDOCTOR_WORKER_PORT: '0',
      ...env,
    },
    { fromSource: false },
  );
  const base = `http://127.0.0.1:${port}`;
  // The clients' connections and the health prober's are separate pools, as they would be
  // from separate machines: the prober never waits for a socket behind the load.
  const load = new Agent({ keepAlive: true, maxSockets: CLIENTS });
  try {
    for (let i = 0; ; i++) {
      try {
        if ((await fetch(`${base}/readyz`)).status === 200) break;
      } catch {
        // not listening yet
      }
      if (i > 300) throw new Error(`mxdoctor serve did not get ready:\n${serve.stdout}\n${serve.stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const ids: string[] = [];
    const statuses: Record<string, number> = {};
    const apiMs: number[] = [];
    let errors = 0;
    let sent = 0;
    const t0 = performance.now();
    const until = t0 + SECONDS * 1000;
    let running = true;

    const request = async (): Promise<void> => {
      const pick = Math.random();
      const domain = `bench-${Math.floor(Math.random() * DOMAINS)}.example.com`;
      let url = `${base}/api/v1/openapi.json`;
      let body: string | undefined;
      if (pick < 0.3 || ids.length === 0) {
        url = `${base}/api/v1/checks`;
        body = JSON.stringify({ domain, options: { smtp: false } });
      } else if (pick < 0.7) url = `${base}/api/v1/checks/${ids[Math.floor(Math.random() * ids.length)]}`;
      else if (pick < 0.9) url = `${base}/api/v1/domains/${domain}/checks`;
      const started = performance.now();
      try {
        const res = await send(load, url, body ? 'POST' : 'GET', body);
        apiMs.push(performance.now() - started);
        statuses[res.status] = (statuses[res.status] ?? 0) + 1;
        if (body && (res.status === 202 || res.status === 200)) {
          const id = (JSON.parse(res.text) as { id?: string }).id;
          if (id && ids.length < 2000) ids.push(id);
        }
      } catch {
        errors++;
      }
    };
    const client = async (): Promise<void> => {
      while (running && sent < REQUESTS && performance.now() < until) {
        sent++;
        await request();
      }
    };
    // The prober runs on a thread of its own, so that its timings are the server's and not
    // the load generator's event loop, busy with 200 clients' answers.
    const prober = new Worker(PROBER, {
      eval: true,
      workerData: { url: `${base}/healthz`, every: HEALTH_EVERY_MS },
    });
    const probed = new Promise<{ samples: number[]; failures: number }>((resolve, reject) => {
      prober.once('message', resolve);
      prober.once('error', reject);
    });
    await Promise.all(Array.from({ length: CLIENTS }, client));
    const seconds = (performance.now() - t0) / 1000;
    running = false;
    prober.postMessage('stop');
    const { samples: health, failures: healthFailures } = await probed;
    await prober.terminate();
    const api = [...apiMs].sort((a, b) => a - b);
    const hz = [...health].sort((a, b) => a - b);
    return {
      phase: name,
      requests: sent,
      seconds: Math.round(seconds * 10) / 10,
      requestsPerSecond: Math.round(sent / seconds),
      statuses,
      errors,
      apiMs: { p50: percentile(api, 50), p99: percentile(api, 99), max: percentile(api, 100) },
      healthz: {
        samples: hz.length,
        p50: percentile(hz, 50),
        p99: percentile(hz, 99),
        max: percentile(hz, 100),
        failures: healthFailures,
      },
    };
  } finally {
    serve.kill('SIGTERM');
    const exited = await Promise.race([serve.exited, new Promise((r) => setTimeout(r, 15_000))]);
    if (!exited) serve.kill('SIGKILL');
    load.destroy();
    await cleanPrefix(prefix);
  }
}

const dns = await startFixtureDns({ zones: { ...SERVICE_ZONES, ...benchZones(DOMAINS) } });
const phases: PhaseResult[] = [];
try {
  phases.push(await phase('default rate limits', dns, {}));
  phases.push(
    await phase('rate limits off', dns, {
      MXDOCTOR_RATE_LIMIT_REQUESTS: 'off',
      MXDOCTOR_RATE_LIMIT_CHECKS: 'off',
    }),
  );
} finally {
  await dns.stop();
}

let ok = true;
for (const p of phases) {
  const bad = Object.entries(p.statuses).filter(([s]) => !/^2\d\d$/.test(s) && s !== '429');
  const statusText = Object.entries(p.statuses)
    .map(([s, n]) => `${s}×${n}`)
    .join(' ');
  console.log(
    `${p.phase}: ${CLIENTS} clients, ${p.requests} API requests in ${p.seconds} s (${p.requestsPerSecond}/s): ${statusText}${p.errors ? `, ${p.errors} network errors` : ''}; API latency p50 ${p.apiMs.p50} ms, p99 ${p.apiMs.p99} ms, max ${p.apiMs.max} ms`,
  );
  console.log(
    `  /healthz meanwhile: ${p.healthz.samples} samples, p50 ${p.healthz.p50} ms, p99 ${p.healthz.p99} ms, max ${p.healthz.max} ms${p.healthz.failures ? `, ${p.healthz.failures} failed` : ''}`,
  );
  if (bad.length || p.errors) {
    ok = false;
    console.log(`  FAIL: answers other than 2xx/429: ${bad.map(([s, n]) => `${s}×${n}`).join(' ')}`);
  }
  if (p.healthz.p99 >= HEALTH_P99_MS || p.healthz.failures) {
    ok = false;
    console.log(`  FAIL: /healthz p99 ${p.healthz.p99} ms (target < ${HEALTH_P99_MS} ms)`);
  }
}
const results = {
  date: new Date().toISOString(),
  machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version },
  clients: CLIENTS,
  phases,
  ok,
};
mkdirSync('bench/results', { recursive: true });
writeFileSync(
  `bench/results/api-load-${results.date.slice(0, 19).replace(/:/g, '')}.json`,
  JSON.stringify(results, null, 2) + '\n',
);
console.log(ok ? 'api-load: only 2xx/429, /healthz p99 under 100 ms' : 'api-load: FAILED');
process.exit(ok ? 0 : 1);
