import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { createTransport } from 'nodemailer';
import { startReceiver } from '../../../src/inbound/receiver.js';
import type { DeliverOutcome, Receiver, ReceiverOptions, TestLookup } from '../../../src/inbound/receiver.js';
import type { Delivery } from '../../../src/inbound/model.js';
import { selfSignedCertificate } from '../../../src/tls/self-signed.js';
import type { SelfSigned } from '../../../src/tls/self-signed.js';

/**
 * The inbound receiver on loopback, with nodemailer as the sending client and raw sockets for
 * the clients nodemailer is too well-behaved to be: what it accepts, what it refuses, and what
 * it records of the connection.
 */
const DOMAIN = 'inbound.example.test';
const token = (c: string) => c.repeat(26);
const address = (c: string) => `test-${token(c)}@${DOMAIN}`;

interface Harness {
  rx: Receiver;
  deliveries: { token: string; delivery: Delivery; message: Buffer }[];
  states: Map<string, TestLookup>;
}

let cert: SelfSigned;
before(async () => {
  cert = await selfSignedCertificate([DOMAIN]);
});

async function harness(over: Partial<ReceiverOptions> = {}): Promise<Harness> {
  const deliveries: Harness['deliveries'] = [];
  const states = new Map<string, TestLookup>([
    [token('a'), 'waiting'],
    [token('b'), 'waiting'],
    [token('c'), 'waiting'],
    [token('d'), 'waiting'],
    [token('u'), 'used'],
  ]);
  const rx = await startReceiver({
    listen: { host: '127.0.0.1', port: 0 },
    domain: DOMAIN,
    tls: { certPem: cert.certPem, keyPem: cert.keyPem, kind: 'self-signed' },
    maxBytes: 20_000,
    sessionDeadlineMs: 10_000,
    idleTimeoutMs: 5_000,
    maxConnections: 20,
    connectionsPerIp: 3,
    ratePerIp: { points: 100, windowMs: 60_000 },
    async lookup(t) {
      return states.get(t) ?? 'unknown';
    },
    async deliver(t, delivery, message): Promise<DeliverOutcome> {
      if (states.get(t) !== 'waiting') return { ok: false, reason: states.has(t) ? 'used' : 'unknown' };
      states.set(t, 'used');
      deliveries.push({ token: t, delivery, message });
      return { ok: true, id: `id-${t}` };
    },
    ...over,
  });
  return { rx, deliveries, states };
}

function transport(port: number, options: Record<string, unknown> = {}) {
  return createTransport({
    host: '127.0.0.1',
    port,
    name: 'sender.example.org',
    tls: { rejectUnauthorized: false },
    ...options,
  } as never);
}

/** A raw client: writes `script` parts with pauses, collects what the server says until it closes. */
async function rawSession(port: number, parts: { write: string; waitMs?: number }[]): Promise<string> {
  const socket = connect(port, '127.0.0.1');
  let text = '';
  socket.on('data', (d) => (text += d.toString()));
  const closed = new Promise<void>((r) => socket.on('close', () => r()));
  socket.on('error', () => {});
  for (const p of parts) {
    socket.write(p.write);
    await new Promise((r) => setTimeout(r, p.waitMs ?? 150));
  }
  socket.end();
  await Promise.race([closed, new Promise((r) => setTimeout(r, 3000))]);
  return text;
}

