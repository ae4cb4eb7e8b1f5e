import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT, runMxdoctor } from '../support/cli.js';
import type { CliResult } from '../support/cli.js';
import { startFixtureDns } from '../support/dns-server.js';
import type { FixtureDns } from '../support/dns-server.js';
import { freePort, startSmtpFake } from '../support/smtp-fakes.js';
import type { SmtpFake } from '../support/smtp-fakes.js';
import { createTestPki } from '../support/test-ca.js';

/**
 * What the command line loads: `mxdoctor --version` none of the engine, and `mxdoctor check`
 * none of the service (web server, queue, Redis client, logging, metrics, templates) nor the
 * bounce parser. The child process runs with a module tracer (test/support/module-trace.mjs)
 * that lists every file it loads; the packages are read from those paths. A behaviour test:
 * it fails when a static import drags a service package into the command path again.
 */
const FENCE = pathToFileURL(join(ROOT, 'test', 'support', 'network-fence.mjs')).href;
const TRACER = pathToFileURL(join(ROOT, 'test', 'support', 'module-trace.mjs')).href;

/** Packages of the service and of bounce parsing: `check` uses none of them. */
const SERVICE_PACKAGES = [
  'express',
  'express-rate-limit',
  'helmet',
  'eta',
  'busboy',
  'bullmq',
  'ioredis',
  'rate-limit-redis',
  'pino',
  'pino-http',
  'prom-client',
  'cron-parser',
  '@bull-board/api',
  '@bull-board/express',
  'nodemailer',
];

const dependencies = Object.keys(
  (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> })
    .dependencies,
);

let dir: string;
let runs = 0;

/** Runs mxdoctor with the tracer; returns its result and the project dependencies it loaded. */
async function traced(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ r: CliResult; packages: Set<string> }> {
  const trace = join(dir, `trace-${runs++}.txt`);
  writeFileSync(trace, '');
  const r = await runMxdoctor(args, {
    env: { NODE_OPTIONS: `--import=${FENCE} --import=${TRACER}`, MXDOCTOR_TRACE_MODULES: trace, ...env },
  });
  const packages = new Set<string>();
  for (const line of readFileSync(trace, 'utf8').split('\n')) {
    const m = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(line);
    if (m && dependencies.includes(m[1]!)) packages.add(m[1]!);
  }
  return { r, packages };
}

describe('what the command line loads', () => {
  let dns: FixtureDns;
  let fake: SmtpFake;
  let port: number;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mxdoctor-startup-'));
    const pki = createTestPki();
    const leaf = pki.leaf({ names: ['mx.startup.test'] });
    writeFileSync(join(dir, 'ca.pem'), pki.root.certPem);
    port = await freePort();
    fake = await startSmtpFake({
      host: '127.0.0.91',
      port,
      name: 'mx.startup.test',
      domains: ['startup.test'],
      users: ['alice'],
      tls: { key: leaf.keyPem, cert: leaf.chainPem },
    });
    dns = await startFixtureDns({
      zones: {
        'startup.test': {
          MX: ['10 mx.startup.test'],
          TXT: ['v=spf1 mx -all'],
          SOA: ['ns1.startup.test hostmaster.startup.test 1 3600 600 86400 300'],
        },
        'mx.startup.test': { A: ['127.0.0.91'] },
      },
    });
  });
  after(async () => {
    fake?.assertNoMessageSent();
    await fake?.stop();
    await dns?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('--version loads the argument parser and nothing else of the project’s dependencies', async () => {
    const { r, packages } = await traced(['--version']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout.trim(), /^\d+\.\d+\.\d+$/);
    assert.deepEqual([...packages].sort(), ['commander']);
  });

  it('check, with and without SMTP, loads none of the service or bounce packages', async () => {
    const env = {
      MXDOCTOR_ALLOW_PRIVATE: '1',
      MXDOCTOR_SMTP_PORT: String(port),
      MXDOCTOR_CA_FILE: join(dir, 'ca.pem'),
      MXDOCTOR_DOMAIN_BLOCKLISTS: 'off',
    };
    const common = [
      'check',
      'startup.test',
      '--json',
      '--resolver',
      dns.address,
      '--dnsbl',
      'bl.startup.test',
    ];
    for (const extra of [['--no-smtp'], ['--verify', 'alice@startup.test']]) {
      const { r, packages } = await traced([...common, ...extra], env);
      const report = JSON.parse(r.stdout) as { mx: { hosts: unknown[] }; data: Record<string, unknown> };
      assert.equal(report.mx.hosts.length, 1, 'the check ran');
      if (extra[0] !== '--no-smtp') {
        const smtp = report.data.smtp as { tls: { handshake: string }[] };
        assert.equal(smtp.tls[0]?.handshake, 'ok', 'the SMTP and TLS path ran');
      }
      // The tracer sees what the check does load: otherwise this test could not fail.
      for (const used of ['commander', 'zod', 'dns2', 'tldts'])
        assert.ok(packages.has(used), `the trace shows ${used}`);
      const unwanted = SERVICE_PACKAGES.filter((p) => packages.has(p));
      assert.deepEqual(unwanted, [], `check ${extra.join(' ')} loaded ${unwanted.join(', ')}`);
    }
    assert.ok(fake.connections >= 1, 'the SMTP fake was probed');
  });

  it('bounce loads none of the service packages', async () => {
    const { r, packages } = await traced(['bounce', '--no-followup', '--json'], {});
    // No input given on a pipe: standard input is empty, a usage error after the parser loaded.
    assert.equal(r.code, 2, r.stderr);
    const unwanted = SERVICE_PACKAGES.filter((p) => packages.has(p));
    assert.deepEqual(unwanted, []);
  });
});
