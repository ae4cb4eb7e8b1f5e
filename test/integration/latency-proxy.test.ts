import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import type { Socket as UdpSocket } from 'node:dgram';
import { connect, createServer } from 'node:net';
import type { Server } from 'node:net';
import { LatencyProxy } from '../support/latency-proxy.js';

/**
 * The latency proxy of bench/latency.bench.ts: bytes pass intact and in order, and never
 * sooner than the round trips a real connection would take (lower bounds only: a busy
 * machine may always be slower).
 */
const RTT = 60;

describe('latency proxy', () => {
  let echo: Server;
  let udpEcho: UdpSocket;
  let proxy: LatencyProxy;
  let tcpPort: number;
  let udpPort: number;

  before(async () => {
    echo = createServer((s) => s.pipe(s));
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
    udpEcho = createSocket('udp4');
    udpEcho.on('message', (m, r) => udpEcho.send(m, r.port, r.address));
    await new Promise<void>((resolve) => udpEcho.bind(0, '127.0.0.1', resolve));
    proxy = new LatencyProxy(RTT);
    tcpPort = await proxy.tcp('127.0.0.1', 0, '127.0.0.1', (echo.address() as { port: number }).port);
    udpPort = await proxy.udp('127.0.0.1', 0, '127.0.0.1', udpEcho.address().port);
  });
  after(async () => {
    await proxy.stop();
    udpEcho.close();
    await new Promise<void>((resolve) => echo.close(() => resolve()));
  });

  it('relays TCP in order, the first answer no sooner than the handshake and one round trip', async () => {
    const payload = randomBytes(300_000);
    const t0 = performance.now();
    const socket = connect({ host: '127.0.0.1', port: tcpPort });
    let firstAt = 0;
    const chunks: Buffer[] = [];
    const done = new Promise<void>((resolve) => {
      socket.on('data', (d: Buffer) => {
        firstAt ||= performance.now() - t0;
        chunks.push(d);
        if (Buffer.concat(chunks).length >= payload.length) resolve();
      });
    });
    // Written at once and in pieces of varied sizes.
    for (let i = 0; i < payload.length; i += 1 + (i % 9000))
      socket.write(payload.subarray(i, i + 1 + (i % 9000)));
    await done;
    socket.destroy();
    assert.ok(Buffer.concat(chunks).equals(payload), 'the same bytes, in order');
    assert.ok(firstAt >= 2 * RTT - 2, `first echo after ${firstAt} ms, not before ${2 * RTT} ms`);
    assert.equal(proxy.stats.tcpConnections, 1);
  });

  it('delays each UDP datagram by a round trip and returns the answer to its sender', async () => {
    const client = createSocket('udp4');
    await new Promise<void>((resolve) => client.bind(0, '127.0.0.1', resolve));
    const t0 = performance.now();
    const answer = new Promise<{ msg: Buffer; at: number }>((resolve) =>
      client.once('message', (msg) => resolve({ msg, at: performance.now() - t0 })),
    );
    client.send(Buffer.from('query'), udpPort, '127.0.0.1');
    const { msg, at } = await answer;
    client.close();
    assert.equal(msg.toString(), 'query');
    assert.ok(at >= RTT - 2, `answer after ${at} ms, not before ${RTT} ms`);
  });

  it('counts its timed deliveries and how late they ran, which the round trip includes', async () => {
    const own = new LatencyProxy(RTT);
    const port = await own.udp('127.0.0.1', 0, '127.0.0.1', udpEcho.address().port);
    const client = createSocket('udp4');
    await new Promise<void>((resolve) => client.bind(0, '127.0.0.1', resolve));
    const t0 = performance.now();
    const answered = new Promise<number>((resolve) =>
      client.once('message', () => resolve(performance.now() - t0)),
    );
    client.send(Buffer.from('query'), port, '127.0.0.1');
    const at = await answered;
    client.close();
    await own.stop();
    assert.equal(own.stats.deliveries, 2, 'the query there, the answer back');
    const late = own.stats.lateMsTotal;
    assert.ok(late >= 0 && late <= at - RTT + 1, `late by ${late} ms in a round trip of ${at} ms`);
    assert.ok(own.stats.lateMsMax >= late / 2 && own.stats.lateMsMax <= late);
  });
});
