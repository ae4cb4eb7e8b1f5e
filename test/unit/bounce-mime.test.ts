import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { diagnoseBounce } from '../../src/bounce/index.js';
import { header, readMessage } from '../../src/bounce/mime.js';
import { MAX_DEPTH, MAX_PARTS } from '../../src/bounce/mime-reader.js';

/**
 * The bounce path's own MIME reader (src/bounce/mime-reader.ts, mime-decode.ts, mime.ts), on the
 * shapes real bounces come in: encoded-word subjects in Japanese charsets, reports whose parts
 * are quoted-printable, returned messages with parts of their own, multiparts cut off or never
 * closed, CRLF and LF, huge attachments. Messages are built here, byte for byte.
 */

const crlf = (s: string): string => s.replace(/\r?\n/g, '\r\n');
const bytes = (s: string): Buffer => Buffer.from(s, 'latin1');

/** A Postfix-style multipart/report: notice, delivery-status, returned message. */
function postfixReport(opts: { dsnEncoding?: string; dsn?: string; closing?: boolean } = {}): string {
  const dsn =
    opts.dsn ??
    [
      'Reporting-MTA: dns; mx.sender.example',
      '',
      'Final-Recipient: rfc822; nobody@remote.example',
      'Action: failed',
      'Status: 5.1.1',
      'Diagnostic-Code: smtp; 550 5.1.1 <nobody@remote.example>: Recipient address rejected: User unknown',
    ].join('\n');
  return [
    'From: MAILER-DAEMON@sender.example (Mail Delivery System)',
    'To: alice@sender.example',
    'Subject: Undelivered Mail Returned to Sender',
    'MIME-Version: 1.0',
    'Content-Type: multipart/report; report-type=delivery-status;',
    '\tboundary="B1"',
    '',
    'This is a MIME-encapsulated message.',
    '',
    '--B1',
    'Content-Description: Notification',
    'Content-Type: text/plain; charset=us-ascii',
    '',
    'I am sorry to have to inform you that your message could not be delivered.',
    '',
    '--B1',
    'Content-Description: Delivery report',
    'Content-Type: message/delivery-status',
    ...(opts.dsnEncoding ? [`Content-Transfer-Encoding: ${opts.dsnEncoding}`] : []),
    '',
    dsn,
    '',
    '--B1',
    'Content-Description: Undelivered Message',
    'Content-Type: message/rfc822',
    '',
    'From: alice@sender.example',
    'To: nobody@remote.example',
    'Subject: Quarterly figures',
    'Message-ID: <q1@sender.example>',
    '',
    'The figures.',
    '',
    ...(opts.closing === false ? [] : ['--B1--', '']),
  ].join('\n');
}

describe('bounce MIME reader: headers', () => {
  it('decodes ISO-2022-JP encoded words, B and Q, and joins a character split across two words', () => {
    const v = readMessage(
      bytes(
        [
          'From: =?ISO-2022-JP?B?GyRCJV0lOSVIJV4lOSU/GyhC?= <postmaster@example.jp>',
          'Subject: =?iso-2022-jp?B?VW5kZWxpdmVyYWJsZTogGyRCJUslYyE8JXMbKEI=?=',
          'X-Q: =?ISO-2022-JP?Q?=1B$B%K%c!<%s=1B(B?=',
          // One Japanese word split in the middle of its escape sequence (forbidden, but real mailers do it).
          'X-Split: =?iso-2022-jp?B?GyRCJUsl?= =?iso-2022-jp?B?YyE8JXMbKEI=?=',
          '',
          'body',
        ].join('\n'),
      ),
    );
    assert.equal(header(v.headers, 'subject'), 'Undeliverable: ニャーン');
    assert.equal(header(v.headers, 'x-q'), 'ニャーン');
    assert.equal(header(v.headers, 'x-split'), 'ニャーン');
    assert.equal(header(v.headers, 'from'), 'ポストマスタ <postmaster@example.jp>');
  });

  it('unfolds folded fields, keeps 8-bit UTF-8 headers, and names an unknown charset in a warning', () => {
    const v = readMessage(
      bytes(
        [
          'Subject: Delivery Status',
          '   Notification (Failure)',
          `X-Raw: ${Buffer.from('Zustellung fehlgeschlagen: Größe', 'utf8').toString('latin1')}`,
          'X-Odd: =?x-unknown-charset?Q?caf=E9?=',
          '',
          'body',
        ].join('\n'),
      ),
    );
    assert.equal(header(v.headers, 'subject'), 'Delivery Status Notification (Failure)');
    assert.equal(header(v.headers, 'x-raw'), 'Zustellung fehlgeschlagen: Größe');
    assert.equal(header(v.headers, 'x-odd'), 'café');
    assert.ok(
      v.warnings.some((w) => w.includes('"x-unknown-charset" is unknown')),
      v.warnings.join('; '),
    );
  });
});

