import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { classifyRcpt, classifyRefusalOfProbe } from '../../src/smtp/classify.js';
import type { RcptVerdict } from '../../src/smtp/classify.js';
import { CommandError, serializeCommand } from '../../src/smtp/command.js';
import type { SmtpCommand } from '../../src/smtp/command.js';
import { diffExtensions, parseEhlo } from '../../src/smtp/ehlo.js';
import { fitsCommand } from '../../src/smtp/pairing.js';
import {
  ReplyAssembler,
  ReplySyntaxError,
  announcedHostname,
  parseReply,
  reportedClientAddress,
} from '../../src/smtp/reply.js';

describe('SMTP reply framing', () => {
  it('assembles a multi-line reply and reads its enhanced code', () => {
    const r = parseReply(
      '550-5.1.1 The email account that you tried to reach does not exist.\r\n550 5.1.1 https://support.google.com/mail/?p=NoSuchUser\r\n',
    );
    assert.equal(r.code, 550);
    assert.equal(r.enhanced, '5.1.1');
    assert.equal(r.lines.length, 2);
    assert.match(r.text, /^The email account .* https:/);
  });
  it('ignores an enhanced code whose class does not match the reply (RFC 3463 §2)', () => {
    assert.equal(parseReply('250 5.1.1 odd').enhanced, undefined);
  });
  it('refuses a line that is not a reply and a code that changes mid-reply', () => {
    const a = new ReplyAssembler();
    assert.throws(() => a.push('HTTP/1.1 400 Bad Request'), ReplySyntaxError);
    const b = new ReplyAssembler();
    b.push('250-first');
    assert.throws(() => b.push('251 second'), /changed/);
  });
  it('tells a line of another reply inside a multi-line reply from a bad line', () => {
    const a = new ReplyAssembler();
    assert.equal(a.interrupts('220 mx.example.com ESMTP'), false, 'no reply in progress');
    a.push('250-mx.example.com');
    assert.equal(a.interrupts('220 mx.example.com ESMTP'), true);
    assert.equal(a.interrupts('250-PIPELINING'), false);
    assert.equal(a.interrupts('garbage'), false, 'not a reply line: a syntax error, not another reply');
    // Setting the line aside leaves the reply in progress intact.
    a.push('250-PIPELINING');
    assert.deepEqual(a.push('250 STARTTLS')?.lines, ['250-mx.example.com', '250-PIPELINING', '250 STARTTLS']);
  });
  it('knows which replies cannot answer a command (replies that have shifted)', () => {
    assert.equal(fitsCommand('starttls', parseReply('220 2.0.0 Ready')), true);
    assert.equal(fitsCommand('starttls', parseReply('454 4.7.0 TLS not available')), true);
    assert.equal(fitsCommand('starttls', parseReply('250 2.0.0 OK')), false);
    assert.equal(fitsCommand('rcpt', parseReply('251 2.1.5 forwarded')), true);
    assert.equal(fitsCommand('rcpt', parseReply('554 5.7.1 Relay access denied')), true);
    assert.equal(fitsCommand('rcpt', parseReply('220 mx.example.com ESMTP')), false);
    assert.equal(fitsCommand('ehlo', parseReply('221 bye')), false);
    assert.equal(fitsCommand('rset', parseReply('550 5.1.1 User unknown')), false);
    assert.equal(fitsCommand('rset', parseReply('421 4.4.2 timeout')), true);
    assert.equal(fitsCommand('quit', parseReply('250 OK')), false);
  });
  it('accepts a bare code line ("250")', () => {
    assert.equal(parseReply('250\r\n').code, 250);
  });
  it('finds the announced host name and our reported address', () => {
    assert.equal(announcedHostname(parseReply('220 mx.Example.com. ESMTP Postfix')), 'mx.example.com');
    assert.equal(announcedHostname(parseReply('220 ESMTP ready')), undefined);
    assert.equal(announcedHostname(parseReply('220 [192.0.2.1] ready')), '[192.0.2.1]');
    assert.equal(
      reportedClientAddress(parseReply('250-mx.google.com at your service, [203.0.113.9]\r\n250 SIZE 1')),
      '203.0.113.9',
    );
    assert.equal(
      reportedClientAddress(parseReply('250-exim.example Hello probe [IPv6:2001:db8::1]\r\n250 OK')),
      '2001:db8::1',
    );
  });
});

describe('EHLO extensions', () => {
  const postfix = parseReply(
    [
      '250-mx.example.com',
      '250-PIPELINING',
      '250-SIZE 52428800',
      '250-ETRN',
      '250-STARTTLS',
      '250-AUTH PLAIN LOGIN',
      '250-AUTH=PLAIN LOGIN',
      '250-ENHANCEDSTATUSCODES',
      '250-8BITMIME',
      '250-DSN',
      '250-SMTPUTF8',
      '250 CHUNKING',
    ].join('\r\n'),
  );
  it('parses a Postfix EHLO reply', () => {
    const c = parseEhlo(postfix);
    assert.equal(c.size, 52428800);
    assert.deepEqual(
      [
        c.pipelining,
        c.starttls,
        c.chunking,
        c.dsn,
        c.smtpUtf8,
        c.eightBitMime,
        c.enhancedStatusCodes,
        c.requireTls,
      ],
      [true, true, true, true, true, true, true, false],
    );
    assert.deepEqual(c.auth, ['PLAIN', 'LOGIN']);
    assert.ok(c.keywords.includes('ETRN'));
  });
  it('diffs the extensions before and after STARTTLS', () => {
    const after = parseEhlo(
      parseReply(
        ['250-mx.example.com', '250-PIPELINING', '250-SIZE 52428800', '250 REQUIRETLS'].join('\r\n'),
      ),
    );
    const d = diffExtensions(parseEhlo(postfix), after);
    assert.deepEqual(d.added, ['REQUIRETLS']);
    assert.ok(d.removed.includes('STARTTLS'));
  });
});

