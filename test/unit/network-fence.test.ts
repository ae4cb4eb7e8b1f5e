import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import http from 'node:http';
import dgram from 'node:dgram';

/**
 * The network fence (loaded into every test process) must stop every way the code base opens
 * connections to a non-loopback address. 192.0.2.1 is TEST-NET-1: nothing answers there, and
 * the fence must refuse before a packet is sent.
 */
function refused(start: (done: (err?: Error) => void) => void): Promise<Error | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(undefined), 2000);
    start((err) => {
      clearTimeout(timer);
      resolve(err);
    });
  });
}

describe('network fence', () => {
  it('refuses net.connect with options', async () => {
    const err = await refused((done) => net.connect({ host: '192.0.2.1', port: 25 }).on('error', done));
    assert.match(String(err), /network fence/);
  });
  it('refuses net.connect(port, host)', async () => {
    const err = await refused((done) => net.connect(25, '192.0.2.1').on('error', done));
    assert.match(String(err), /network fence/);
  });
  it('refuses IPv6 targets', async () => {
    const err = await refused((done) => net.connect({ host: '2001:db8::1', port: 25 }).on('error', done));
    assert.match(String(err), /network fence/);
  });
  it('refuses tls.connect', async () => {
    const err = await refused((done) =>
      tls.connect({ host: '192.0.2.1', port: 443, servername: 'x.example' }).on('error', done),
    );
    assert.match(String(err), /network fence/);
  });
  it('refuses http requests', async () => {
    const err = await refused((done) =>
      http.get({ host: '192.0.2.1', port: 80, path: '/' }).on('error', done),
    );
    assert.match(String(err), /network fence/);
  });
  it('refuses UDP datagrams', async () => {
    const socket = dgram.createSocket('udp4');
    const err = await refused((done) =>
      socket.send(Buffer.from('x'), 53, '192.0.2.1', (e) => done(e ?? undefined)),
    );
    socket.close();
    assert.match(String(err), /network fence/);
  });
  it('lets loopback through', async () => {
    const server = net.createServer((s) => s.end()).listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const port = (server.address() as net.AddressInfo).port;
    const err = await refused((done) =>
      net
        .connect({ host: '127.0.0.1', port })
        .on('connect', () => done())
        .on('error', done),
    );
    server.close();
    assert.equal(err, undefined);
  });
});
