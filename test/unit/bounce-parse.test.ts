import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BounceInputError, diagnoseBounce } from '../../src/bounce/index.js';
import { parseDeliveryStatus } from '../../src/bounce/dsn.js';
import { extractRecipients, splitReturned } from '../../src/bounce/ndr.js';
import { decodeEncodedWords } from '../../src/bounce/mime.js';
import { parseReceived } from '../../src/bounce/received.js';
import { splitLines } from '../../src/bounce/lines.js';
import { ROOT } from '../support/cli.js';
import { bounceValidator } from '../support/bounce-schema.js';

const FIXTURES = join(ROOT, 'test', 'fixtures', 'bounces');

interface FixtureExpectation {
  file: string;
  kind: string;
  records: { recipient: string | null; reason: string; status: string | null; hard: boolean }[];
}

describe('bounce fixtures modelled on documented formats', () => {
  const validate = bounceValidator();
  const expected = JSON.parse(readFileSync(join(FIXTURES, 'expected.json'), 'utf8')) as FixtureExpectation[];
  for (const e of expected) {
    it(`${e.file}: ${e.kind}, ${e.records.map((r) => r.reason).join(', ')}`, async () => {
      const d = await diagnoseBounce(readFileSync(join(FIXTURES, e.file)));
      assert.deepEqual(validate(d), [], 'diagnosis matches docs/bounce.schema.json');
      assert.equal(d.kind, e.kind);
      assert.deepEqual(
        d.bounces.map((b) => ({ recipient: b.recipient, reason: b.reason, status: b.status, hard: b.hard })),
        e.records,
      );
    });
  }

  it('reads the original message: sender, subject, Message-ID and the sending IP of the Received chain', async () => {
    const d = await diagnoseBounce(
      readFileSync(join(FIXTURES, 'gmail-dsn-dmarc-unauthenticated-5.7.26.eml')),
    );
    assert.equal(d.original.from, 'sales@example.org');
    assert.equal(d.original.subject, 'Your quote');
    assert.equal(d.original.messageId, '<CAExample123@mail.gmail.com>');
    assert.equal(d.original.sendingIp, '198.51.100.7');
    assert.equal(d.original.date, '2024-02-05T17:12:40.000Z');
  });

  it('OpenSMTPD: takes the reply from the notice (its report says only 5.0.0) and stops before the returned message', async () => {
    const d = await diagnoseBounce(
      readFileSync(join(FIXTURES, 'real-mta', 'opensmtpd-6.8-mailbox-full-552-5.2.2.eml')),
    );
    assert.equal(d.bounces[0]!.replyCode, 552);
    assert.equal(
      d.bounces[0]!.diagnostic,
      '552 5.2.2 <full@remote.test>: Recipient address rejected: Mailbox full, quota exceeded',
    );
  });

  it('Postfix delay DSN for greylisting: soft, still being retried, explained as greylisting', async () => {
    const d = await diagnoseBounce(
      readFileSync(join(FIXTURES, 'real-mta', 'postfix-3.7-delay-dsn-greylisted-451-4.7.1.eml')),
    );
    const b = d.bounces[0]!;
    assert.equal(b.action, 'delayed');
    assert.equal(b.hard, false);
    assert.match(b.explanation.summary, /This is greylisting \(RFC 6647\)/);
    assert.match(b.explanation.nextSteps[0]!, /Nothing to do while your server is still retrying/);
  });

  it('Exim delay warning: the reason stops before "No action is required", the remote MTA from H=', async () => {
    const d = await diagnoseBounce(
      readFileSync(join(FIXTURES, 'real-mta', 'exim-4.96-delay-warning-451-4.7.1-truncated.eml')),
    );
    const b = d.bounces[0]!;
    assert.equal(b.action, 'delayed');
    assert.equal(b.remoteMta, '127.0.0.26');
    assert.match(b.diagnostic!, /451 4\.7\.1 <deferred@remote\.test>: Recipient addres$/);
  });

  it('decodes RFC 2047 words, also a UTF-8 character split across two of them', () => {
    assert.equal(decodeEncodedWords('=?utf-8?q?Gr=C3=BC=C3=9Fe?= aus Bern'), 'Grüße aus Bern');
    // "Grüße" as UTF-8 bytes 47 72 C3 | BC C3 9F 65: the ü is split between the two words.
    assert.equal(decodeEncodedWords('=?UTF-8?B?R3LD?= =?UTF-8?B?vMOfZQ==?='), 'Grüße');
    assert.equal(decodeEncodedWords('Re: =?ISO-8859-1?Q?caf=E9?= =?UTF-8?Q?_cr=C3=A8me?='), 'Re: café crème');
    assert.equal(decodeEncodedWords('=?x-unknown?Q?plain?= text'), 'plain text');
    assert.equal(decodeEncodedWords('no words here =? at all'), 'no words here =? at all');
  });

  it('takes the IP a refusal names as the client IP', async () => {
    const d = await diagnoseBounce(
      readFileSync(join(FIXTURES, 'microsoft365-banned-sending-ip-5.7.606.eml')),
    );
    assert.equal(d.bounces[0]!.clientIp, '203.0.113.9');
    assert.equal(d.original.sendingIp, '203.0.113.9');
  });

  it('keeps the returned headers, and the d= and s= of each DKIM-Signature for the key lookup', async () => {
    const headers = [
      'Received: from mail.example.org (mail.example.org [192.0.2.7]) by mx.example.net; Tue, 12 Mar 2024 10:15:02 +0100',
      'DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=Example.ORG;',
      '\ts=sel2024; h=from:to; bh=x; b=y',
      'DKIM-Signature: v=1; a=ed25519-sha256; d=esp.example; s=k1; bh=x; b=y',
      'DKIM-Signature: v=1; d=bad..example; s=x; b=y',
      'From: Sales <sales@example.org>',
      'Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=',
    ].join('\r\n');
    const d = await diagnoseBounce(
      `Subject: Undelivered Mail Returned to Sender\r\nFrom: MAILER-DAEMON@mx.example.net\r\nTo: sales@example.org\r\n\r\n<a@example.net>: host mx.example.net[192.0.2.25] said: 550 5.1.1 <a@example.net>: User unknown\r\n\r\n--- Below this line is a copy of the message.\r\n\r\n${headers}\r\n\r\nbody\r\n`,
    );
    assert.deepEqual(d.original.dkimSignatures, [
      { domain: 'example.org', selector: 'sel2024', algorithm: 'rsa-sha256' },
      { domain: 'esp.example', selector: 'k1', algorithm: 'ed25519-sha256' },
    ]);
    assert.deepEqual(
      d.original.headers!.map((h) => h.name),
      ['Received', 'DKIM-Signature', 'DKIM-Signature', 'DKIM-Signature', 'From', 'Subject'],
    );
    assert.equal(d.original.headers![6 - 1]!.value, 'Grüße');
  });

  it('a pasted Postfix notice about several recipients is several records, not one reply', async () => {
    const d = await diagnoseBounce(
      [
        '<a-1@example.net>: host mx.example.net[192.0.2.25] said: 550-5.7.25 [192.0.2.7] The IP address',
        '    550 5.7.25 sending this message does not have a PTR record setup (in reply to end of DATA command)',
        '',
        '<b-2@example.org>: host mx.example.org[192.0.2.26] said: 550 5.1.1 <b-2@example.org>: User unknown (in reply to RCPT TO command)',
      ].join('\n'),
    );
    assert.deepEqual(
      d.bounces.map((b) => [b.recipient, b.reason]),
      [
        ['a-1@example.net', 'require_ptr'],
        ['b-2@example.org', 'user_unknown'],
      ],
    );
    assert.doesNotMatch(d.bounces[0]!.diagnostic, /b-2@/, 'each record keeps its own text');
    const one = await diagnoseBounce('<c-216-3@example.net>: host mx said: 550 5.1.1 unknown user\n');
    assert.equal(one.bounces[0]!.recipient, 'c-216-3@example.net', 'the prefix names the recipient');
    assert.match(one.bounces[0]!.diagnostic, /^550 5\.1\.1/);
  });

  it('records of an mbox point at their own original message', async () => {
    const bounce = (ip: string, to: string) =>
      `From MAILER-DAEMON  Tue Mar 12 10:15:02 2024\nFrom: MAILER-DAEMON@mx.example.net\nTo: sales@example.org\nSubject: Undelivered Mail Returned to Sender\n\n<${to}>: host mx.example.net[192.0.2.25] said: 550 5.1.1 <${to}>: User unknown\n\n--- Below this line is a copy of the message.\n\nReceived: from mail.example.org (mail.example.org [${ip}]) by mx.example.net; Tue, 12 Mar 2024 10:15:02 +0100\nFrom: sales@example.org\nSubject: hello\nDate: Tue, 12 Mar 2024 10:15:02 +0100\n\nbody\n`;
    const d = await diagnoseBounce(
      bounce('93.184.216.7', 'a@example.net') + bounce('93.184.216.8', 'b@example.net'),
    );
    assert.deepEqual(
      d.bounces.map((b) => [b.recipient, b.messageIndex]),
      [
        ['a@example.net', 0],
        ['b@example.net', 1],
      ],
    );
    assert.deepEqual(
      d.originals!.map((o) => o.sendingIp),
      ['93.184.216.7', '93.184.216.8'],
    );
  });

  it('a delay notice keeps its cause but is neither permanent nor hard', async () => {
    const d = await diagnoseBounce(readFileSync(join(FIXTURES, 'dovecot-quota-delay-dsn.eml')));
    const r = d.bounces[0]!;
    assert.equal(r.action, 'delayed');
    assert.equal(r.permanent, false);
    assert.equal(r.willRetryUntil, 'Thu, 8 Aug 2024 08:00:00 +0000');
  });
});

