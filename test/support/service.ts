import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { z } from 'zod';
import { loadConfig } from '../../src/config/index.js';
import type { Config } from '../../src/config/index.js';
import { defineFindings } from '../../src/checks/findings.js';
import { mxCheck } from '../../src/mx/check.js';
import type { Check } from '../../src/checks/types.js';
import { createLogger } from '../../src/log/logger.js';
import { startService } from '../../src/server/start.js';
import type { Service, ServiceMode } from '../../src/server/start.js';
import { startFixtureDns } from './dns-server.js';
import type { FixtureDns, NameBehaviour, Zones } from './dns-server.js';
import { TEST_REDIS_URL, cleanPrefix, testPrefix } from './redis.js';
import { SERVICE_BEHAVIOUR, SERVICE_ZONES } from '../fixtures/zones/service.js';

/** A TCP port nothing listens on (bound, then released), for MXDOCTOR_SMTP_PORT. */
export async function unusedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

/** Collects the service's JSON log lines. */
export class LogCapture extends Writable {
  readonly lines: Record<string, unknown>[] = [];
  override _write(chunk: Buffer, _enc: string, cb: () => void): void {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (line.trim()) this.lines.push(JSON.parse(line) as Record<string, unknown>);
    }
    cb();
  }
  find(pattern: RegExp): Record<string, unknown> | undefined {
    return this.lines.find((l) => pattern.test(String(l.msg)));
  }
}

/**
 * A test-only check (named like the SMTP check, whose data shape it imitates) whose finding
 * and data carry markup, to prove that the pages print remote text as text.
 */
export const MARKUP = '<img src=x onerror=alert(1)>';
const HOSTILE = defineFindings('smtp', {
  'smtp.banner': { title: 'SMTP banner', statuses: ['warn'], meaning: 'Test-only: a banner with markup.' },
});
export const hostileBannerCheck: Check = {
  name: 'smtp',
  title: 'Hostile banner (test)',
  dependsOn: ['mx'],
  findings: HOSTILE.specs,
  dataSchema: z.object({ sessions: z.array(z.unknown()), tls: z.array(z.unknown()) }),
  async run(ctx) {
    const mx = ctx.upstream('mx');
    const host = mx?.hosts[0];
    const address = host?.addresses[0]?.address ?? '127.0.0.1';
    return {
      findings: [
        HOSTILE.make('smtp.banner', 'warn', {
          summary: `The banner of ${host?.name ?? 'the MX'} is "220 ${MARKUP} ESMTP".`,
          remedy: `Remove "${MARKUP}" from the greeting.`,
          subject: { host: host?.name ?? '', address },
        }),
      ],
      data: {
        sessions: [
          {
            kind: 'probe',
            host: host?.name ?? '',
            address,
            port: 25,
            startedAt: new Date().toISOString(),
            durationMs: 12,
            connect: { ok: true, ms: 2 },
            bannerHostname: MARKUP,
            transcript: [
              { atMs: 3, dir: 'S', line: `220 ${MARKUP} ESMTP` },
              { atMs: 4, dir: 'C', line: 'EHLO probe.example.org' },
              { atMs: 9, dir: 'S', line: `250 ${MARKUP}` },
            ],
          },
        ],
        tls: [],
      },
    };
  },
};

export const CHECKS_WITH_HOSTILE_BANNER: readonly Check[] = [mxCheck, hostileBannerCheck];

export interface TestService {
  url: string;
  service: Service;
  dns: FixtureDns;
  prefix: string;
  config: Config;
  logs: LogCapture;
  stop(): Promise<void>;
}

export async function startTestService(
  options: {
    checks?: readonly Check[];
    env?: Record<string, string>;
    mode?: ServiceMode;
    zones?: Zones;
    behaviour?: Record<string, NameBehaviour>;
    dns?: FixtureDns;
    /** Key prefix to use (e.g. to start a second process against the same data). */
    prefix?: string;
    /** The clock of monitor runs (tests move it). */
    now?: () => Date;
  } = {},
): Promise<TestService> {
  const dns =
    options.dns ??
    (await startFixtureDns({
      zones: { ...SERVICE_ZONES, ...options.zones },
      behaviour: { ...SERVICE_BEHAVIOUR, ...options.behaviour },
    }));
  const prefix = options.prefix ?? testPrefix('svc');
  const config = loadConfig({
    MXDOCTOR_RESOLVERS: dns.address,
    MXDOCTOR_DNS_TIMEOUT: '5s',
    MXDOCTOR_ALLOW_PRIVATE: '1',
    // Webhook receivers of the tests listen on loopback.
    MXDOCTOR_ALERT_ALLOW_NETWORKS: '127.0.0.0/8',
    MXDOCTOR_SMTP_PORT: String(await unusedPort()),
    MXDOCTOR_EHLO_NAME: 'probe.example.org',
    REDIS_URL: TEST_REDIS_URL,
    MXDOCTOR_REDIS_PREFIX: prefix,
    PORT: '0',
    MXDOCTOR_HOST: '127.0.0.1',
    MXDOCTOR_WORKER_PORT: '0',
    MXDOCTOR_SHUTDOWN_GRACE: '5s',
    MXDOCTOR_LOG_LEVEL: 'info',
    ...options.env,
  });
  const logs = new LogCapture();
  const service = await startService({
    mode: options.mode ?? 'all',
    config,
    log: createLogger(config, logs, 'test'),
    ...(options.checks ? { checks: options.checks } : {}),
    ...(options.now ? { now: options.now } : {}),
    autoStartRedis: false,
  });
  return {
    url: service.url ?? '',
    service,
    dns,
    prefix,
    config,
    logs,
    async stop() {
      await service.stop();
      if (!options.dns) await dns.stop();
      if (!options.prefix) await cleanPrefix(prefix);
    },
  };
}

/** Polls the API until the check is completed or failed. */
export async function waitForCheck(
  url: string,
  id: string,
  timeoutMs = 30_000,
): Promise<{ status: string; report?: unknown; [k: string]: unknown }> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const res = await fetch(`${url}/api/v1/checks/${id}`);
    const body = (await res.json()) as { status: string; report?: unknown };
    if (body.status === 'completed' || body.status === 'failed') return body;
    if (Date.now() > until) throw new Error(`check ${id} still ${body.status} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
