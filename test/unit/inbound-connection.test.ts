import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { evaluateConnection } from '../../src/inbound/connection-checks.js';
import type { ConnectionDns } from '../../src/inbound/connection-checks.js';
import type { ConnectionFacts } from '../../src/inbound/model.js';
import { SessionObserver } from '../../src/inbound/observer.js';
import {
  parseReportRules,
  parseSpamHeader,
  parseSpamdAnswer,
  receivedField,
} from '../../src/inbound/spamd.js';
import { scoreInbound } from '../../src/inbound/score.js';

/** The connection findings from facts, the session observer, and spamd's answers: pure. */

// A public address (example.com's): nothing is looked up, the findings are computed from facts.
const IP = '93.184.216.34';
function facts(over: Partial<ConnectionFacts> = {}): ConnectionFacts {
  return {
    sessionId: 's',
    remoteAddress: IP,
    remotePort: 40000,
    localAddress: '192.0.2.25',
    localPort: 25,
    connectedAt: '2025-07-01T10:00:00.000Z',
    helo: { command: 'EHLO', name: 'mail.example.org' },
    tls: {
      offered: true,
      used: true,
      protocol: 'TLSv1.3',
      cipher: 'TLS_AES_256_GCM_SHA384',
      cipherStandard: 'TLS_AES_256_GCM_SHA384',
      receiverCertificate: 'configured',
    },
    pipelining: { offered: true, misuse: [], groups: 1 },
    transcript: [],
    transcriptOmitted: 0,
    transactions: 1,
    ...over,
  };
}
const ptr = (names: string[], confirmed: string[]): ConnectionDns['ptr'] => ({
  address: IP,
  reverseName: '34.216.184.93.in-addr.arpa',
  rcode: names.length ? 'NOERROR' : 'NXDOMAIN',
  names,
  forward: [],
  confirmed,
});
const DNS: ConnectionDns = {
  ptr: ptr(['mail.example.org'], ['mail.example.org']),
  helo: { name: 'mail.example.org', rcode: 'NOERROR', addresses: [IP] },
};
const status = (c: ConnectionFacts, dns: ConnectionDns = DNS): Record<string, string> =>
  Object.fromEntries(evaluateConnection(c, dns).map((f) => [f.id, f.status]));

describe('connection findings', () => {
  it('passes a server with FCrDNS, a resolving HELO name, TLS 1.3 and good manners', () => {
    const s = status(facts());
    for (const id of ['ptr', 'helo', 'tls', 'cipher', 'early_talk', 'pipelining'])
      assert.equal(s[`inbound.connection.${id}`], 'pass', id);
    assert.equal(s['inbound.receiver.certificate'], 'info');
  });

  it('judges reverse DNS: none, not forward-confirmed, a generic pool name', () => {
    assert.equal(status(facts(), { ...DNS, ptr: ptr([], []) })['inbound.connection.ptr'], 'fail');
    assert.equal(
      status(facts(), { ...DNS, ptr: ptr(['mail.example.org'], []) })['inbound.connection.ptr'],
      'fail',
    );
    const pool = 'host-93-184-216-34.dyn.isp.example';
    assert.equal(status(facts(), { ...DNS, ptr: ptr([pool], [pool]) })['inbound.connection.ptr'], 'warn');
    assert.equal(status(facts({ remoteAddress: '10.1.2.3' }), {})['inbound.connection.ptr'], 'info');
  });

  it('judges the HELO name: bare IP, address literal, not qualified, not resolving, another IP', () => {
    const helo = (name: string, addresses: string[] = [], rcode = 'NOERROR') =>
      status(facts({ helo: { command: 'EHLO', name } }), { ...DNS, helo: { name, rcode, addresses } })[
        'inbound.connection.helo'
      ];
    assert.equal(helo(IP), 'fail');
    assert.equal(helo(`[${IP}]`), 'warn');
    assert.equal(helo('localhost'), 'fail');
    assert.equal(helo('mailer'), 'fail');
    assert.equal(helo('mail.example.org', [], 'NXDOMAIN'), 'warn');
    assert.equal(helo('mail.example.org', ['203.0.113.9']), 'warn');
    assert.equal(helo('mail.example.org', [], 'SERVFAIL'), 'error');
    assert.equal(status(facts({ helo: undefined }))['inbound.connection.helo'], 'fail');
  });

  it('fails plain text when TLS was offered (naming a failed handshake) and TLS 1.0; warns a CBC cipher', () => {
    const plain = evaluateConnection(
      facts({ tls: { offered: true, used: false, receiverCertificate: 'configured', failed: 'unknown ca' } }),
      DNS,
    ).find((f) => f.id === 'inbound.connection.tls')!;
    assert.equal(plain.status, 'fail');
    assert.match(
      plain.summary,
      /handshake failed \(unknown ca\), then it delivered the message in plain text/,
    );
    const old = facts({
      tls: { ...facts().tls, protocol: 'TLSv1', cipherStandard: 'TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA' },
    });
    assert.equal(status(old)['inbound.connection.tls'], 'fail');
    assert.equal(status(old)['inbound.connection.cipher'], 'warn');
    const rsaKx = facts({
      tls: { ...facts().tls, protocol: 'TLSv1.2', cipherStandard: 'TLS_RSA_WITH_AES_128_GCM_SHA256' },
    });
    assert.equal(status(rsaKx)['inbound.connection.cipher'], 'warn');
  });

  it('fails early talking and pipelining misuse', () => {
    const s = status(
      facts({
        earlyTalk: { bytes: 10, preview: 'EHLO x' },
        pipelining: { offered: true, misuse: [{ after: 'EHLO', next: 'MAIL', atMs: 3 }], groups: 0 },
      }),
    );
    assert.equal(s['inbound.connection.early_talk'], 'fail');
    assert.equal(s['inbound.connection.pipelining'], 'fail');
  });
});

