import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { classifyRecipient, isTestToken, newTestToken, testAddress } from '../../src/inbound/address.js';
import { addressInName, parseMailboxes } from '../../src/inbound/addresses.js';
import { ClientLimits } from '../../src/inbound/limits.js';
import { allParts, parseMessage } from '../../src/inbound/message.js';
import { evaluateMessage, parseDate, unsubscribeUris } from '../../src/inbound/message-checks.js';
import type { MessageContext } from '../../src/inbound/message-checks.js';

/** The pure parts of the inbound test: addresses, limits, the message parser and its findings. */

const CTX: MessageContext = {
  receivedAt: new Date('2025-07-01T10:00:00Z'),
  mailFromParams: {},
  size: 0,
  dkimSignedHeaders: new Set(),
};

function message(headers: string[], body = 'Hello.\r\n'): Buffer {
  return Buffer.from(`${headers.join('\r\n')}\r\n\r\n${body}`, 'latin1');
}
const GOOD = [
  'From: Alice <alice@example.org>',
  'To: bob@example.net',
  'Subject: Hi',
  'Date: Tue, 1 Jul 2025 09:59:00 +0000',
  'Message-ID: <abc.123@example.org>',
];
const statuses = (m: Buffer, ctx: MessageContext = CTX): Record<string, string> =>
  Object.fromEntries(evaluateMessage(parseMessage(m), ctx).map((f) => [f.id, f.status]));

describe('one-time addresses', () => {
  it('makes 26-character base32 tokens with 130 random bits, never the same twice', () => {
    const tokens = new Set(Array.from({ length: 1000 }, newTestToken));
    assert.equal(tokens.size, 1000);
    for (const t of tokens) assert.ok(isTestToken(t), t);
  });

  it('tells test addresses, other local parts and other domains (relaying) apart', () => {
    const token = newTestToken();
    assert.deepEqual(classifyRecipient(testAddress(token, 'in.example'), 'in.example'), {
      kind: 'test',
      token,
    });
    assert.deepEqual(classifyRecipient(`TEST-${token.toUpperCase()}@IN.example.`, 'in.example'), {
      kind: 'test',
      token,
    });
    assert.deepEqual(classifyRecipient('postmaster@in.example', 'in.example'), { kind: 'unknown' });
    assert.deepEqual(classifyRecipient(`test-${token}x@in.example`, 'in.example'), { kind: 'unknown' });
    assert.deepEqual(classifyRecipient(`test-${token}@other.example`, 'in.example'), {
      kind: 'relay',
      domain: 'other.example',
    });
    assert.deepEqual(classifyRecipient('no-at-sign', 'in.example'), { kind: 'unknown' });
  });
});

describe('client limits', () => {
  it('holds sessions per address and starts per period', () => {
    const limits = new ClientLimits({ perAddress: 2, rate: { points: 3, windowMs: 1000 } });
    assert.equal(limits.admit('192.0.2.1', 0), 'ok');
    assert.equal(limits.admit('192.0.2.1', 1), 'ok');
    assert.equal(limits.admit('192.0.2.1', 2), 'too_many_connections');
    assert.equal(limits.admit('192.0.2.2', 2), 'ok', 'another address is not affected');
    limits.release('192.0.2.1');
    assert.equal(limits.admit('192.0.2.1', 3), 'ok');
    limits.release('192.0.2.1');
    assert.equal(limits.admit('192.0.2.1', 4), 'rate_limited', 'the fourth start within a second');
    assert.equal(limits.admit('192.0.2.1', 1500), 'ok', 'the window has moved on');
  });
});

describe('mailboxes', () => {
  it('reads display names, quoted commas, comments and groups', () => {
    assert.deepEqual(
      parseMailboxes('"Doe, Jane" <jane@example.org>, bob@Example.NET (Bob)').map((b) => [
        b.name,
        b.address,
        b.domain,
      ]),
      [
        ['Doe, Jane', 'jane@example.org', 'example.org'],
        ['', 'bob@Example.NET', 'example.net'],
      ],
    );
    assert.equal(parseMailboxes('undisclosed: a@x.example, b@y.example;').length, 2);
    assert.equal(addressInName('support@bank.example'), 'support@bank.example');
    assert.equal(addressInName('Your Bank'), undefined);
  });
});

