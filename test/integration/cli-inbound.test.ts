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

  /** Starts `mxdoctor inbound` on a free port and waits for the address it prints. */
  async function startInbound(extra: string[], json: boolean) {
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
        ...extra,
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
    const kill = setTimeout(() => child.kill('SIGKILL'), 60_000);
    const exited = new Promise<number | null>((r) =>
      child.on('exit', (code) => {
        clearTimeout(kill);
        r(code);
      }),
    );
    const until = Date.now() + 30_000;
    let address: string | undefined;
    while (!address && Date.now() < until) {
      address = /test-[a-z2-7]{26}@inbound\.example\.test/.exec(json ? cli.stderr : cli.stdout)?.[0];
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(address, `an address: ${cli.stdout} ${cli.stderr}`);
    return { port, cli, exited, address };
  }

  it('prints an address, waits for one message and prints the report as JSON', async () => {
    const { port, cli, exited, address } = await startInbound(['--json'], true);
    assert.match(cli.stderr, /self-signed certificate/);
    const reply = await sendTestMessage({ port, to: address, dkimDomain: 'good.sender.example' });
    assert.match(reply, /^250 /);
    const code = await exited;
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

  it('refuses an address it did not hand out, keeps waiting, and fails a plain-text delivery (exit 1)', async () => {
    const { port, cli, exited, address } = await startInbound([], false);
    const other = address.replace(/test-[a-z2-7]{26}/, `test-${'a'.repeat(26)}`);
    await assert.rejects(
      sendTestMessage({ port, to: other, dkimDomain: 'good.sender.example' }),
      (err: { responseCode?: number; response?: string }) => {
        assert.equal(err.responseCode, 550);
        assert.match(err.response ?? '', /5\.1\.1 This test address is unknown or has expired/);
        return true;
      },
    );
    // A sender that ignores the STARTTLS it was offered.
    const reply = await sendTestMessage({
      port,
      to: address,
      dkimDomain: 'good.sender.example',
      ignoreTLS: true,
    });
    assert.match(reply, /^250 /);
    assert.equal(await exited, 1, cli.stderr);
    assert.match(cli.stdout, /Message received from 127\.0\.0\.1 \(no TLS, \d+ bytes\)/);
    assert.match(cli.stdout, /FAIL +TLS in transit: .*plain text although the receiver offered STARTTLS/);
    assert.match(cli.stdout, /PASS +DKIM signature d=good\.sender\.example/);
    assert.match(cli.stdout, /Verdict: FAIL/);
  });

  it('gives up when no message comes within --wait (exit 1), and refuses a --wait too short to deliver (exit 2)', async () => {
    const short = await runMxdoctor(['inbound', '--wait', '1s']);
    assert.equal(short.code, 2);
    assert.match(short.stderr, /--wait must be at least 10s/);
    const { cli, exited, address } = await startInbound(['--wait', '10s'], false);
    assert.equal(await exited, 1);
    assert.match(cli.stdout, /Waiting up to 10 s…/);
    assert.match(cli.stderr, new RegExp(`no message arrived for ${address.replace(/\./g, '\\.')} in time`));
  });

  it('refuses a --listen that is not host:port (exit 2)', async () => {
    const r = await runMxdoctor(['inbound', '--listen', 'nonsense']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--listen="nonsense" is not host:port/);
  });
});