describe('inbound receiver', () => {
  let h: Harness;
  before(async () => {
    h = await harness();
  });
  after(async () => {
    await h.rx.close();
  });

  it('accepts a message for a live test address over STARTTLS and records the TLS version and cipher', async () => {
    const info = await transport(h.rx.port).sendMail({
      from: 'alice@sender.example.org',
      to: address('a'),
      subject: 'Hello',
      text: 'Hello there',
    });
    assert.match(info.response, /^250 /);
    const d = h.deliveries.find((x) => x.token === token('a'))!;
    assert.ok(d, 'delivered');
    const c = d.delivery.connection;
    assert.equal(c.remoteAddress, '127.0.0.1');
    assert.equal(c.tls.offered, true);
    assert.equal(c.tls.used, true);
    assert.match(c.tls.protocol ?? '', /^TLSv1\.[23]$/);
    assert.ok(c.tls.cipher);
    assert.equal(c.tls.receiverCertificate, 'self-signed');
    assert.deepEqual(c.helo, { command: 'EHLO', name: 'sender.example.org' });
    assert.equal(c.earlyTalk, undefined);
    assert.deepEqual(c.pipelining.misuse, []);
    assert.equal(d.delivery.envelope.mailFrom, 'alice@sender.example.org');
    assert.equal(d.delivery.envelope.rcptTo, address('a'));
    assert.match(d.message.toString(), /Subject: Hello/);
    assert.ok(c.transcript.some((l) => l.dir === 'I' && /TLS started/.test(l.line)));
  });

  it('records a plain-text delivery when the sender ignores the STARTTLS it was offered', async () => {
    await transport(h.rx.port, { ignoreTLS: true }).sendMail({
      from: 'bob@sender.example.org',
      to: address('b'),
      subject: 'Plain',
      text: 'no TLS',
    });
    const c = h.deliveries.find((x) => x.token === token('b'))!.delivery.connection;
    assert.equal(c.tls.offered, true);
    assert.equal(c.tls.used, false);
    assert.equal(c.tls.protocol, undefined);
  });

  it('records TLS 1.0 when an old sender offers nothing newer, and the client certificate it presents', async () => {
    const client = await selfSignedCertificate(['mail.client.example.org']);
    h.states.set(token('e'), 'waiting');
    await transport(h.rx.port, {
      tls: {
        rejectUnauthorized: false,
        minVersion: 'TLSv1',
        maxVersion: 'TLSv1',
        ciphers: 'DEFAULT:@SECLEVEL=0',
        cert: client.certPem,
        key: client.keyPem,
      },
    }).sendMail({ from: 'old@sender.example.org', to: address('e'), subject: 'Old', text: 'TLS 1.0' });
    const c = h.deliveries.find((x) => x.token === token('e'))!.delivery.connection;
    assert.equal(c.tls.protocol, 'TLSv1');
    assert.match(c.tls.clientCertificate?.subject ?? '', /CN=mail\.client\.example\.org/);
    assert.equal(c.tls.clientCertificate?.selfSigned, true);
    assert.deepEqual(c.tls.clientCertificate?.subjectAltNames, ['DNS:mail.client.example.org']);
  });

  it('refuses an unknown recipient, another domain (no relaying) and a used address at RCPT', async () => {
    const send = (to: string) =>
      transport(h.rx.port).sendMail({ from: 'x@sender.example.org', to, subject: 's', text: 't' });
    await assert.rejects(
      send(`postmaster@${DOMAIN}`),
      (err: { responseCode?: number; response?: string }) => {
        assert.equal(err.responseCode, 550);
        assert.match(err.response ?? '', /5\.1\.1 No such test address/);
        return true;
      },
    );
    await assert.rejects(send(address('z')), /5\.1\.1 This test address is unknown or has expired/);
    await assert.rejects(send('someone@elsewhere.example'), /5\.7\.1 Relaying denied/);
    await assert.rejects(send(address('u')), /has received its message already/);
    assert.equal(
      h.deliveries.filter((d) => !['a', 'b', 'c', 'd', 'e'].map(token).includes(d.token)).length,
      0,
    );
  });

  it('refuses an oversized message with 552 and keeps nothing', async () => {
    const before = h.deliveries.length;
    await assert.rejects(
      transport(h.rx.port).sendMail({
        from: 'big@sender.example.org',
        to: address('c'),
        subject: 'Big',
        text: 'x'.repeat(40_000),
      }),
      (err: { responseCode?: number }) => err.responseCode === 552,
    );
    assert.equal(h.deliveries.length, before);
    assert.equal(h.states.get(token('c')), 'waiting', 'the address stays usable');
  });

  it('records early talking and pipelining misuse, and still takes the message', async () => {
    const text = await rawSession(h.rx.port, [
      // Before the greeting (which comes after ~100 ms), and EHLO not waited for.
      { write: 'EHLO early.example.org\r\nMAIL FROM:<e@early.example.org>\r\n', waitMs: 400 },
      {
        write: `RCPT TO:<${address('d')}>\r\nDATA\r\nSubject: early\r\n\r\nbody\r\n.\r\nQUIT\r\n`,
        waitMs: 500,
      },
    ]);
    assert.match(text, /^220 /);
    assert.match(text, /250 2\.0\.0 Test message received/);
    const c = h.deliveries.find((x) => x.token === token('d'))!.delivery.connection;
    const early = 'EHLO early.example.org\r\nMAIL FROM:<e@early.example.org>\r\n';
    assert.deepEqual(c.earlyTalk, { bytes: Buffer.byteLength(early), preview: 'EHLO early.example.org' });
    assert.deepEqual(
      c.pipelining.misuse.map((m) => `${m.after}→${m.next}`),
      ['EHLO→MAIL', 'DATA→message'],
    );
    assert.equal(c.tls.used, false);
  });
});

describe('inbound receiver limits', () => {
  it('answers 421 to a client address over its simultaneous sessions', async () => {
    const h = await harness({ connectionsPerIp: 2 });
    const sockets = [connect(h.rx.port, '127.0.0.1'), connect(h.rx.port, '127.0.0.1')];
    for (const s of sockets) s.on('error', () => {});
    await new Promise((r) => setTimeout(r, 300));
    const third = await rawSession(h.rx.port, [{ write: '', waitMs: 300 }]);
    assert.match(third, /^421 \S+ 4\.7\.0 Too many connections from your address/);
    for (const s of sockets) s.destroy();
    await h.rx.close();
  });

  it('answers 421 to a client address over its rate', async () => {
    const h = await harness({ ratePerIp: { points: 2, windowMs: 60_000 } });
    const quit = [{ write: 'QUIT\r\n', waitMs: 300 }];
    assert.match(await rawSession(h.rx.port, quit), /^220 /);
    assert.match(await rawSession(h.rx.port, quit), /^220 /);
    assert.match(await rawSession(h.rx.port, quit), /^421 .*recently/);
    await h.rx.close();
  });

  it('ends a session at its deadline with 421', async () => {
    const h = await harness({ sessionDeadlineMs: 1000 });
    const started = Date.now();
    const text = await rawSession(h.rx.port, [
      { write: 'EHLO slow.example.org\r\n', waitMs: 400 },
      { write: 'NOOP\r\n', waitMs: 400 },
      { write: 'NOOP\r\n', waitMs: 1500 },
    ]);
    assert.match(text, /421 4\.4\.2 \S+ Session deadline reached/);
    assert.ok(Date.now() - started < 4000);
    await h.rx.close();
    assert.equal(h.rx.sessions, 0);
  });
});
