import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { AddressInfo, Server } from 'node:net';
import { loadConfig } from '../../../src/config/index.js';
import type { Config } from '../../../src/config/index.js';
import { newTestToken, testAddress } from '../../../src/inbound/address.js';
import { analyseInbound } from '../../../src/inbound/analyse.js';
import type { Delivery } from '../../../src/inbound/model.js';
import { startReceiver } from '../../../src/inbound/receiver.js';
import type { Receiver } from '../../../src/inbound/receiver.js';
import type { InboundReport } from '../../../src/inbound/report.js';
import { InboundReportSchema } from '../../../src/inbound/report.js';
import { selfSignedCertificate } from '../../../src/tls/self-signed.js';
import { startFixtureDns } from '../../support/dns-server.js';
import type { FixtureDns } from '../../support/dns-server.js';
import { INBOUND_DOMAIN, INBOUND_ZONES, sendTestMessage } from '../../support/inbound.js';
import type { SendOptions } from '../../support/inbound.js';

/**
 * The inbound test end to end on loopback: nodemailer sends (DKIM keys generated at test
 * time), the receiver takes the message, the analysis judges it against a fixture DNS with
 * the senders' SPF, DKIM and DMARC records.
 */
let dns: FixtureDns;
let receiver: Receiver;
let config: Config;
const waiting = new Map<string, (d: { delivery: Delivery; message: Buffer }) => void>();

before(async () => {
  dns = await startFixtureDns({ zones: INBOUND_ZONES });
  config = loadConfig({
    MXDOCTOR_RESOLVERS: dns.address,
    MXDOCTOR_DNS_TIMEOUT: '3s',
    MXDOCTOR_DNSBLS: 'zen.inbound.test',
    MXDOCTOR_DOMAIN_BLOCKLISTS: 'dbl.inbound.test',
    MXDOCTOR_INBOUND_DOMAIN: INBOUND_DOMAIN,
  });
  const cert = await selfSignedCertificate([INBOUND_DOMAIN]);
  receiver = await startReceiver({
    listen: { host: '127.0.0.1', port: 0 },
    domain: INBOUND_DOMAIN,
    tls: { certPem: cert.certPem, keyPem: cert.keyPem, kind: 'self-signed' },
    maxBytes: 1024 * 1024,
    sessionDeadlineMs: 30_000,
    idleTimeoutMs: 10_000,
    maxConnections: 20,
    connectionsPerIp: 10,
    ratePerIp: { points: 0, windowMs: 60_000 },
    async lookup(token) {
      return waiting.has(token) ? 'waiting' : 'unknown';
    },
    async deliver(token, delivery, message) {
      const done = waiting.get(token);
      if (!done) return { ok: false, reason: 'unknown' };
      waiting.delete(token);
      done({ delivery, message });
      return { ok: true, id: token };
    },
  });
});
after(async () => {
  await receiver.close();
  await dns.stop();
});

/** Opens a one-time address, sends to it, and analyses what arrived. */
async function roundTrip(
  send: Omit<SendOptions, 'port' | 'to'>,
  cfg: Config = config,
): Promise<InboundReport> {
  const token = newTestToken();
  const arrived = new Promise<{ delivery: Delivery; message: Buffer }>((r) => waiting.set(token, r));
  await sendTestMessage({ ...send, port: receiver.port, to: testAddress(token, INBOUND_DOMAIN) });
  const got = await arrived;
  const report = await analyseInbound(got, { config: cfg, signal: new AbortController().signal });
  // Plain, serialisable data that matches the published schema.
  InboundReportSchema.parse(report);
  return report;
}

const status = (r: InboundReport, id: string): string[] =>
  r.checks.filter((f) => f.id === id).map((f) => f.status);
const finding = (r: InboundReport, id: string) => {
  const f = r.checks.find((x) => x.id === id);
  assert.ok(f, `${id} in the report`);
  return f;
};

