import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MboxSplitter, isMboxSeparator, singleMessage, startsMbox } from '../../src/bounce/mailbox.js';
import type { MailboxMessage } from '../../src/bounce/mailbox.js';

/** Splits `input` fed in chunks of `size` bytes. */
function split(input: Buffer, size: number, maxBytes = 1 << 20): MailboxMessage[] {
  const s = new MboxSplitter(maxBytes);
  const out: MailboxMessage[] = [];
  for (let i = 0; i < input.length; i += size) out.push(...s.push(input.subarray(i, i + size)));
  out.push(...s.end());
  return out;
}

const SEP = (n: number): string => `From MAILER-DAEMON  Mon Jan  ${n} 10:00:00 2024`;
const message = (n: number, body = `Subject: bounce ${n}\n\nbody ${n}\n`): string => `${SEP(n)}\n${body}`;

describe('mbox splitting', () => {
  it('takes a whole file of one message as the splitter would, and leaves the rest to it', () => {
    const inputs = [
      'Subject: x\n\nbody\n',
      'Subject: x\n\nFrom MAILER-DAEMON  Mon Jan  1 10:00:00 2024\nFrom here on\n',
      message(1),
      message(1) + '\n' + message(2),
      SEP(1),
      '550 5.1.1 <a@b.example>: user unknown',
      `550 ${'x'.repeat(1100)}`,
      'From the postmaster: your mail could not be delivered\n',
      '',
      'x'.repeat(100) + '\n',
    ];
    let single = 0;
    for (const text of inputs) {
      for (const maxBytes of [1 << 20, 50]) {
        const bytes = Buffer.from(text);
        const got = singleMessage(bytes, maxBytes);
        const expected = split(bytes, bytes.length || 1, maxBytes);
        if (got) {
          single++;
          assert.deepEqual([got], expected, text.slice(0, 60));
        }
      }
    }
    // An mbox, a first line not yet ended and a message over the limit are the splitter's.
    for (const text of [message(1), message(1) + '\n' + message(2), SEP(1), '550 unknown'])
      assert.equal(singleMessage(Buffer.from(text), 1 << 20), null, text);
    assert.equal(singleMessage(Buffer.from('Subject: x\n\nbody\n'), 10), null);
    assert.ok(single >= 4, `${single}`);
  });

  it('recognises separator lines, and nothing else', () => {
    assert.ok(isMboxSeparator('From MAILER-DAEMON  Mon Jan  1 10:00:00 2024'));
    assert.ok(isMboxSeparator('From a@b.example Tue Mar 12 10:15:02 +0000 2024\r'));
    assert.ok(!isMboxSeparator('From: someone@example.com'));
    assert.ok(!isMboxSeparator('From the postmaster: your mail could not be delivered'));
    assert.ok(!isMboxSeparator(`From ${'x'.repeat(2000)} Mon Jan  1 10:00:00 2024`));
    assert.ok(startsMbox(Buffer.from(`${SEP(1)}\nSubject: x\n`)));
    assert.ok(!startsMbox(Buffer.from('Subject: x\n\nFrom MAILER-DAEMON  Mon Jan  1 10:00:00 2024\n')));
  });

  it('gives every message of an mbox, numbered, whatever the chunk size', () => {
    // A body line that begins with "From " but is no separator stays in its message.
    const texts = [message(1), message(2, 'Subject: two\n\nFrom here on, text.\n'), message(3)];
    const input = Buffer.from(texts.join('\n'));
    const expected = texts.map((t, i) => (i < texts.length - 1 ? `${t}\n` : t));
    for (let size = 1; size <= input.length; size += size < 80 ? 1 : 37) {
      const got = split(input, size);
      assert.deepEqual(
        got.map((m) => [m.number, m.bytes?.toString('latin1')]),
        expected.map((t, i) => [i + 1, t]),
        `chunks of ${size}`,
      );
    }
  });

  it('reads anything that does not start with a separator as one message, unnumbered', () => {
    const eml = Buffer.from(`Subject: one\n\n${SEP(1)}\nquoted mbox line inside a body\n`);
    for (const size of [1, 7, eml.length]) {
      const got = split(eml, size);
      assert.equal(got.length, 1);
      assert.equal(got[0]!.number, undefined);
      assert.equal(got[0]!.bytes?.toString('latin1'), eml.toString('latin1'));
    }
    // A message with its own "From " line alone is one message too, as `mxdoctor bounce FILE` reads it.
    const single = split(Buffer.from(message(1)), 5);
    assert.deepEqual(
      single.map((m) => [m.number, m.bytes?.toString()]),
      [[undefined, message(1)]],
    );
    assert.deepEqual(split(Buffer.alloc(0), 1), []);
  });

  it('never holds a message over the limit: it comes out with its size only', () => {
    const big = message(2, `Subject: big\n\n${'x'.repeat(5000)}\n`);
    const input = Buffer.from([message(1), big, message(3)].join('\n'));
    const got = split(input, 100, 1000);
    assert.deepEqual(
      got.map((m) => [m.number, m.bytes === undefined, m.size]),
      [
        [1, false, message(1).length + 1],
        [2, true, big.length + 1],
        [3, false, message(3).length],
      ],
    );
    const one = split(Buffer.from(`Subject: x\n\n${'y'.repeat(3000)}`), 512, 1000);
    assert.deepEqual(
      one.map((m) => [m.number, m.bytes, m.size]),
      [[undefined, undefined, 3000 + 'Subject: x\n\n'.length]],
    );
  });
});
