import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { describeProxy, parseSocks5Url, socks5Connect, socks5Connector } from '../../src/net/socks5.js';
import type { Socks5Bound } from '../../src/net/socks5.js';
import { isProbeError } from '../../src/net/errors.js';
import { scanAddress } from '../../src/tls/deep/scan.js';
import { startSocks5Server } from '../support/socks5-server.js';
import type { Socks5TestServer } from '../support/socks5-server.js';
import { startStartTlsServer } from '../support/starttls-server.js';
import { createTestPki } from '../support/test-ca.js';

/** The SOCKS5 egress client against a SOCKS5 proxy written for the test, all on loopback. */
const cleanup: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanup) await c();
});

async function proxy(options: Parameters<typeof startSocks5Server>[0] = {}): Promise<Socks5TestServer> {
  const p = await startSocks5Server(options);
  cleanup.push(() => p.stop());
  return p;
}

async function greeter(): Promise<{ port: number }> {
  const server: Server = createServer((s) => {
    s.on('error', () => {});
    s.end('220 hello through the proxy\r\n');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanup.push(() => new Promise((r) => server.close(() => r())));
  return { port: (server.address() as AddressInfo).port };
}

function firstData(socket: Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    socket.once('data', (d) => resolve(d.toString()));
    socket.once('error', reject);
    socket.resume();
  });
}

const signal = (): AbortSignal => AbortSignal.timeout(10_000);

describe('SOCKS5 egress client', () => {
  it('parses socks5:// URLs and refuses socks5h://', () => {
    assert.deepEqual(parseSocks5Url('socks5://user:p%40ss@127.0.0.1:1080'), {
      host: '127.0.0.1',
      port: 1080,
      username: 'user',
      password: 'p@ss',
    });
    assert.deepEqual(parseSocks5Url('socks5://[::1]:9050'), { host: '::1', port: 9050 });
    assert.throws(() => parseSocks5Url('socks5h://127.0.0.1:1080'), /resolves names itself/);
    assert.throws(() => parseSocks5Url('http://127.0.0.1:3128'), /unsupported proxy scheme/);
    assert.equal(
      describeProxy({ host: '::1', port: 9050, username: 'u', password: 'p' }),
      'socks5://[::1]:9050 (with username/password)',
    );
  });

  it('reaches the target by IP address and returns the address the proxy connects from', async () => {
    const p = await proxy();
    const target = await greeter();
    const { socket, bound } = await socks5Connect({
      proxy: { host: p.host, port: p.port },
      address: '127.0.0.1',
      port: target.port,
      timeoutMs: 2000,
      signal: signal(),
    });
    assert.match(await firstData(socket), /^220 hello through the proxy/);
    socket.destroy();
    assert.deepEqual(bound, { address: '127.0.0.9', port: 1234 });
    assert.deepEqual(p.requests, [{ atyp: 'ipv4', address: '127.0.0.1', port: target.port }]);
  });

  it('authenticates with username and password (RFC 1929) and reports a wrong password', async () => {
    const p = await proxy({ auth: { username: 'mx', password: 'doctor' } });
    const target = await greeter();
    const ok = await socks5Connect({
      proxy: { host: p.host, port: p.port, username: 'mx', password: 'doctor' },
      address: '127.0.0.1',
      port: target.port,
      timeoutMs: 2000,
      signal: signal(),
    });
    ok.socket.destroy();
    await assert.rejects(
      socks5Connect({
        proxy: { host: p.host, port: p.port, username: 'mx', password: 'wrong' },
        address: '127.0.0.1',
        port: target.port,
        timeoutMs: 2000,
        signal: signal(),
      }),
      /rejected the username or password/,
    );
    await assert.rejects(
      socks5Connect({
        proxy: { host: p.host, port: p.port },
        address: '127.0.0.1',
        port: target.port,
        timeoutMs: 2000,
        signal: signal(),
      }),
      /accepts none of our authentication methods/,
    );
  });

  it('never asks the proxy to resolve a name', async () => {
    const p = await proxy();
    await assert.rejects(
      socks5Connect({
        proxy: { host: p.host, port: p.port },
        address: 'mx.example.com',
        port: 25,
        timeoutMs: 2000,
        signal: signal(),
      }),
      (err) => isProbeError(err, 'EINPUT'),
    );
    assert.equal(p.connections, 0);
  });

  it('says what the proxy reported when the target refused', async () => {
    const p = await proxy({ replyCode: 5 });
    await assert.rejects(
      socks5Connect({
        proxy: { host: p.host, port: p.port },
        address: '127.0.0.1',
        port: 25,
        timeoutMs: 2000,
        signal: signal(),
      }),
      /127\.0\.0\.1 port 25 via SOCKS5 proxy .*: connection refused/,
    );
  });

  it('times out on a silent proxy within its deadline, and honours the caller abort', async () => {
    const p = await proxy({ silent: true });
    const t0 = Date.now();
    await assert.rejects(
      socks5Connect({
        proxy: { host: p.host, port: p.port },
        address: '127.0.0.1',
        port: 25,
        timeoutMs: 300,
        signal: signal(),
      }),
      (err) => isProbeError(err, 'ETIMEDOUT'),
    );
    assert.ok(Date.now() - t0 < 1500);
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('cancelled')), 50);
    await assert.rejects(
      socks5Connect({
        proxy: { host: p.host, port: p.port },
        address: '127.0.0.1',
        port: 25,
        timeoutMs: 5000,
        signal: controller.signal,
      }),
      /cancelled/,
    );
  });

  it('carries the TLS depth scan: every handshake goes through the proxy, by IP', async () => {
    const p = await proxy();
    const pki = createTestPki();
    const leaf = pki.leaf({ names: ['mx.test'] });
    const mx = await startStartTlsServer({
      tls: { key: leaf.keyPem, cert: leaf.chainPem, minVersion: 'TLSv1.2' },
    });
    cleanup.push(() => mx.stop());
    const bound: Socks5Bound[] = [];
    const r = await scanAddress({
      target: { host: 'mx.test', address: '127.0.0.1', port: mx.port, heloName: 'probe.test' },
      timeouts: { connectMs: 2000, bannerMs: 2000, commandMs: 2000, tlsMs: 3000 },
      allowPrivate: true,
      maxHandshakes: 12,
      signal: signal(),
      connect: socks5Connector({ host: p.host, port: p.port }, (b) => bound.push(b)),
    });
    assert.equal(r.status, 'scanned');
    assert.equal(p.requests.length, r.handshakes.length);
    assert.ok(p.requests.every((q) => q.atyp === 'ipv4' && q.address === '127.0.0.1'));
    assert.equal(mx.connections, r.handshakes.length);
    assert.equal(bound.length, r.handshakes.length);
  });
});