describe('inbound analysis', () => {
  it('passes SPF, DKIM and DMARC for a signed message from an authorised sender, with the TLS version it used', async () => {
    const r = await roundTrip({ dkimDomain: 'good.sender.example' });
    assert.deepEqual(status(r, 'auth.spf'), ['pass']);
    assert.deepEqual(status(r, 'auth.spf_helo'), ['pass']);
    assert.deepEqual(status(r, 'auth.dkim'), ['pass']);
    assert.deepEqual(status(r, 'auth.dmarc'), ['pass']);
    assert.equal(r.authentication.dkim[0]!.keyBits, 2048);
    assert.equal(r.authentication.envelope.sources.ip?.header, 'session');
    assert.equal(r.connection.tls.used, true);
    assert.match(r.connection.tls.protocol ?? '', /^TLSv1\.[23]$/);
    assert.match(
      finding(r, 'inbound.connection.tls').summary,
      new RegExp(r.connection.tls.protocol!.replace('.', '\\.')),
    );
    assert.deepEqual(status(r, 'inbound.connection.helo'), ['pass']);
    assert.deepEqual(status(r, 'inbound.reputation.domains'), ['pass']);
    assert.deepEqual(status(r, 'inbound.message.message_id'), ['pass']);
    assert.equal(r.checks.filter((f) => f.id === 'auth.envelope' || f.id === 'auth.receiver').length, 0);
    assert.equal(r.verdict, 'pass');
    assert.equal(r.score.value, 100);
    assert.equal(r.score.method, 'mxdoctor-inbound-score-1');
    assert.ok(r.dnsLog.length > 0);
  });

  it('fails a sender that delivers in plain text although STARTTLS was offered', async () => {
    const r = await roundTrip({ dkimDomain: 'good.sender.example', ignoreTLS: true });
    const tls = finding(r, 'inbound.connection.tls');
    assert.equal(tls.status, 'fail');
    assert.match(tls.summary, /plain text although the receiver offered STARTTLS/);
    assert.equal(r.connection.tls.offered, true);
    assert.equal(r.connection.tls.used, false);
    assert.ok((r.score.value ?? 100) < 100);
  });

  it('fails SPF for a sender whose domain does not authorise the connecting IP', async () => {
    const r = await roundTrip({
      from: 'Bob <bob@elsewhere.sender.example>',
      mailFrom: 'bob@elsewhere.sender.example',
    });
    assert.deepEqual(status(r, 'auth.spf'), ['fail']);
    assert.equal(r.authentication.spf.result, 'fail');
    assert.equal(r.authentication.dmarc.result, 'fail');
    assert.equal(r.authentication.dmarc.disposition, 'quarantine');
    assert.equal(r.verdict, 'fail');
  });

  it('fails a DKIM signature whose body hash no longer matches', async () => {
    const r = await roundTrip({
      dkimDomain: 'good.sender.example',
      text: 'The original body.',
      tamper: (raw) => raw.replace('The original body.', 'A body changed after signing.'),
    });
    const dkim = finding(r, 'auth.dkim');
    assert.equal(dkim.status, 'fail');
    assert.match(r.authentication.dkim[0]!.comment ?? '', /body/);
    // SPF still passes aligned, so DMARC passes.
    assert.equal(r.authentication.dmarc.result, 'pass');
  });

  it('says a receiver rejects a forged From whose domain publishes DMARC p=reject', async () => {
    const r = await roundTrip({
      from: 'The Bank <ceo@bank.example>',
      mailFrom: 'alice@good.sender.example',
      dkimDomain: 'good.sender.example',
    });
    const dmarc = finding(r, 'auth.dmarc');
    assert.equal(dmarc.status, 'fail');
    assert.equal(r.authentication.dmarc.result, 'fail');
    assert.equal(r.authentication.dmarc.disposition, 'reject');
    assert.equal(r.authentication.dmarc.policy, 'reject');
    // SPF and DKIM pass, but for good.sender.example, not aligned with bank.example.
    assert.equal(r.authentication.spf.result, 'pass');
    assert.equal(r.authentication.dkim[0]!.aligned, false);
  });

  it('fails bulk mail without List-Unsubscribe, and a link to a blocklisted domain', async () => {
    const r = await roundTrip({
      dkimDomain: 'good.sender.example',
      headers: { 'List-Id': 'News <news.good.sender.example>', Precedence: 'bulk' },
      html: '<p>Offer: <a href="https://www.listed.example/deal">here</a></p>',
    });
    assert.deepEqual(status(r, 'inbound.message.list_unsubscribe'), ['fail']);
    assert.deepEqual(status(r, 'inbound.message.text_alternative'), ['pass']);
    const domains = finding(r, 'inbound.reputation.domains');
    assert.equal(domains.status, 'fail');
    assert.match(domains.summary, /listed\.example \(link\) on dbl\.inbound\.test/);
  });

  it('passes RFC 8058 one-click unsubscribe only when DKIM signs both fields', async () => {
    const headers = {
      'List-Id': 'News <news.good.sender.example>',
      'List-Unsubscribe': '<https://good.sender.example/unsub/1>, <mailto:unsub@good.sender.example>',
      'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
    };
    const signed = await roundTrip({
      dkimDomain: 'good.sender.example',
      headers,
      dkimHeaders: 'From:To:Subject:Date:Message-ID:List-Id:List-Unsubscribe:List-Unsubscribe-Post',
    });
    assert.deepEqual(status(signed, 'inbound.message.list_unsubscribe'), ['pass']);
    assert.deepEqual(status(signed, 'inbound.message.one_click'), ['pass']);
    const unsigned = await roundTrip({
      dkimDomain: 'good.sender.example',
      headers,
      dkimHeaders: 'From:To:Subject:Date:Message-ID',
    });
    assert.deepEqual(status(unsigned, 'inbound.message.one_click'), ['fail']);
  });

  it('prints what a receiver would not: markup in the subject stays text in the report data', async () => {
    const r = await roundTrip({ dkimDomain: 'good.sender.example', subject: '<img src=x onerror=alert(1)>' });
    assert.equal(r.message.subject, '<img src=x onerror=alert(1)>');
  });
});