describe('commands: no DATA, no BDAT, no injection', () => {
  it('serialises the envelope commands', () => {
    assert.equal(serializeCommand({ verb: 'MAIL', from: '' }), 'MAIL FROM:<>');
    assert.equal(serializeCommand({ verb: 'RCPT', to: 'a.b+c@example.com' }), 'RCPT TO:<a.b+c@example.com>');
    assert.equal(serializeCommand({ verb: 'EHLO', domain: 'probe.example.net' }), 'EHLO probe.example.net');
  });
  it('refuses an address that would smuggle a second command line', () => {
    assert.throws(() => serializeCommand({ verb: 'RCPT', to: 'a@example.com>\r\nDATA' }), CommandError);
    assert.throws(() => serializeCommand({ verb: 'MAIL', from: 'a@b\nDATA' }), CommandError);
    assert.throws(() => serializeCommand({ verb: 'EHLO', domain: 'x\r\nBDAT 10' }), CommandError);
  });
  it('has no DATA or BDAT in its type', () => {
    // @ts-expect-error DATA is not an SmtpCommand: sending a message is unrepresentable.
    const data: SmtpCommand = { verb: 'DATA' };
    // @ts-expect-error BDAT neither.
    const bdat: SmtpCommand = { verb: 'BDAT', size: 10 };
    assert.ok(data && bdat);
  });
});

describe('what a RCPT reply means', () => {
  const cases: [string, string, RcptVerdict, string][] = [
    [
      'Postfix, user unknown',
      '550 5.1.1 <x@example.com>: Recipient address rejected: User unknown in local recipient table',
      'undeliverable',
      'user_unknown',
    ],
    [
      'Gmail, no such user',
      '550-5.1.1 The email account that you tried to reach does not exist.\r\n550 5.1.1 https://support.google.com',
      'undeliverable',
      'user_unknown',
    ],
    [
      'Exchange Online',
      '550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup',
      'undeliverable',
      'user_unknown',
    ],
    ['Exim without enhanced codes', '550 Unrouteable address', 'undeliverable', 'user_unknown'],
    [
      'relay denied for the domain',
      '554 5.7.1 <x@example.com>: Relay access denied',
      'undeliverable',
      'relay_denied',
    ],
    ['accepted', '250 2.1.5 Ok', 'deliverable', 'accepted'],
    ['accepted, will forward', '251 2.1.5 User not local; will forward', 'deliverable', 'accepted'],
    ['cannot verify', '252 2.1.5 Cannot VRFY user', 'unknown', 'cannot_verify'],
    [
      'quota',
      '452 4.2.2 The email account that you tried to reach is over quota',
      'mailbox_full',
      'mailbox_full',
    ],
    ['quota, permanent', '552 5.2.2 Mailbox full', 'mailbox_full', 'mailbox_full'],
    [
      'Postgrey',
      '450 4.2.0 <x@example.com>: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/',
      'greylisted',
      'greylisted',
    ],
    ['4.7.1 try again', '451 4.7.1 Please try again later', 'greylisted', 'greylisted'],
    [
      'Spamhaus listing at RCPT',
      '554 5.7.1 Service unavailable; Client host [203.0.113.9] blocked using zen.spamhaus.org',
      'blocked_probe',
      'dnsbl',
    ],
    [
      'Postfix delayed sender rejection',
      '450 4.1.8 <probe@example.net>: Sender address rejected: Domain not found',
      'blocked_probe',
      'sender_rejected',
    ],
    [
      'HELO rejected at RCPT',
      '504 5.5.2 <localhost>: Helo command rejected: need fully-qualified hostname',
      'blocked_probe',
      'helo_rejected',
    ],
    ['too many recipients', '452 4.5.3 Too many recipients', 'temporary', 'too_many_recipients'],
    [
      'temporary lookup failure',
      '451 4.3.0 <x@example.com>: Temporary lookup failure',
      'temporary',
      'temporary_failure',
    ],
  ];
  for (const [name, text, verdict, reason] of cases) {
    it(`${name} → ${verdict}`, () => {
      assert.deepEqual(classifyRcpt(parseReply(text)), { verdict, reason });
    });
  }
  it('treats a refusal at MAIL FROM as about the probe, never the recipient', () => {
    assert.equal(
      classifyRefusalOfProbe(parseReply('550 5.7.1 Sender address rejected: Access denied'))?.verdict,
      'blocked_probe',
    );
    assert.equal(
      classifyRefusalOfProbe(parseReply('451 4.7.1 Greylisted, try again later'))?.verdict,
      'greylisted',
    );
    assert.equal(classifyRefusalOfProbe(parseReply('250 2.1.0 Ok')), undefined);
  });
});