describe('session observer', () => {
  const at = (() => {
    let t = 0;
    return () => (t += 1);
  })();

  it('sees a pipelined MAIL/RCPT/DATA group as allowed, and a command after EHLO before its reply as misuse', () => {
    const o = new SessionObserver(at);
    o.sent('220 in.example ESMTP\r\n');
    o.received('EHLO a.example\r\n');
    o.sent('250-in.example\r\n250-PIPELINING\r\n250 SIZE 100\r\n');
    o.received('MAIL FROM:<a@a.example>\r\nRCPT TO:<b@in.example>\r\nDATA\r\n');
    o.sent('250 ok\r\n250 ok\r\n354 go\r\n');
    o.received('Subject: x\r\n\r\nbody\r\n.\r\nQUIT\r\n');
    o.sent('250 queued\r\n221 bye\r\n');
    const r = o.result();
    assert.deepEqual(r.pipeliningMisuse, []);
    assert.equal(r.pipelinedGroups, 2);
    assert.equal(r.pipeliningOffered, true);
    assert.deepEqual(
      r.transcript.filter((l) => l.dir === 'C').map((l) => l.line),
      [
        'EHLO a.example',
        'MAIL FROM:<a@a.example>',
        'RCPT TO:<b@in.example>',
        'DATA',
        '<message>',
        '.',
        'QUIT',
      ],
    );

    const bad = new SessionObserver(at);
    bad.sent('220 in.example ESMTP\r\n');
    bad.received('EHLO a.example\r\nMAIL FROM:<a@a.example>\r\n');
    bad.sent('250 in.example\r\n250 ok\r\n');
    bad.received('RCPT TO:<b@in.example>\r\n');
    assert.deepEqual(
      bad.result().pipeliningMisuse.map((m) => `${m.after}→${m.next}`),
      ['EHLO→MAIL'],
    );
  });

  it('flags the message sent before the 354, and commands without PIPELINING offered', () => {
    const o = new SessionObserver(at);
    o.sent('220 in.example\r\n');
    o.received('HELO a.example\r\n');
    o.sent('250 in.example\r\n');
    o.received('MAIL FROM:<a@a.example>\r\nRCPT TO:<b@in.example>\r\n');
    o.sent('250 ok\r\n250 ok\r\n');
    o.received('DATA\r\nSubject: x\r\n\r\n.\r\n');
    assert.deepEqual(
      o.result().pipeliningMisuse.map((m) => `${m.after}→${m.next}`),
      ['MAIL→RCPT', 'DATA→message'],
    );
  });

  it('keeps a bounded, printable transcript and records early bytes', () => {
    const o = new SessionObserver(at);
    o.talkedEarly(9);
    o.sent('220 in.example\r\n');
    o.received('EHLO \u0001x\r\n');
    for (let i = 0; i < 400; i++) o.received(`NOOP ${'x'.repeat(1000)}\r\n`);
    const r = o.result();
    assert.deepEqual(r.earlyTalk, { bytes: 9, preview: 'EHLO ·x' });
    assert.equal(r.transcript.length, 300);
    assert.ok(r.transcriptOmitted > 0);
    assert.ok(r.transcript.every((l) => l.line.length <= 301));
  });
});

