import { z } from 'zod';
import { defineFindings } from '../checks/findings.js';
import type { Finding } from '../report/model.js';
import { addressInName, parseMailboxes } from './addresses.js';
import { allParts, displayValue, field, fieldCount } from './message.js';
import type { MimePart, ParsedMessage } from './message.js';

/**
 * The message itself, as a receiver's filters read it: the header fields RFC 5322 requires,
 * Message-ID and Date, the From mailbox, the MIME structure, a plain-text alternative to
 * HTML, and List-Unsubscribe with RFC 8058 one-click for bulk mail. Pure: the parsed message
 * and the envelope in, findings and a summary out.
 */
export const MESSAGE = defineFindings('inbound', {
  'inbound.message.headers': {
    title: 'Required header fields',
    statuses: ['pass', 'warn', 'fail'],
    meaning:
      'From and Date present exactly once, the fields RFC 5322 §3.6 allows once not repeated, header bytes 7-bit unless SMTPUTF8 was used, lines within 998 characters.',
  },
  'inbound.message.message_id': {
    title: 'Message-ID',
    statuses: ['pass', 'warn', 'fail'],
    meaning: 'A Message-ID of the form <left@domain> (RFC 5322 §3.6.4); Gmail refuses messages without one.',
  },
  'inbound.message.date': {
    title: 'Date',
    statuses: ['pass', 'warn', 'fail'],
    meaning:
      'A Date in RFC 5322 §3.3 syntax, with a numeric time zone, close to the time the message arrived.',
  },
  'inbound.message.from': {
    title: 'From',
    statuses: ['pass', 'warn', 'fail'],
    meaning:
      'One From mailbox with a domain (the one DMARC protects), and no other address posing as its display name.',
  },
  'inbound.message.subject': {
    title: 'Subject',
    statuses: ['pass', 'warn'],
    meaning: 'A non-empty Subject; filters score messages without one.',
  },
  'inbound.message.mime': {
    title: 'MIME structure',
    statuses: ['pass', 'warn'],
    meaning:
      'MIME-Version with Content-Type, every multipart with its boundary closed, known transfer encodings, line ends CRLF.',
  },
  'inbound.message.text_alternative': {
    title: 'Plain-text alternative',
    statuses: ['pass', 'warn', 'info'],
    meaning:
      'An HTML message carries a text/plain alternative (multipart/alternative); HTML-only mail scores worse.',
  },
  'inbound.message.list_unsubscribe': {
    title: 'List-Unsubscribe',
    statuses: ['pass', 'warn', 'fail', 'info'],
    meaning:
      'Bulk mail (List-Id, Precedence: bulk/list, Feedback-ID…) carries List-Unsubscribe with an https or mailto URI (RFC 2369); Gmail and Yahoo require it from bulk senders.',
  },
  'inbound.message.one_click': {
    title: 'One-click unsubscribe (RFC 8058)',
    statuses: ['pass', 'warn', 'fail', 'info'],
    meaning:
      'List-Unsubscribe-Post: List-Unsubscribe=One-Click with an https List-Unsubscribe URI, both fields covered by a valid DKIM signature (RFC 8058 §3).',
  },
});

const ONCE = [
  'from',
  'date',
  'sender',
  'reply-to',
  'to',
  'cc',
  'bcc',
  'message-id',
  'in-reply-to',
  'references',
  'subject',
];

export const MimePartSchema: z.ZodType<MimePart> = z.lazy(() =>
  z.object({
    type: z.string(),
    charset: z.string().optional(),
    encoding: z.string().optional(),
    disposition: z.string().optional(),
    filename: z.string().optional(),
    bytes: z.number().int(),
    parts: z.array(MimePartSchema).optional(),
  }),
);

export const MessageSummarySchema = z.object({
  size: z.number().int(),
  from: z.string().optional().describe('From, decoded for reading'),
  fromDomain: z.string().optional().describe('Domain of the From address (the one DMARC protects)'),
  subject: z.string().optional(),
  messageId: z.string().optional(),
  date: z.string().optional(),
  headers: z
    .array(z.object({ name: z.string(), value: z.string() }))
    .describe('Header fields as sent (first 100, values cut at 1000 characters)'),
  mime: MimePartSchema,
  mimeProblems: z.array(z.string()),
  bulk: z.array(z.string()).describe('What makes the message look like bulk mail'),
  listUnsubscribe: z
    .object({ https: z.array(z.string()), mailto: z.array(z.string()), oneClick: z.boolean() })
    .optional(),
});
export type MessageSummary = z.infer<typeof MessageSummarySchema>;

