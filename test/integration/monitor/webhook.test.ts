import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createHttpsServer } from 'node:https';
import type { Server } from 'node:https';
import { createServer as createTcpServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { loadConfig } from '../../../src/config/index.js';
import type { Config } from '../../../src/config/index.js';
import { postWebhook } from '../../../src/monitor/webhook.js';
import { signWebhook } from '../../../src/monitor/message.js';
import { startFixtureDns } from '../../support/dns-server.js';
import type { FixtureDns } from '../../support/dns-server.js';
import { createTestPki } from '../../support/test-ca.js';
import { WebhookReceiver } from '../../support/monitor.js';

/**
 * Webhook deliveries under the probe's address rules, against receivers on loopback: names
 * resolved once through mxdoctor's resolver, every address checked right before connecting
 * (loopback refused unless MXDOCTOR_ALERT_ALLOW_NETWORKS covers it, whatever MXDOCTOR_ALLOW_PRIVATE
 * says; link-local and cloud metadata addresses always), TLS verified against the trust store,
 * no redirects, one deadline, at most 64 KiB of the answer read.
 */
describe('webhook delivery', { timeout: 60_000 }, () => {
  let dns: FixtureDns;
  let hook: WebhookReceiver;
  let tlsServer: Server;
  let tlsPort = 0;
  const pki = createTestPki('mxdoctor webhook test');
  const config = (env: Record<string, string> = {}): Config =>
    loadConfig({
      MXDOCTOR_RESOLVERS: dns.address,
      MXDOCTOR_ALERT_ALLOW_NETWORKS: '127.0.0.0/8',
      MXDOCTOR_WEBHOOK_TIMEOUT: '1500ms',
      MXDOCTOR_CA_FILE: pki.rootFile,
      ...env,
    });
  const send = (url: string, c: Config, body = '{"hello":"world"}') =>
    postWebhook(
      {
        url,
        body,
        headers: { 'X-Mxdoctor-Signature': signWebhook('s3cret-s3cret-s3cret', 1700000000, body) },
      },
      c,
    );

  before(async () => {
    dns = await startFixtureDns({
      zones: {
        'hooks.example.test': { A: ['127.0.0.1'] },
        'two.example.test': { A: ['127.0.0.60', '127.0.0.1'] },
        'nowhere.example.test': { TXT: ['no address'] },
      },
    });
    hook = await new WebhookReceiver().start();
    hook.secret = 's3cret-s3cret-s3cret';
    const leaf = pki.leaf({ names: ['hooks.example.test'] });
    tlsServer = createHttpsServer({ key: leaf.keyPem, cert: leaf.chainPem }, (req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(204).end());
    });
    await new Promise<void>((r) => tlsServer.listen(0, '127.0.0.1', () => r()));
    tlsPort = (tlsServer.address() as AddressInfo).port;
  });
  after(async () => {
    await hook?.stop();
    tlsServer?.closeAllConnections();
    await new Promise<void>((r) => tlsServer?.close(() => r()));
    await dns?.stop();
  });

  it('POSTs the body with the signature header to a name resolved through the configured resolver', async () => {
    hook.respond = () => 202;
    const r = await send(`http://hooks.example.test:${hook.port}/in?x=1`, config());
    assert.equal(r.ok, true, r.detail);
    assert.equal(r.status, 202);
    assert.equal(r.address, '127.0.0.1');
    const got = hook.received.at(-1)!;
    assert.equal(got.headers.host, `hooks.example.test:${hook.port}`);
    assert.equal(got.headers['content-type'], 'application/json');
    assert.match(String(got.headers['user-agent']), /^mxdoctor\//);
    assert.equal(got.signatureValid, true);
    assert.deepEqual(got.json, { hello: 'world' });
  });

  it('refuses loopback and private targets outside MXDOCTOR_ALERT_ALLOW_NETWORKS, without connecting', async () => {
    const before = hook.received.length;
    // MXDOCTOR_ALLOW_PRIVATE is for probing private mail servers; it does not open alerts up.
    const strict = config({ MXDOCTOR_ALERT_ALLOW_NETWORKS: '', MXDOCTOR_ALLOW_PRIVATE: '1' });
    for (const url of [`http://127.0.0.1:${hook.port}/`, `http://hooks.example.test:${hook.port}/`]) {
      const r = await send(url, strict);
      assert.equal(r.ok, false);
      assert.equal(r.retryable, false);
      assert.match(
        r.detail,
        /^not sent: 127\.0\.0\.1 is a loopback .*only inside MXDOCTOR_ALERT_ALLOW_NETWORKS$/,
      );
    }
    assert.equal(hook.received.length, before, 'nothing reached the receiver');
  });

  it('never sends to link-local addresses or cloud metadata endpoints, whatever is allowed', async () => {
    const open = config({ MXDOCTOR_ALERT_ALLOW_NETWORKS: '0.0.0.0/0,::/0', MXDOCTOR_ALLOW_PRIVATE: '1' });
    for (const [url, why] of [
      ['http://169.254.169.254/latest/meta-data/', /instance metadata service/],
      ['http://[::ffff:169.254.169.254]/', /instance metadata service/],
      ['http://100.100.100.200/latest/meta-data/', /Alibaba Cloud metadata/],
      ['http://[fd00:ec2::254]/latest/meta-data/', /AWS instance metadata service over IPv6/],
      ['http://168.63.129.16/machine', /Azure platform/],
      ['http://169.254.10.10/', /link-local/],
      ['http://[fe80::1]/', /link-local/],
    ] as const) {
      const r = await send(url, open);
      assert.equal(r.ok, false, url);
      assert.equal(r.retryable, false, url);
      assert.match(r.detail, why, url);
      assert.match(r.detail, /never sent there/, url);
    }
  });

  it('tries the next address of a name only when one is unreachable', async () => {
    hook.respond = () => 200;
    const r = await send(`http://two.example.test:${hook.port}/`, config());
    assert.equal(r.ok, true, r.detail);
    assert.equal(r.address, '127.0.0.1');
  });

  it('says what went wrong: no address, 4xx (final), 5xx and 429 (retried), a redirect (not followed)', async () => {
    const c = config();
    const none = await send(`http://nowhere.example.test:${hook.port}/`, c);
    assert.match(none.detail, /nowhere\.example\.test has no A or AAAA record/);
    for (const [status, retryable] of [
      [404, false],
      [500, true],
      [503, true],
      [429, true],
      [408, true],
    ] as const) {
      hook.respond = () => status;
      const r = await send(`http://127.0.0.1:${hook.port}/`, c);
      assert.deepEqual([r.ok, r.status, r.retryable], [false, status, retryable]);
    }
    hook.respond = (_n, res) => {
      res.writeHead(301, { location: 'http://169.254.169.254/latest/meta-data/' }).end();
      return 301;
    };
    const redirect = await send(`http://127.0.0.1:${hook.port}/`, c);
    assert.equal(redirect.ok, false);
    assert.equal(redirect.retryable, false);
    assert.match(
      redirect.detail,
      /HTTP 301 redirect to http:\/\/169\.254\.169\.254\/.*do not follow redirects/,
    );
  });

  it('reads at most 64 KiB of the answer and gives up at the deadline', async () => {
    const c = config();
    hook.respond = (_n, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      const chunk = 'x'.repeat(64 * 1024);
      // 8 MiB offered; the client stops reading after 64 KiB.
      let sent = 0;
      const more = (): void => {
        while (sent < 128 && res.write(chunk)) sent++;
        if (sent < 128) res.once('drain', more);
        else res.end();
      };
      more();
      return 200;
    };
    const big = await send(`http://127.0.0.1:${hook.port}/`, c);
    assert.equal(big.ok, true);
    assert.ok((big.body ?? '').length <= 512);

    const hang = await silentServer();
    const t0 = Date.now();
    const slow = await send(`http://127.0.0.1:${hang.port}/`, c);
    assert.equal(slow.ok, false);
    assert.equal(slow.retryable, true);
    assert.match(slow.detail, /no complete answer within 1500 ms/);
    assert.ok(Date.now() - t0 < 4000, 'bounded by the deadline');
    hang.close();
  });

  it('verifies HTTPS receivers against the trust store and the name', async () => {
    const ok = await send(`https://hooks.example.test:${tlsPort}/`, config());
    assert.equal(ok.ok, true, ok.detail);
    assert.equal(ok.status, 204);
    const wrongName = await send(`https://127.0.0.1:${tlsPort}/`, config());
    assert.equal(wrongName.ok, false);
    assert.match(wrongName.detail, /not valid for 127\.0\.0\.1/);
    const untrusted = await send(`https://hooks.example.test:${tlsPort}/`, config({ MXDOCTOR_CA_FILE: '' }));
    assert.equal(untrusted.ok, false);
    assert.match(untrusted.detail, /certificate is not trusted/);
  });
});

/** A TCP server that accepts connections and never says a word. */
async function silentServer(): Promise<{ port: number; close(): void }> {
  const sockets: Socket[] = [];
  const server = createTcpServer((s) => sockets.push(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as AddressInfo).port,
    close() {
      sockets.forEach((s) => s.destroy());
      server.close();
    },
  };
}
