import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT, runMxdoctor } from '../support/cli.js';
import { unusedPort } from '../support/service.js';
import { startFixtureDns } from '../support/dns-server.js';
import type { FixtureDns } from '../support/dns-server.js';
import { INBOUND_DOMAIN, INBOUND_ZONES, sendTestMessage } from '../support/inbound.js';

/**
 * `mxdoctor inbound` as a user runs it (the "done when"): the real command listens,
 * prints a one-time address, takes one DKIM-signed message sent over STARTTLS from an address
 * the sender's SPF authorises, and prints SPF, DKIM and DMARC pass with the TLS version used.
 */
describe('mxdoctor inbound', () => {
  let dns: FixtureDns;
  before(async () => {
    dns = await startFixtureDns({ zones: INBOUND_ZONES });
  });
  after(async () => {
    await dns.stop();
  });

  it('prints an address, waits for one message and prints the report as JSON', async () => {
    const port = await unusedPort();
    const child = spawn(
      process.execPath,
      [
        join(ROOT, 'bin', 'mxdoctor.js'),
        'inbound',
        '--listen',
        `127.0.0.1:${port}`,
        '--domain',
        INBOUND_DOMAIN,
        '--resolver',
        dns.address,
        '--json',
      ],
      {
        cwd: ROOT,
        env: {
          PATH: process.env.PATH ?? '',
          HOME: process.env.HOME ?? '/tmp',
          NODE_OPTIONS: `--import=${pathToFileURL(join(ROOT, 'test', 'support', 'network-fence.mjs')).href}`,
          MXDOCTOR_FROM_SOURCE: '1',
          MXDOCTOR_DNSBLS: 'off',
          MXDOCTOR_DOMAIN_BLOCKLISTS: 'off',
          NO_COLOR: '1',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const cli = { stdout: '', stderr: '' };
    child.stdout.setEncoding('utf8').on('data', (d: string) => (cli.stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (cli.stderr += d));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    const kill = setTimeout(() => child.kill('SIGKILL'), 60_000);
    const until = Date.now() + 30_000;
    let address: string | undefined;
    while (!address && Date.now() < until) {
      address = /test-[a-z2-7]{26}@inbound\.example\.test/.exec(cli.stderr)?.[0];
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(address, `an address on standard error: ${cli.stderr}`);
    assert.match(cli.stderr, /self-signed certificate/);
    const reply = await sendTestMessage({ port, to: address, dkimDomain: 'good.sender.example' });
    assert.match(reply, /^250 /);
    const code = await exited;
    clearTimeout(kill);
    assert.equal(code, 0, cli.stderr);
    const report = JSON.parse(cli.stdout) as {
      test: { address: string };
      verdict: string;
      connection: { tls: { used: boolean; protocol?: string } };
      checks: { id: string; status: string; summary: string }[];
    };
    const statusOf = (id: string) => report.checks.find((f) => f.id === id)?.status;
    assert.equal(report.test.address, address);
    assert.equal(statusOf('auth.spf'), 'pass');
    assert.equal(statusOf('auth.dkim'), 'pass');
    assert.equal(statusOf('auth.dmarc'), 'pass');
    assert.equal(report.connection.tls.used, true);
    assert.match(report.connection.tls.protocol ?? '', /^TLSv1\.[23]$/);
    assert.match(report.checks.find((f) => f.id === 'inbound.connection.tls')!.summary, /TLSv1\.[23]/);
    assert.equal(report.verdict, 'pass');
  });

  it('refuses a --listen that is not host:port (exit 2)', async () => {
    const r = await runMxdoctor(['inbound', '--listen', 'nonsense']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--listen="nonsense" is not host:port/);
  });
});