describe('unusable input is refused with a clear error', () => {
  async function refused(input: string | Buffer, code: string, options = {}): Promise<string> {
    try {
      await diagnoseBounce(input, options);
    } catch (err) {
      assert.ok(err instanceof BounceInputError, `a BounceInputError, not ${String(err)}`);
      assert.equal(err.code, code);
      assert.match(err.message, /Accepted|limit/);
      return err.message;
    }
    assert.fail('the input was accepted');
  }
  it('input over the size limit', async () => {
    const msg = await refused(Buffer.alloc(2048, 'a'), 'too_large', { maxBytes: 1024 });
    assert.match(msg, /2 KiB, more than the limit of 1 KiB/);
  });
  it('empty input', async () => {
    await refused('  \n\n ', 'empty');
  });
  it('binary junk', async () => {
    await refused(Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256)), 'binary');
  });
  it('text with a few control characters is read, with many it is binary', async () => {
    const reply = '550 5.1.1 <a@example.net>: Recipient address rejected: User unknown\n';
    // A stray NUL and a vertical tab among text: still text.
    const d = await diagnoseBounce(`${reply}\u0000 \u000b ${'x'.repeat(200)}\n`);
    assert.equal(d.bounces[0]!.reason, 'user_unknown');
    // More than one byte in ten a control character (BEL, not one of tab, LF, FF, CR, ESC).
    await refused(`${reply}${'\u0007'.repeat(reply.length)}`, 'binary');
    // Few control characters, but many of them NULs.
    await refused(`${reply}${'\u0000'.repeat(5)}`, 'binary');
  });
  it('an ordinary message', async () => {
    await refused(
      'From: a@example.com\nTo: b@example.com\nSubject: lunch?\n\nAre we still on for lunch?\n',
      'not_a_bounce',
    );
  });
  it('ordinary text', async () => {
    await refused('Hello, can you tell me why my mail does not arrive?', 'not_a_bounce');
  });
});