describe('bounce MIME reader: parts', () => {
  it('reads a DSN whose delivery-status part is quoted-printable (a soft-wrapped Diagnostic-Code)', async () => {
    const dsn = [
      'Reporting-MTA: dns; mx.sender.example',
      '',
      'Final-Recipient: rfc822; nobody@remote.example',
      'Action: failed',
      'Status: 5.1.1',
      'Diagnostic-Code: smtp; 550 5.1.1 <nobody@remote.example>: Recipient address rej=',
      'ected: User unknown in virtual mailbox table =3D no such user',
    ].join('\n');
    const d = await diagnoseBounce(bytes(postfixReport({ dsnEncoding: 'quoted-printable', dsn })));
    assert.equal(d.kind, 'dsn');
    assert.equal(d.bounces.length, 1);
    assert.equal(d.bounces[0]!.recipient, 'nobody@remote.example');
    assert.equal(d.bounces[0]!.reason, 'user_unknown');
    assert.match(
      d.bounces[0]!.diagnostic,
      /Recipient address rejected: User unknown in virtual mailbox table = no such user/,
    );
  });

  it('keeps a returned message with parts of its own whole: its boundaries are not the report’s', async () => {
    const returned = [
      'From: Alice <alice@sender.example>',
      'To: nobody@remote.example',
      'Subject: =?utf-8?Q?Angebot_f=C3=BCr_Sie?=',
      'Message-ID: <inner@sender.example>',
      'Content-Type: multipart/alternative; boundary="INNER"',
      '',
      '--INNER',
      'Content-Type: text/plain',
      '',
      'Text of the original that must not become the notice.',
      '--INNER',
      'Content-Type: message/delivery-status',
      '',
      'Final-Recipient: rfc822; decoy@elsewhere.example',
      'Status: 4.4.7',
      '--INNER--',
    ].join('\n');
    const message = [
      'From: Mail Delivery Subsystem <mailer-daemon@sender.example>',
      'To: alice@sender.example',
      'Subject: Delivery Status Notification (Failure)',
      'Content-Type: multipart/mixed; boundary="OUTER"',
      '',
      '--OUTER',
      'Content-Type: multipart/report; report-type=delivery-status; boundary="REPORT"',
      '',
      '--REPORT',
      'Content-Type: text/plain',
      '',
      'Delivery to the following recipient failed permanently: nobody@remote.example',
      '--REPORT',
      'Content-Type: message/delivery-status',
      '',
      'Final-Recipient: rfc822; nobody@remote.example',
      'Action: failed',
      'Status: 5.1.1',
      '--REPORT',
      'Content-Type: message/rfc822',
      '',
      returned,
      '--REPORT--',
      '--OUTER--',
      '',
    ].join('\n');
    const v = readMessage(bytes(message));
    assert.equal(v.deliveryStatus.length, 1, 'the returned message’s own delivery-status part is not read');
    assert.doesNotMatch(v.text, /Text of the original/);
    assert.equal(v.returned.length, 1);
    assert.doesNotMatch(v.returned[0]!.toString('latin1'), /INNER--/, 'only its header section is kept');
    const d = await diagnoseBounce(bytes(message));
    assert.deepEqual(
      d.bounces.map((b) => [b.recipient, b.status]),
      [['nobody@remote.example', '5.1.1']],
    );
    assert.equal(d.original.subject, 'Angebot für Sie');
    assert.equal(d.original.messageId, '<inner@sender.example>');
  });

  it('reads a multipart cut off in the middle of its last part (a truncated bounce)', async () => {
    const full = postfixReport();
    const cut = full.slice(0, full.indexOf('Subject: Quarterly') + 12);
    const v = readMessage(bytes(cut));
    assert.match(v.text, /could not be delivered/);
    assert.equal(v.deliveryStatus.length, 1);
    assert.equal(v.returned.length, 1);
    const d = await diagnoseBounce(bytes(cut));
    assert.equal(d.bounces[0]!.reason, 'user_unknown');
  });

  it('reads a multipart whose closing delimiter is missing: the last part runs to the end', async () => {
    const d = await diagnoseBounce(bytes(postfixReport({ closing: false })));
    assert.equal(d.kind, 'dsn');
    assert.equal(d.bounces[0]!.recipient, 'nobody@remote.example');
    assert.equal(d.original.subject, 'Quarterly figures');
  });

  it('reads CRLF and LF line ends the same way', async () => {
    const lf = postfixReport({ dsnEncoding: 'quoted-printable' });
    const a = readMessage(bytes(lf));
    const b = readMessage(bytes(crlf(lf)));
    assert.equal(b.text, a.text, 'text lines end in LF either way');
    assert.deepEqual(b.headers, a.headers);
    assert.equal(b.deliveryStatus.length, 1);
    assert.deepEqual(
      b.deliveryStatus[0]!.split(/\r?\n/),
      a.deliveryStatus[0]!.split(/\r?\n/),
      'the report’s fields are the same',
    );
    const [da, db] = [await diagnoseBounce(bytes(lf)), await diagnoseBounce(bytes(crlf(lf)))];
    assert.deepEqual(db.bounces, da.bounces);
    assert.deepEqual(db.original, da.original);
  });

  it('steps over a 10 MB attachment without decoding it, and keeps only the header of a 10 MB returned message', async () => {
    const line = `${'QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo='.repeat(2)}\n`;
    const big = line.repeat(Math.ceil((10 * 1024 * 1024) / line.length));
    const message = postfixReport()
      .replace(
        '--B1\nContent-Description: Delivery report',
        `--B1\nContent-Type: application/pdf; name="scan.pdf"\nContent-Transfer-Encoding: base64\n\n${big}\n--B1\nContent-Description: Delivery report`,
      )
      .replace('The figures.\n', `The figures.\n${big}`);
    assert.ok(message.length > 20 * 1024 * 1024);
    const v = readMessage(bytes(message));
    assert.equal(v.deliveryStatus.length, 1, 'the report after the attachment is found');
    assert.match(v.text, /could not be delivered/);
    assert.doesNotMatch(v.text, /QUJD/, 'the attachment is not text');
    assert.equal(v.returned.length, 1);
    assert.ok(v.returned[0]!.length < 200, `returned: ${v.returned[0]!.length} bytes kept`);
    const d = await diagnoseBounce(bytes(message), { maxBytes: 32 * 1024 * 1024 });
    assert.equal(d.bounces[0]!.reason, 'user_unknown');
    assert.equal(d.original.subject, 'Quarterly figures');
  });

  it('decodes text parts in their charsets: Shift_JIS, KOI8-R, windows-1252 (0x92 is an apostrophe)', () => {
    const part = (charset: string, body: Buffer, cte = '8bit'): Buffer =>
      Buffer.concat([
        bytes(`--P\nContent-Type: text/plain; charset="${charset}"\nContent-Transfer-Encoding: ${cte}\n\n`),
        body,
        bytes('\n'),
      ]);
    const message = Buffer.concat([
      bytes('From: postmaster@example.jp\nSubject: x\nContent-Type: multipart/mixed; boundary=P\n\n'),
      // "ユーザー" in Shift_JIS.
      part('Shift_JIS', Buffer.from([0x83, 0x86, 0x81, 0x5b, 0x83, 0x55, 0x81, 0x5b])),
      // "Ошибка" in KOI8-R.
      part('koi8-r', Buffer.from([0xef, 0xdb, 0xc9, 0xc2, 0xcb, 0xc1])),
      part('Windows-1252', bytes('wasn=92t found'), 'quoted-printable'),
      bytes('--P--\n'),
    ]);
    const v = readMessage(message);
    assert.equal(v.text, 'ユーザー\nОшибка\nwasn’t found');
  });

  it('joins format=flowed lines and drops space-stuffing', () => {
    const v = readMessage(
      bytes(
        [
          'Subject: x',
          'Content-Type: text/plain; charset=utf-8; format=flowed; delsp=no',
          '',
          'The following address had a permanent fatal ',
          'error: nobody@remote.example',
          ' From the log: 550 no such user',
        ].join('\n'),
      ),
    );
    assert.equal(
      v.text,
      'The following address had a permanent fatal error: nobody@remote.example\nFrom the log: 550 no such user',
    );
  });

  it('gives an HTML-only notice as text, and text attachments after the notice', () => {
    const v = readMessage(
      bytes(
        [
          'Subject: Undeliverable',
          'Content-Type: multipart/mixed; boundary=M',
          '',
          '--M',
          'Content-Type: multipart/alternative; boundary=A',
          '',
          '--A',
          'Content-Type: text/html; charset=utf-8',
          '',
          '<html><body><p>Delivery has failed to:<br>nobody@remote.example</p><script>x()</script></body></html>',
          '--A--',
          '--M',
          'Content-Type: text/plain; name="details.txt"',
          'Content-Disposition: attachment; filename="details.txt"',
          '',
          'Remote server returned 550 5.1.1',
          '--M--',
        ].join('\n'),
      ),
    );
    assert.equal(
      v.text,
      'Delivery has failed to:\nnobody@remote.example\n\n\nRemote server returned 550 5.1.1',
    );
  });

  it('ends an inner multipart that is never closed at the outer delimiter, and ignores its epilogue', () => {
    const v = readMessage(
      bytes(
        [
          'Subject: x',
          'Content-Type: multipart/mixed; boundary=OUT',
          '',
          '--OUT',
          'Content-Type: multipart/alternative; boundary=IN',
          '',
          '--IN',
          'Content-Type: text/plain',
          '',
          'first',
          '--OUT',
          'Content-Type: text/plain',
          '',
          'second',
          '--OUT--',
          '--OUT',
          'Content-Type: text/plain',
          '',
          'epilogue, not a part',
        ].join('\n'),
      ),
    );
    assert.equal(v.text, 'first\nsecond');
  });

  it('caps nesting depth and the number of parts, with a warning, and keeps what it read', () => {
    let deep =
      'Subject: deep\nContent-Type: multipart/mixed; boundary=b0\n\n--b0\nContent-Type: text/plain\n\nshallow\n';
    for (let i = 1; i <= MAX_DEPTH + 5; i++)
      deep += `--b${i - 1}\nContent-Type: multipart/mixed; boundary=b${i}\n\n`;
    deep += `--b${MAX_DEPTH + 5}\nContent-Type: text/plain\n\ntoo deep to read\n`;
    const d = readMessage(bytes(deep));
    assert.ok(
      d.warnings.some((w) => w.includes('nested deeper')),
      d.warnings.join('; '),
    );
    assert.equal(d.text, 'shallow');

    let many = 'Subject: many\nContent-Type: multipart/mixed; boundary=m\n\n';
    for (let i = 0; i < MAX_PARTS + 50; i++) many += `--m\nContent-Type: text/plain\n\npart ${i}\n`;
    const m = readMessage(bytes(`${many}--m--\n`));
    assert.ok(
      m.warnings.some((w) => w.includes(`more than ${MAX_PARTS} MIME parts`)),
      m.warnings.join('; '),
    );
    assert.match(m.text, /part 0\n/);
    assert.doesNotMatch(m.text, new RegExp(`part ${MAX_PARTS}\\b`));
  });

  it('reads the body as text, with a warning, when no boundary matches', () => {
    const v = readMessage(
      bytes(
        [
          'Subject: Returned mail',
          'Content-Type: multipart/report; boundary="declared"',
          '',
          '--actual',
          'Content-Type: text/plain',
          '',
          '550 5.1.1 <nobody@remote.example>: User unknown',
          '--actual--',
        ].join('\n'),
      ),
    );
    assert.match(v.text, /550 5\.1\.1 <nobody@remote\.example>/);
    assert.ok(v.warnings.some((w) => w.includes('MIME structure is broken')));
  });
});
