import fc from 'fast-check';

/**
 * Arbitraries for what a hostile or broken SMTP server sends: reply lines that are right,
 * nearly right (wrong separators, changing codes, missing text) or not SMTP at all (random
 * bytes, NULs, long runs of one character), and how the bytes arrive (line ends, chunking).
 */

/** Reply codes a server may send, plus a few no server should (1xx, 6xx). */
const CODES = [
  '211',
  '214',
  '220',
  '221',
  '250',
  '251',
  '252',
  '354',
  '421',
  '450',
  '451',
  '452',
  '500',
  '501',
  '502',
  '503',
  '504',
  '530',
  '550',
  '551',
  '552',
  '553',
  '554',
  '555',
  '199',
  '600',
  '25',
  '2500',
];

const WORDS = [
  'OK',
  'mx.fuzz.test',
  'ESMTP',
  'Postfix',
  'STARTTLS',
  'PIPELINING',
  '8BITMIME',
  'SIZE 10240000',
  'SIZE',
  'CHUNKING',
  'SMTPUTF8',
  'ENHANCEDSTATUSCODES',
  'DSN',
  'AUTH PLAIN LOGIN',
  'REQUIRETLS',
  '2.0.0',
  '2.1.5',
  '4.5.3',
  '5.1.1',
  '4.7.1',
  '5.7.1',
  '5.5.1',
  'User unknown',
  'Access denied',
  'Too many recipients',
  'greylisted, try again later',
  'Relay access denied',
  'Ready to start TLS',
  '[127.0.0.1]',
  '[IPv6:::1]',
  '192.0.2.1',
  'localhost',
  'Bye',
  '',
];

export const codeArb = fc.constantFrom(...CODES);
const separatorArb = fc.constantFrom(' ', ' ', ' ', '-', '');

/** Free text: mostly words a server would use, sometimes anything. */
export const textArb = fc
  .array(fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...WORDS) }, fc.string({ maxLength: 12 })), {
    maxLength: 6,
  })
  .map((words) => words.join(' '));

/** Long runs of one token: the inputs that make backtracking regular expressions slow. */
export const longRunArb = fc
  .tuple(
    fc.constantFrom('', '250 ', '220 ', '550 5.1.1 ', '250-'),
    fc.constantFrom('a.', '.', '1.', '[', '1', ' ', '-', '@', ':', 'a-', '\t', 'x', '[1.', '5.'),
    fc.integer({ min: 1, max: 4000 }),
  )
  .map(([prefix, unit, n]) => prefix + unit.repeat(n));

function noNewline(s: string): string {
  return s.replace(/\n/g, '');
}

/** One line as the connection hands it to the reply reader (no LF inside). */
export const lineArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(codeArb, separatorArb, textArb).map(([c, s, t]) => `${c}${s}${t}`) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 80 }).map(noNewline) },
  { weight: 1, arbitrary: longRunArb },
  {
    weight: 1,
    arbitrary: fc
      .tuple(codeArb, textArb, fc.nat({ max: 20 }))
      .map(([c, t, at]) => `${c} ${t.slice(0, at)}\0${t.slice(at)}`),
  },
);

/** One reply: continuation lines then a last line, the code sometimes changing on the way. */
export const replyLinesArb: fc.Arbitrary<string[]> = fc
  .tuple(
    codeArb,
    fc.array(textArb, { minLength: 1, maxLength: 6 }),
    fc.oneof(
      { weight: 7, arbitrary: fc.constant(null) },
      { weight: 1, arbitrary: fc.tuple(fc.nat({ max: 5 }), codeArb) },
    ),
  )
  .map(([code, texts, change]) =>
    texts.map((text, i) => {
      const c = change && i >= change[0] ? change[1] : code;
      return `${c}${i === texts.length - 1 ? ' ' : '-'}${text}`;
    }),
  );

/** An EHLO reply with a random set of extensions. */
export const ehloLinesArb: fc.Arbitrary<string[]> = fc
  .subarray(['PIPELINING', 'STARTTLS', '8BITMIME', 'SIZE 1000000', 'CHUNKING', 'SMTPUTF8', 'DSN'])
  .map((ext) => {
    const all = ['mx.fuzz.test greets you', ...ext];
    return all.map((t, i) => `250${i === all.length - 1 ? ' ' : '-'}${t}`);
  });

export const lineEndArb = fc.constantFrom('\r\n', '\r\n', '\r\n', '\r\n', '\n', '\r', '');

/** Lines with their line ends, as bytes (UTF-8 or Latin-1). */
export function encodeLines(lines: readonly string[], ends: readonly string[], latin1: boolean): Buffer {
  const text = lines.map((l, i) => l + (ends[i % Math.max(ends.length, 1)] ?? '\r\n')).join('');
  return Buffer.from(text, latin1 ? 'latin1' : 'utf8');
}

/** Bytes a server writes at one go: replies, garbage, NULs, or a mix. */
export const burstArb: fc.Arbitrary<Uint8Array> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .tuple(
        fc.oneof(replyLinesArb, ehloLinesArb, fc.array(lineArb, { minLength: 1, maxLength: 4 })),
        fc.array(lineEndArb, { minLength: 1, maxLength: 3 }),
        fc.boolean(),
      )
      .map(([lines, ends, latin1]) => encodeLines(lines, ends, latin1)),
  },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.nat({ max: 200 }), fc.constantFrom(0, 0x0d, 0x0a, 0xff))
      .map(([n, b]) => new Uint8Array(n + 1).fill(b)),
  },
);