describe('robustness: no input makes the parser throw anything but BounceInputError', () => {
  const seeds = [
    readFileSync(join(FIXTURES, 'postfix-starttls-required.eml')),
    readFileSync(join(FIXTURES, 'gmail-dsn-dmarc-unauthenticated-5.7.26.eml')),
  ];
  it('truncations, bit flips and boundary damage of real bounces', async () => {
    let n = 0;
    for (const seed of seeds) {
      for (let cut = 0; cut < seed.length; cut += 97) {
        const variants = [
          seed.subarray(0, cut),
          Buffer.concat([
            seed.subarray(0, cut),
            Buffer.from('\n--\n=?x?B?@@?=\nContent-Type: multipart/mixed; boundary=""\n'),
            seed.subarray(cut),
          ]),
          Buffer.from(seed.map((b, i) => (i % 251 === cut % 251 ? b ^ 0x80 : b))),
        ];
        for (const v of variants) {
          n++;
          try {
            const d = await diagnoseBounce(v);
            assert.ok(Array.isArray(d.bounces));
          } catch (err) {
            assert.ok(err instanceof BounceInputError, `variant at ${cut} threw ${(err as Error).stack}`);
          }
        }
      }
    }
    assert.ok(n > 100);
  });
  it('a header with 100,000 folded lines and a deeply nested multipart finish quickly', async () => {
    const folded = `From: MAILER-DAEMON@x.example\nSubject: Undelivered Mail\nX-Long: a${'\n b'.repeat(100_000)}\n\n550 5.1.1 <u@example.com>: User unknown\n`;
    const nested = `From: MAILER-DAEMON@x.example\nSubject: failure notice\nContent-Type: multipart/mixed; boundary=b0\n\n${Array.from({ length: 300 }, (_, i) => `--b${i}\nContent-Type: multipart/mixed; boundary=b${i + 1}\n\n`).join('')}<u@example.com>: 550 5.1.1 User unknown\n`;
    for (const input of [folded, nested]) {
      const t0 = performance.now();
      try {
        await diagnoseBounce(input);
      } catch (err) {
        assert.ok(err instanceof BounceInputError);
      }
      assert.ok(performance.now() - t0 < 10_000);
    }
  });
});