describe('message parsing', () => {
  it('walks a multipart/alternative inside multipart/mixed and decodes the text parts', () => {
    const body = [
      '--outer',
      'Content-Type: multipart/alternative; boundary="inner"',
      '',
      '--inner',
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: quoted-printable',
      '',
      'Caf=C3=A9 prices',
      '--inner',
      'Content-Type: text/html; charset=utf-8',
      'Content-Transfer-Encoding: base64',
      '',
      Buffer.from('<p>Café</p>').toString('base64'),
      '--inner--',
      '--outer',
      'Content-Type: application/pdf; name="a.pdf"',
      'Content-Disposition: attachment; filename="a.pdf"',
      '',
      'JVBERi0=',
      '--outer--',
      '',
    ].join('\r\n');
    const m = parseMessage(
      message([...GOOD, 'MIME-Version: 1.0', 'Content-Type: multipart/mixed; boundary=outer'], body),
    );
    assert.deepEqual(
      allParts(m.mime).map((p) => p.type),
      ['multipart/mixed', 'multipart/alternative', 'text/plain', 'text/html', 'application/pdf'],
    );
    assert.equal(m.text?.trim(), 'Café prices');
    assert.equal(m.html?.trim(), '<p>Café</p>');
    assert.equal(allParts(m.mime)[4]!.filename, 'a.pdf');
    assert.deepEqual(m.mimeProblems, []);
    assert.equal(
      statuses(Buffer.from(m.headers.map((h) => `${h.name}: ${h.value}`).join('\r\n') + '\r\n\r\n' + body))[
        'inbound.message.text_alternative'
      ],
      'pass',
    );
  });

  it('names an unclosed boundary, a multipart without boundary and MIME without MIME-Version', () => {
    const unclosed = parseMessage(
      message(
        [...GOOD, 'MIME-Version: 1.0', 'Content-Type: multipart/mixed; boundary=b'],
        '--b\r\n\r\ntext\r\n',
      ),
    );
    assert.match(unclosed.mimeProblems.join(), /boundary "b" is never closed/);
    const noBoundary = parseMessage(message([...GOOD, 'MIME-Version: 1.0', 'Content-Type: multipart/mixed']));
    assert.match(noBoundary.mimeProblems.join(), /without a boundary/);
    const noVersion = parseMessage(message([...GOOD, 'Content-Type: text/plain']));
    assert.match(noVersion.mimeProblems.join(), /without MIME-Version/);
  });

  it('stays linear and bounded on a hostile message: deep nesting, thousands of parts', () => {
    let body = '';
    for (let i = 0; i < 30; i++)
      body += `--b${i}\r\nContent-Type: multipart/mixed; boundary=b${i + 1}\r\n\r\n`;
    const deep = parseMessage(
      message([...GOOD, 'MIME-Version: 1.0', 'Content-Type: multipart/mixed; boundary=b0'], body),
    );
    assert.match(deep.mimeProblems.join(), /nested deeper than 10/);
    const many = '--m\r\n\r\nx\r\n'.repeat(5000) + '--m--\r\n';
    const started = performance.now();
    const wide = parseMessage(
      message([...GOOD, 'MIME-Version: 1.0', 'Content-Type: multipart/mixed; boundary=m'], many),
    );
    assert.ok(performance.now() - started < 2000);
    assert.ok(allParts(wide.mime).length <= 201);
    assert.match(wide.mimeProblems.join(), /more than 200 MIME parts/);
  });
});

describe('message findings', () => {
  it('passes a well-formed plain message', () => {
    const s = statuses(message(GOOD));
    for (const id of ['headers', 'from', 'message_id', 'date', 'subject', 'mime', 'text_alternative'])
      assert.equal(s[`inbound.message.${id}`], 'pass', id);
    assert.equal(s['inbound.message.list_unsubscribe'], 'info');
  });

  it('fails a missing Message-ID, a missing Date, two From mailboxes and a repeated Subject', () => {
    const s = statuses(
      message(['From: a@example.org, b@example.org', 'To: c@example.net', 'Subject: one', 'Subject: two']),
    );
    assert.equal(s['inbound.message.message_id'], 'fail');
    assert.equal(s['inbound.message.headers'], 'fail');
    assert.equal(s['inbound.message.from'], 'fail');
    assert.equal(s['inbound.message.date'], undefined, 'no Date: reported by the headers finding');
  });

  it('warns about a display name posing as another address, 8-bit headers without SMTPUTF8, HTML only', () => {
    const s = statuses(
      message(
        [
          'From: "support@bank.example" <x@elsewhere.example>',
          'Subject: Caf\xe9',
          ...GOOD.slice(3),
          'MIME-Version: 1.0',
          'Content-Type: text/html',
        ],
        '<p>hi</p>',
      ),
    );
    assert.equal(s['inbound.message.from'], 'warn');
    assert.equal(s['inbound.message.headers'], 'warn');
    assert.equal(s['inbound.message.text_alternative'], 'warn');
    const utf8 = statuses(message(['From: a@example.org', 'Subject: Caf\xe9', ...GOOD.slice(3)]), {
      ...CTX,
      mailFromParams: { SMTPUTF8: '' },
    });
    assert.equal(utf8['inbound.message.headers'], 'pass');
  });

  it('judges Date syntax, zones and clock skew', () => {
    assert.equal(parseDate('Tue, 1 Jul 2025 10:00:00 +0200').at?.toISOString(), '2025-07-01T08:00:00.000Z');
    assert.deepEqual(parseDate('Mon, 1 Jul 2025 10:00:00 +0000').problems, [
      'says Mon but that day is a tue',
    ]);
    assert.ok(parseDate('1 Jul 25 10:00 GMT').obsolete);
    assert.equal(parseDate('yesterday').at, undefined);
    const future = statuses(message([...GOOD.slice(0, 3), 'Date: Tue, 1 Jul 2025 12:00:00 +0000', GOOD[4]!]));
    assert.equal(future['inbound.message.date'], 'warn');
  });

  it('requires List-Unsubscribe for bulk mail, and one-click with an https URI signed by DKIM', () => {
    const bulk = [...GOOD, 'List-Id: <news.example.org>'];
    assert.equal(statuses(message(bulk))['inbound.message.list_unsubscribe'], 'fail');
    const withUnsub = [...bulk, 'List-Unsubscribe: <https://example.org/u/1>, <mailto:u@example.org>'];
    const noPost = statuses(message(withUnsub));
    assert.equal(noPost['inbound.message.list_unsubscribe'], 'pass');
    assert.equal(noPost['inbound.message.one_click'], 'fail');
    const oneClick = [...withUnsub, 'List-Unsubscribe-Post: List-Unsubscribe=One-Click'];
    assert.equal(statuses(message(oneClick))['inbound.message.one_click'], 'fail', 'not signed');
    const signed = { ...CTX, dkimSignedHeaders: new Set(['list-unsubscribe', 'list-unsubscribe-post']) };
    assert.equal(statuses(message(oneClick), signed)['inbound.message.one_click'], 'pass');
    assert.deepEqual(unsubscribeUris('<http://x.example/u>'), {
      https: [],
      mailto: [],
      other: ['http://x.example/u'],
    });
  });
});