export interface MessageContext {
  receivedAt: Date;
  /** MAIL FROM parameters (SMTPUTF8 allows 8-bit headers). */
  mailFromParams: Record<string, string>;
  size: number;
  /** Lower-cased header names covered by at least one DKIM signature that verified. */
  dkimSignedHeaders?: ReadonlySet<string>;
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const OBSOLETE_ZONES: Record<string, number> = {
  ut: 0,
  gmt: 0,
  est: -5,
  edt: -4,
  cst: -6,
  cdt: -5,
  mst: -7,
  mdt: -6,
  pst: -8,
  pdt: -7,
};
// Linear: the value is trimmed first, so no two optional runs of white space meet.
const DATE =
  /^(?:([A-Za-z]{3})[ \t]*,[ \t]*)?(\d{1,2})[ \t]+([A-Za-z]{3})[ \t]+(\d{2,4})[ \t]+(\d{2}):(\d{2})(?::(\d{2}))?[ \t]+([+-]\d{4}|[A-Za-z]{1,3})(?:[ \t]+\([^()]*\))?$/;

/** RFC 5322 §3.3 date-time → the instant and what is odd about it. */
export function parseDate(value: string): { at?: Date; problems: string[]; obsolete: boolean } {
  const m = DATE.exec(value.trim().slice(0, 200));
  if (!m) return { problems: ['is not an RFC 5322 date-time'], obsolete: false };
  const [, dow, day, mon, year, hh, mm, ss, zone] = m;
  const month = MONTHS.indexOf(mon!.toLowerCase());
  if (month < 0) return { problems: [`has an unknown month "${mon}"`], obsolete: false };
  let y = Number(year);
  const obsoleteYear = year!.length < 4;
  if (obsoleteYear) y += y < 50 ? 2000 : 1900;
  let offsetMin: number;
  let obsolete = obsoleteYear;
  if (/^[+-]\d{4}$/.test(zone!)) {
    const sign = zone!.startsWith('-') ? -1 : 1;
    offsetMin = sign * (Number(zone!.slice(1, 3)) * 60 + Number(zone!.slice(3)));
  } else {
    obsolete = true;
    const named = OBSOLETE_ZONES[zone!.toLowerCase()];
    offsetMin = (named ?? 0) * 60;
  }
  const utc = Date.UTC(y, month, Number(day), Number(hh), Number(mm), Number(ss ?? 0)) - offsetMin * 60_000;
  const at = new Date(utc);
  const problems: string[] = [];
  if (Number.isNaN(utc) || Number(hh) > 23 || Number(mm) > 59 || Number(ss ?? 0) > 60 || Number(day) > 31) {
    return { problems: ['has an impossible date or time'], obsolete };
  }
  if (dow) {
    const local = new Date(Date.UTC(y, month, Number(day)));
    if (DAYS[local.getUTCDay()] !== dow.toLowerCase())
      problems.push(`says ${dow} but that day is a ${DAYS[local.getUTCDay()]}`);
  }
  if (obsolete) problems.push('uses obsolete syntax (a named zone or two-digit year, RFC 5322 §4.3)');
  return { at, problems, obsolete };
}

function headersFinding(m: ParsedMessage, ctx: MessageContext): Finding {
  const problems: string[] = [];
  let fail = false;
  for (const name of ['From', 'Date']) {
    const n = fieldCount(m.headers, name);
    if (n === 0) {
      problems.push(`no ${name} field (RFC 5322 §3.6 requires it)`);
      fail = true;
    }
  }
  const repeated = ONCE.filter((n) => fieldCount(m.headers, n) > 1);
  if (repeated.length) {
    problems.push(`repeated: ${repeated.join(', ')} (RFC 5322 §3.6 allows each once)`);
    if (repeated.some((n) => n === 'from' || n === 'date' || n === 'subject' || n === 'message-id'))
      fail = true;
  }
  if (m.eightBitHeaders && !('SMTPUTF8' in ctx.mailFromParams))
    problems.push('8-bit bytes in the header without SMTPUTF8 (use RFC 2047 encoded words)');
  if (m.longLines > 0)
    problems.push(
      `${m.longLines} line${m.longLines === 1 ? '' : 's'} longer than 998 characters (RFC 5322 §2.1.1)`,
    );
  if (m.headersOmitted > 0) problems.push(`more than ${m.headers.length} header fields`);
  const details = { fields: m.headers.length, problems };
  if (problems.length === 0) {
    return MESSAGE.make('inbound.message.headers', 'pass', {
      summary: `The ${m.headers.length} header fields have From and Date once each and nothing RFC 5322 forbids.`,
      details,
    });
  }
  return MESSAGE.make('inbound.message.headers', fail ? 'fail' : 'warn', {
    summary: `The header has problems: ${problems.join('; ')}.`,
    remedy:
      'Fix the program or library that writes these messages so the header follows RFC 5322 §3.6; receivers reject or score malformed headers.',
    details,
  });
}

function messageIdFinding(m: ParsedMessage): Finding {
  const count = fieldCount(m.headers, 'message-id');
  const value = field(m.headers, 'message-id');
  if (count === 0 || !value) {
    return MESSAGE.make('inbound.message.message_id', 'fail', {
      summary: 'The message has no Message-ID.',
      remedy:
        'Give every message a unique Message-ID such as <random@your-domain> (RFC 5322 §3.6.4); Gmail refuses mail without one (550 5.7.1).',
      details: {},
    });
  }
  const idm = /^<([^<>\s@]+)@([^<>\s@]+)>$/.exec(value.trim());
  if (!idm) {
    return MESSAGE.make('inbound.message.message_id', 'fail', {
      summary: `The Message-ID "${value.slice(0, 200)}" is not of the form <left@right>.`,
      remedy: 'Write Message-ID as <unique-part@your-domain> with the angle brackets (RFC 5322 §3.6.4).',
      details: { value: value.slice(0, 500) },
    });
  }
  const right = idm[2]!;
  if (!right.includes('.') && !right.startsWith('[')) {
    return MESSAGE.make('inbound.message.message_id', 'warn', {
      summary: `The Message-ID ${value.slice(0, 200)} ends in "${right.slice(0, 100)}", not a domain name.`,
      remedy: 'Use a fully qualified domain you control to the right of the @, so the ID is globally unique.',
      details: { value: value.slice(0, 500) },
    });
  }
  return MESSAGE.make('inbound.message.message_id', 'pass', {
    summary: `The Message-ID ${value.slice(0, 200)} is well formed.`,
    details: { value: value.slice(0, 500) },
  });
}

function dateFinding(m: ParsedMessage, ctx: MessageContext): Finding | undefined {
  const value = field(m.headers, 'date');
  if (value === undefined) return undefined;
  const d = parseDate(value);
  const details: Record<string, unknown> = { value: value.slice(0, 200), problems: d.problems };
  if (!d.at) {
    return MESSAGE.make('inbound.message.date', 'fail', {
      summary: `The Date "${value.slice(0, 100)}" ${d.problems.join('; ')}.`,
      remedy: 'Write Date as in "Tue, 1 Jul 2025 10:00:00 +0000" (RFC 5322 §3.3).',
      details,
    });
  }
  const skewMin = Math.round((d.at.getTime() - ctx.receivedAt.getTime()) / 60_000);
  details.skewMinutes = skewMin;
  if (skewMin > 15) d.problems.push(`is ${skewMin} minutes in the future`);
  if (skewMin < -24 * 60) d.problems.push(`is ${Math.round(-skewMin / 60)} hours older than its arrival`);
  if (d.problems.length > 0) {
    return MESSAGE.make('inbound.message.date', 'warn', {
      summary: `The Date "${value.slice(0, 100)}" ${d.problems.join('; ')}.`,
      remedy:
        'Set the date when the message is sent, from a clock kept right by NTP, with a numeric zone such as +0000.',
      details,
    });
  }
  return MESSAGE.make('inbound.message.date', 'pass', {
    summary: `The Date "${value.slice(0, 100)}" is well formed and ${Math.abs(skewMin)} minutes from the arrival time.`,
    details,
  });
}

function fromFinding(m: ParsedMessage): Finding | undefined {
  const value = field(m.headers, 'from');
  if (value === undefined) return undefined;
  const boxes = parseMailboxes(value);
  const details: Record<string, unknown> = {
    value: displayValue(value).slice(0, 300),
    addresses: boxes.map((b) => b.address.slice(0, 320)),
  };
  if (boxes.length === 0 || boxes.some((b) => !b.domain)) {
    return MESSAGE.make('inbound.message.from', 'fail', {
      summary: `From "${displayValue(value).slice(0, 200)}" has no address with a domain.`,
      remedy: 'Send from a mailbox like "Name <you@your-domain>"; DMARC and every filter read its domain.',
      details,
    });
  }
  if (boxes.length > 1) {
    return MESSAGE.make('inbound.message.from', 'fail', {
      summary: `From lists ${boxes.length} addresses; receivers such as Gmail refuse messages with several From mailboxes (DMARC cannot apply to them, RFC 7489 §6.6.1).`,
      remedy: 'Put one mailbox in From; add the others to Reply-To if needed.',
      details,
    });
  }
  const box = boxes[0]!;
  const posing = addressInName(displayValue(box.name));
  if (posing && posing.toLowerCase() !== box.address.toLowerCase()) {
    return MESSAGE.make('inbound.message.from', 'warn', {
      summary: `The display name of From shows the address ${posing} while the message is from ${box.address}: filters treat this as impersonation.`,
      remedy: 'Use a plain display name (your organisation or person), not an address.',
      details,
    });
  }
  return MESSAGE.make('inbound.message.from', 'pass', {
    summary: `From is one mailbox, ${box.address.slice(0, 200)}.`,
    details,
  });
}

function subjectFinding(m: ParsedMessage): Finding {
  const value = field(m.headers, 'subject');
  if (value === undefined || displayValue(value).trim() === '') {
    return MESSAGE.make('inbound.message.subject', 'warn', {
      summary: value === undefined ? 'The message has no Subject.' : 'The Subject is empty.',
      remedy: 'Give every message a meaningful Subject; spam filters score missing ones.',
      details: {},
    });
  }
  return MESSAGE.make('inbound.message.subject', 'pass', {
    summary: `Subject: "${displayValue(value).slice(0, 200)}".`,
    details: {},
  });
}

function mimeFinding(m: ParsedMessage): Finding {
  const problems = [...m.mimeProblems];
  if (m.bareLineEnds > 0)
    problems.push(
      `${m.bareLineEnds} line${m.bareLineEnds === 1 ? ' ends' : 's end'} in a bare LF instead of CRLF`,
    );
  if (problems.length === 0) {
    return MESSAGE.make('inbound.message.mime', 'pass', {
      summary: `The MIME structure (${m.mime.type}, ${allParts(m.mime).length} part${allParts(m.mime).length === 1 ? '' : 's'}) is well formed.`,
      details: {},
    });
  }
  return MESSAGE.make('inbound.message.mime', 'warn', {
    summary: `The MIME structure has problems: ${problems.join('; ')}.`,
    remedy:
      'Let a MIME library build the message (boundaries closed, MIME-Version: 1.0, CRLF line ends); malformed MIME is a common spam-filter signal and some receivers rewrite or refuse it.',
    details: { problems },
  });
}

function alternativeFinding(m: ParsedMessage): Finding {
  const parts = allParts(m.mime).filter((p) => p.disposition !== 'attachment');
  const html = parts.some((p) => p.type === 'text/html');
  const plain = parts.some((p) => p.type === 'text/plain');
  if (!html) {
    return MESSAGE.make('inbound.message.text_alternative', plain ? 'pass' : 'info', {
      summary: plain ? 'The message is plain text.' : 'The message has no text or HTML body part.',
      details: { html, plain },
    });
  }
  const inAlternative = (part: MimePart): boolean =>
    (part.type === 'multipart/alternative' && (part.parts ?? []).some((p) => p.type === 'text/plain')) ||
    (part.parts ?? []).some(inAlternative);
  if (plain && inAlternative(m.mime)) {
    return MESSAGE.make('inbound.message.text_alternative', 'pass', {
      summary: 'The HTML comes with a text/plain alternative (multipart/alternative).',
      details: { html, plain },
    });
  }
  return MESSAGE.make('inbound.message.text_alternative', 'warn', {
    summary: 'The message is HTML without a text/plain alternative.',
    remedy:
      'Send multipart/alternative with a text/plain part beside the HTML; HTML-only mail scores worse (SpamAssassin MIME_HTML_ONLY) and reads badly in text clients.',
    details: { html, plain },
  });
}

/** Why a message looks like bulk mail (one of the signs is enough). */
export function bulkIndicators(m: ParsedMessage): string[] {
  const out: string[] = [];
  if (field(m.headers, 'list-id')) out.push('List-Id');
  const precedence = field(m.headers, 'precedence')?.toLowerCase().trim();
  if (precedence === 'bulk' || precedence === 'list') out.push(`Precedence: ${precedence}`);
  if (field(m.headers, 'list-unsubscribe')) out.push('List-Unsubscribe');
  if (field(m.headers, 'feedback-id')) out.push('Feedback-ID');
  const auto = field(m.headers, 'auto-submitted')?.toLowerCase().trim();
  if (auto && auto !== 'no') out.push(`Auto-Submitted: ${auto.slice(0, 30)}`);
  return out;
}

/** The URIs of List-Unsubscribe (RFC 2369: comma-separated, each in angle brackets). */
export function unsubscribeUris(value: string): { https: string[]; mailto: string[]; other: string[] } {
  const uris = [...value.matchAll(/<([^<>]{1,2000})>/g)].map((m) => m[1]!.trim()).slice(0, 10);
  return {
    https: uris.filter((u) => /^https:\/\//i.test(u)),
    mailto: uris.filter((u) => /^mailto:/i.test(u)),
    other: uris.filter((u) => !/^(https:\/\/|mailto:)/i.test(u)),
  };
}

function unsubscribeFindings(m: ParsedMessage, ctx: MessageContext): Finding[] {
  const bulk = bulkIndicators(m).filter((b) => b !== 'List-Unsubscribe');
  const value = field(m.headers, 'list-unsubscribe');
  const post = field(m.headers, 'list-unsubscribe-post');
  if (value === undefined) {
    const findings = [
      bulk.length > 0
        ? MESSAGE.make('inbound.message.list_unsubscribe', 'fail', {
            summary: `The message looks like bulk mail (${bulk.join(', ')}) but has no List-Unsubscribe.`,
            remedy:
              'Add List-Unsubscribe: <https://…>, <mailto:…> and List-Unsubscribe-Post: List-Unsubscribe=One-Click; Gmail and Yahoo require one-click unsubscribe from bulk senders since 2024.',
            details: { bulk },
          })
        : MESSAGE.make('inbound.message.list_unsubscribe', 'info', {
            summary:
              'No List-Unsubscribe: right for personal mail; bulk mail (newsletters, notifications to many) needs it.',
            details: { bulk },
          }),
    ];
    if (post !== undefined) {
      findings.push(
        MESSAGE.make('inbound.message.one_click', 'fail', {
          summary: 'List-Unsubscribe-Post is present without List-Unsubscribe.',
          remedy: 'Send both fields (RFC 8058 §3.1).',
          details: {},
        }),
      );
    }
    return findings;
  }
  const uris = unsubscribeUris(value);
  const details = { value: value.slice(0, 500), ...uris, bulk };
  const findings: Finding[] = [];
  if (uris.https.length === 0 && uris.mailto.length === 0) {
    findings.push(
      MESSAGE.make('inbound.message.list_unsubscribe', 'fail', {
        summary: `List-Unsubscribe "${value.slice(0, 200)}" holds no https or mailto URI in angle brackets.`,
        remedy:
          'Write List-Unsubscribe: <https://example.com/unsub/…>, <mailto:unsub@example.com?subject=…> (RFC 2369 §3.2); http links are ignored by Gmail.',
        details,
      }),
    );
  } else {
    findings.push(
      MESSAGE.make('inbound.message.list_unsubscribe', uris.other.length ? 'warn' : 'pass', {
        summary:
          `List-Unsubscribe offers ${[...uris.https, ...uris.mailto].map((u) => u.slice(0, 120)).join(' and ')}` +
          (uris.other.length ? `, and ${uris.other.length} URI(s) that are neither https nor mailto.` : '.'),
        ...(uris.other.length ? { remedy: 'Use https (not http) and mailto URIs only.' } : {}),
        details,
      }),
    );
  }
  const oneClick = post !== undefined && /^\s*List-Unsubscribe=One-Click\s*$/i.test(post);
  if (!oneClick) {
    findings.push(
      MESSAGE.make('inbound.message.one_click', bulk.length > 0 || post !== undefined ? 'fail' : 'warn', {
        summary:
          post === undefined
            ? 'No List-Unsubscribe-Post: List-Unsubscribe=One-Click, so mailbox providers cannot unsubscribe in one click (RFC 8058).'
            : `List-Unsubscribe-Post is "${post.slice(0, 100)}", not "List-Unsubscribe=One-Click".`,
        remedy:
          'Add List-Unsubscribe-Post: List-Unsubscribe=One-Click with an https URI in List-Unsubscribe that unsubscribes on a POST, and sign both fields with DKIM.',
        details: { post: post?.slice(0, 200) ?? null },
      }),
    );
  } else if (uris.https.length === 0) {
    findings.push(
      MESSAGE.make('inbound.message.one_click', 'fail', {
        summary:
          'List-Unsubscribe-Post asks for one-click, but List-Unsubscribe has no https URI to POST to.',
        remedy: 'Add an https URI to List-Unsubscribe (RFC 8058 §3.1).',
        details: {},
      }),
    );
  } else if (ctx.dkimSignedHeaders === undefined) {
    findings.push(
      MESSAGE.make('inbound.message.one_click', 'info', {
        summary: 'One-click unsubscribe is offered; whether DKIM covers it could not be told.',
        details: {},
      }),
    );
  } else if (
    !ctx.dkimSignedHeaders.has('list-unsubscribe') ||
    !ctx.dkimSignedHeaders.has('list-unsubscribe-post')
  ) {
    findings.push(
      MESSAGE.make('inbound.message.one_click', 'fail', {
        summary:
          'One-click unsubscribe is offered, but no valid DKIM signature covers both List-Unsubscribe and List-Unsubscribe-Post (RFC 8058 §4 requires it).',
        remedy: 'Add list-unsubscribe and list-unsubscribe-post to the h= list of your DKIM signature.',
        details: {},
      }),
    );
  } else {
    findings.push(
      MESSAGE.make('inbound.message.one_click', 'pass', {
        summary:
          'One-click unsubscribe (RFC 8058): an https URI, List-Unsubscribe-Post, both signed by DKIM.',
        details: {},
      }),
    );
  }
  return findings;
}

/** The summary of a message for the report. */
export function summarizeMessage(m: ParsedMessage, size: number): MessageSummary {
  const from = field(m.headers, 'from');
  const boxes = from !== undefined ? parseMailboxes(from) : [];
  const summary: MessageSummary = {
    size,
    headers: m.headers
      .slice(0, 100)
      .map((h) => ({ name: h.name.slice(0, 100), value: h.value.slice(0, 1000) })),
    mime: m.mime,
    mimeProblems: m.mimeProblems,
    bulk: bulkIndicators(m),
  };
  if (from !== undefined) summary.from = displayValue(from).slice(0, 300);
  if (boxes.length === 1 && boxes[0]!.domain) summary.fromDomain = boxes[0]!.domain.slice(0, 255);
  const subject = field(m.headers, 'subject');
  if (subject !== undefined) summary.subject = displayValue(subject).slice(0, 300);
  const id = field(m.headers, 'message-id');
  if (id !== undefined) summary.messageId = id.slice(0, 300);
  const date = field(m.headers, 'date');
  if (date !== undefined) summary.date = date.slice(0, 100);
  const unsub = field(m.headers, 'list-unsubscribe');
  if (unsub !== undefined) {
    const uris = unsubscribeUris(unsub);
    summary.listUnsubscribe = {
      https: uris.https.map((u) => u.slice(0, 500)),
      mailto: uris.mailto.map((u) => u.slice(0, 500)),
      oneClick: /^\s*List-Unsubscribe=One-Click\s*$/i.test(field(m.headers, 'list-unsubscribe-post') ?? ''),
    };
  }
  return summary;
}

/** The findings about the message, in report order. */
export function evaluateMessage(m: ParsedMessage, ctx: MessageContext): Finding[] {
  return [
    headersFinding(m, ctx),
    fromFinding(m),
    messageIdFinding(m),
    dateFinding(m, ctx),
    subjectFinding(m),
    mimeFinding(m),
    alternativeFinding(m),
    ...unsubscribeFindings(m, ctx),
  ].filter((f): f is Finding => f !== undefined);
}