describe('RFC 3464 fields', () => {
  it('reads per-message and per-recipient groups, typed values and continuation lines', () => {
    const r = parseDeliveryStatus(
      'Reporting-MTA: dns; mx.example.org\nArrival-Date: Mon, 1 Jan 2024 00:00:00 +0000\n\nFinal-Recipient: rfc822; <a@example.com>\nAction: failed\nStatus: 5.1.1 (bad mailbox)\nDiagnostic-Code: smtp; 550 5.1.1 no\n  such user\n\nFinal-Recipient: rfc822; b@example.com\nAction: delayed\nStatus: 4.4.1\nWill-Retry-Until: Tue, 2 Jan 2024 00:00:00 +0000\n',
    );
    assert.equal(r.reportingMta, 'mx.example.org');
    assert.equal(r.recipients.length, 2);
    assert.deepEqual(
      r.recipients.map((x) => [x.finalRecipient, x.action, x.status, x.diagnosticType, x.diagnostic]),
      [
        ['a@example.com', 'failed', '5.1.1', 'smtp', '550 5.1.1 no such user'],
        ['b@example.com', 'delayed', '4.4.1', null, null],
      ],
    );
  });
  it('groups fields by repetition when a report has no blank lines or puts Action first', () => {
    const r = parseDeliveryStatus(
      'Reporting-MTA: dns; a.example\nAction: failed\nFinal-Recipient: rfc822; x@example.com\nOriginal-Recipient: rfc822; x@example.com\nStatus: 5.1.1\nFinal-Recipient: rfc822; y@example.com\nAction: failed\nStatus: 5.2.2\n',
    );
    assert.deepEqual(
      r.recipients.map((x) => [x.finalRecipient, x.status]),
      [
        ['x@example.com', '5.1.1'],
        ['y@example.com', '5.2.2'],
      ],
    );
  });
});

describe('human-readable reports', () => {
  it('splits the notice from the returned message and finds recipients where MTAs put them', () => {
    const text = [
      'The following addresses had permanent fatal errors -----',
      '<one@example.com>: host mx[192.0.2.1] said: 550 5.1.1 no such user',
      '  two@example.net',
      '    retry timeout exceeded',
      'three@example.org on 4/29/01 11:34:45 PM',
      '    The recipient name is not recognized',
      'Delivery failed: four@example.jp',
      '',
      '--- Below this line is a copy of the message.',
      '',
      'From: me@example.com',
      'To: one@example.com',
    ].join('\n');
    const { notice, returned } = splitReturned(text);
    assert.match(returned ?? '', /^From: me@example.com/m);
    const found = extractRecipients(notice, new Set(['me@example.com']));
    assert.deepEqual(
      found.map((r) => r.recipient),
      ['one@example.com', 'two@example.net', 'three@example.org', 'four@example.jp'],
    );
    assert.match(found[1]!.block, /retry timeout exceeded/);
  });
  it('parses Received headers of the common MTAs', () => {
    assert.deepEqual(
      parseReceived(
        'from mail.example.org (mail.example.org [198.51.100.2]) by mx.example.com (Postfix) with ESMTPS id X',
      ),
      {
        from: 'mail.example.org',
        ip: '198.51.100.2',
        by: 'mx.example.com',
      },
    );
    assert.deepEqual(
      parseReceived('from unknown (HELO example.jp) (192.0.2.24) by mx.example.jp with SMTP'),
      {
        from: null,
        ip: '192.0.2.24',
        by: 'mx.example.jp',
      },
    );
  });
});

describe('line splitting', () => {
  it('gives the lines text.split(/\r?\n/) gives, CRs anywhere', () => {
    const texts = [
      '',
      'a',
      'a\n',
      '\n',
      '\r',
      '\r\n',
      'a\r',
      'a\r\r\nb',
      '\r\n\r\n',
      'a\rb\nc\r',
      '\n\r\r\n\r',
    ];
    // Every string of up to six characters from "a", CR and LF.
    const alphabet = ['a', '\r', '\n'];
    const grow = (prefix: string): void => {
      texts.push(prefix);
      if (prefix.length < 6) for (const c of alphabet) grow(prefix + c);
    };
    grow('');
    for (const text of texts) assert.deepEqual(splitLines(text), text.split(/\r?\n/), JSON.stringify(text));
  });
});