/** A fake spamd on loopback: answers SYMBOLS and REPORT the way spamd 4 does. */
async function fakeSpamd(
  score: number,
): Promise<{ port: number; server: Server; requests: string[]; messages: string[] }> {
  const requests: string[] = [];
  const messages: string[] = [];
  const server = createServer((socket) => {
    let data = '';
    socket.on('data', (chunk) => {
      data += chunk.toString('latin1');
      const end = data.indexOf('\r\n\r\n');
      if (end < 0) return;
      const length = Number(/Content-length: (\d+)/i.exec(data.slice(0, end))?.[1] ?? 0);
      if (data.length - end - 4 < length) return;
      const command = data.split(' ')[0]!;
      requests.push(command);
      messages.push(data.slice(end + 4));
      const spam = score >= 5;
      const body =
        command === 'SYMBOLS'
          ? 'MISSING_MID,HTML_MESSAGE'
          : [
              'Spam detection software, running on the system "fake".',
              '',
              `Content analysis details:   (${score} points, 5.0 required)`,
              '',
              ' pts rule name              description',
              '---- ---------------------- --------------------------------------------------',
              ' 2.5 MISSING_MID            Missing Message-Id: header',
              ' 0.0 HTML_MESSAGE           BODY: HTML included in message',
              '',
            ].join('\n');
      socket.end(
        `SPAMD/1.1 0 EX_OK\r\nContent-length: ${Buffer.byteLength(body)}\r\nSpam: ${spam ? 'True' : 'False'} ; ${score} / 5.0\r\n\r\n${body}`,
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { port: (server.address() as AddressInfo).port, server, requests, messages };
}

describe('inbound analysis: spam filter', () => {
  it("reports spamd's score and rules, asking SYMBOLS and REPORT", async () => {
    const spamd = await fakeSpamd(6.2);
    const cfg = { ...config, spamd: { address: { host: '127.0.0.1', port: spamd.port }, timeoutMs: 5000 } };
    const r = await roundTrip({ dkimDomain: 'good.sender.example' }, cfg);
    spamd.server.close();
    assert.deepEqual(spamd.requests, ['SYMBOLS', 'REPORT']);
    // spamd sees the message as behind a receiving MTA: with the Received field Postfix would
    // add, so that SpamAssassin's rules about the sending IP, HELO and TLS have a relay to judge.
    const seen = spamd.messages[0]!;
    assert.match(
      seen,
      /^Received: from mail\.good\.sender\.example \(unknown \[127\.0\.0\.1\]\)\r\n\t\(using TLSv1\.[23] with cipher [A-Z0-9_-]+\)\r\n\tby inbound\.example\.test \(mxdoctor\) with ESMTPS id \S+\r\n\tfor <test-[a-z2-7]{26}@inbound\.example\.test>; \w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} \+0000 \(UTC\)\r\n/,
    );
    assert.match(seen, /\r\nDKIM-Signature: /, 'the message follows unchanged');
    const f = finding(r, 'inbound.spam.score');
    assert.equal(f.status, 'fail');
    assert.match(f.summary, /6\.2 \(threshold 5\)/);
    assert.deepEqual(
      r.spam?.rules.map((x) => [x.name, x.score]),
      [
        ['MISSING_MID', 2.5],
        ['HTML_MESSAGE', 0],
      ],
    );
  });

  it('reports "could not check" when spamd does not answer in time, without failing the rest', async () => {
    // Accepts and never answers.
    const silent = createServer(() => {});
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    const port = (silent.address() as AddressInfo).port;
    const cfg = { ...config, spamd: { address: { host: '127.0.0.1', port }, timeoutMs: 300 } };
    const started = Date.now();
    const r = await roundTrip({ dkimDomain: 'good.sender.example' }, cfg);
    silent.close();
    const f = finding(r, 'inbound.spam.score');
    assert.equal(f.status, 'error');
    assert.match(f.summary, /timed out/);
    assert.ok(Date.now() - started < 10_000);
    assert.deepEqual(status(r, 'auth.dmarc'), ['pass']);
  });
});