describe('spamd answers', () => {
  const answer =
    'SPAMD/1.1 0 EX_OK\r\nContent-length: 300\r\nSpam: True ; 7.3 / 5.0\r\n\r\n' +
    [
      'Content analysis details:   (7.3 points, 5.0 required)',
      '',
      ' pts rule name              description',
      '---- ---------------------- --------------------------------------------------',
      ' 3.5 BAYES_99               BODY: Bayes spam probability is 99 to 100%',
      '                            [score: 1.0000]',
      '-0.1 DKIM_VALID             Message has at least one valid DKIM or DK signature',
      ' 3.9 URIBL_BLACK            Contains an URL listed in the URIBL blacklist',
      '',
    ].join('\n');

  it('reads the status line, the Spam header and the rule table with continued descriptions', () => {
    const a = parseSpamdAnswer(answer)!;
    assert.equal(a.code, 0);
    assert.deepEqual(parseSpamHeader(a.headers.spam), { isSpam: true, score: 7.3, threshold: 5 });
    assert.deepEqual(
      parseReportRules(a.body).map((r) => [r.name, r.score]),
      [
        ['BAYES_99', 3.5],
        ['DKIM_VALID', -0.1],
        ['URIBL_BLACK', 3.9],
      ],
    );
    assert.match(parseReportRules(a.body)[0]!.description, /99 to 100% \[score: 1\.0000\]/);
    assert.equal(parseSpamdAnswer('HTTP/1.1 200 OK\r\n\r\n'), undefined);
    assert.equal(parseSpamHeader('maybe'), undefined);
  });
});

describe('the Received field spamd sees', () => {
  const envelope = {
    mailFrom: 'a@example.org',
    mailFromParams: {},
    rcptTo: 'test-abc@inbound.example.test',
    size: 10,
    receivedAt: '2025-07-01T10:00:01.000Z',
  };

  it("reads as Postfix's: the forward-confirmed name, TLS, ESMTPS, the test address and the time", () => {
    assert.equal(
      receivedField(
        { connection: facts(), envelope },
        { by: 'inbound.example.test', rdns: 'mail.example.org' },
      ),
      'Received: from mail.example.org (mail.example.org [93.184.216.34])\r\n' +
        '\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384)\r\n' +
        '\tby inbound.example.test (mxdoctor) with ESMTPS id s\r\n' +
        '\tfor <test-abc@inbound.example.test>; Tue, 01 Jul 2025 10:00:01 +0000 (UTC)\r\n',
    );
  });

  it('says unknown without a confirmed name, SMTP after HELO in plain text, and an IPv6 literal', () => {
    const c = facts({
      remoteAddress: '2001:db8::25',
      helo: { command: 'HELO', name: 'mail.example.org' },
      tls: { offered: true, used: false, receiverCertificate: 'configured' },
    });
    const field = receivedField({ connection: c, envelope }, { by: 'inbound.example.test' });
    assert.match(field, /^Received: from mail\.example\.org \(unknown \[IPv6:2001:db8::25\]\)\r\n\tby /);
    assert.match(field, / with SMTP id s\r\n/);
    assert.ok(!field.includes('using'));
  });

  it('keeps a hostile HELO name on its line: no line break reaches spamd', () => {
    const c = facts({ helo: { command: 'EHLO', name: 'x\r\nX-Spam-Flag: NO' } });
    const field = receivedField({ connection: c, envelope }, { by: 'inbound.example.test' });
    assert.equal(field.split('\r\n').length, 5, field); // four lines and the end
    assert.match(field, /^Received: from x\?\?X-Spam-Flag: NO \(/);
  });
});

describe('inbound score', () => {
  it('weighs areas like the domain report: info and error never count, warn earns half', () => {
    const s = scoreInbound([
      { id: 'auth.dmarc', status: 'pass' },
      { id: 'inbound.connection.tls', status: 'warn' },
      { id: 'inbound.spam.score', status: 'error' },
      { id: 'inbound.domain_check', status: 'info' },
    ]);
    assert.equal(s.method, 'mxdoctor-inbound-score-1');
    assert.equal(s.areas.find((a) => a.area === 'Authentication')?.score, 100);
    assert.equal(s.areas.find((a) => a.area === 'Connection & TLS')?.score, 50);
    assert.equal(s.areas.find((a) => a.area === 'Spam filter')?.score, null);
    // (35 × 100 + 20 × 50) / (35 + 20)
    assert.equal(s.value, Math.round((35 * 100 + 20 * 50) / 55));
  });
});
