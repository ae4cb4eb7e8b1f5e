import { connect } from 'node:net';
import { z } from 'zod';
import { defineFindings, list } from '../checks/findings.js';
import { abortReason, withDeadline } from '../net/deadline.js';
import { describeError } from '../net/errors.js';
import type { Finding } from '../report/model.js';
import type { Delivery } from './model.js';

/**
 * A spam filter's opinion: SpamAssassin's spamd, asked over its TCP protocol (SPAMC/1.5, as
 * spamc speaks it: one request per connection) for SYMBOLS (the rules that hit) and REPORT
 * (their points and descriptions). Under one deadline, reading at most 256 KiB of answer.
 * The parsers are pure; `askSpamd` is the I/O.
 */
export const SPAM = defineFindings('inbound', {
  'inbound.spam.score': {
    title: 'Spam filter score',
    statuses: ['pass', 'warn', 'fail', 'info', 'error'],
    meaning:
      "SpamAssassin's score of the message (MXDOCTOR_SPAMD) below half its threshold; at or above the threshold most set-ups file or refuse the message.",
  },
});

export const SpamRuleSchema = z.object({ name: z.string(), score: z.number(), description: z.string() });
export type SpamRule = z.infer<typeof SpamRuleSchema>;

export const SpamDataSchema = z.object({
  server: z.string(),
  isSpam: z.boolean(),
  score: z.number(),
  threshold: z.number(),
  rules: z.array(SpamRuleSchema).describe('Rules that hit, highest score first'),
});
export type SpamData = z.infer<typeof SpamDataSchema>;

/** Largest message sent to spamd (spamc's default limit is 500 KB; bigger mail is rarely scanned). */
export const SPAMD_MAX_MESSAGE = 2 * 1024 * 1024;
const MAX_ANSWER = 256 * 1024;

export interface SpamdAnswer {
  code: number;
  message: string;
  headers: Record<string, string>;
  body: string;
}

/** "SPAMD/1.1 0 EX_OK\r\nHeader: v\r\n\r\nbody" → its parts; undefined when it is not one. */
export function parseSpamdAnswer(text: string): SpamdAnswer | undefined {
  const end = text.indexOf('\r\n\r\n');
  const head = end < 0 ? text : text.slice(0, end);
  const lines = head.split('\r\n');
  const status = /^SPAMD\/\d+\.\d+ (\d+) (.*)$/.exec(lines[0] ?? '');
  if (!status) return undefined;
  const headers: Record<string, string> = {};
  for (const l of lines.slice(1, 50)) {
    const colon = l.indexOf(':');
    if (colon > 0) headers[l.slice(0, colon).trim().toLowerCase()] = l.slice(colon + 1).trim();
  }
  return {
    code: Number(status[1]),
    message: status[2]!.slice(0, 200),
    headers,
    body: end < 0 ? '' : text.slice(end + 4),
  };
}

/** "True ; 7.2 / 5.0" → verdict, score and threshold. */
export function parseSpamHeader(
  value: string | undefined,
): { isSpam: boolean; score: number; threshold: number } | undefined {
  const m = /^\s*(True|False|Yes|No)\s*;\s*(-?\d+(?:\.\d+)?)\s*\/\s*(-?\d+(?:\.\d+)?)\s*$/i.exec(value ?? '');
  if (!m) return undefined;
  return { isSpam: /^(true|yes)$/i.test(m[1]!), score: Number(m[2]), threshold: Number(m[3]) };
}

/** The rule table of a REPORT body: " pts rule name description" rows, descriptions continued on indented lines. */
export function parseReportRules(body: string): SpamRule[] {
  const rules: SpamRule[] = [];
  let inTable = false;
  for (const line of body.split(/\r?\n/)) {
    if (/^-{3,}\s+-{3,}/.test(line.trim())) {
      inTable = true;
      continue;
    }
    if (!inTable) continue;
    const row = /^ *(-?\d+(?:\.\d+)?) +([A-Z0-9_]{1,60})(?: +(\S.*))?$/.exec(line.slice(0, 1000));
    if (row) {
      if (rules.length < 200)
        rules.push({
          score: Number(row[1]),
          name: row[2]!,
          description: (row[3] ?? '').trim().slice(0, 300),
        });
      continue;
    }
    const more = /^\s{10,}(\S.*)$/.exec(line.slice(0, 1000));
    const last = rules[rules.length - 1];
    if (more && last && last.description.length < 300)
      last.description = `${last.description} ${more[1]!.trim()}`.slice(0, 300);
    else if (line.trim() === '') inTable = rules.length === 0;
  }
  return rules;
}

/** One spamd request: sends `command` with the message, reads the whole answer (bounded). */
function request(
  address: { host: string; port: number },
  command: 'SYMBOLS' | 'REPORT',
  message: Buffer,
  signal: AbortSignal,
): Promise<string> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(abortReason(signal));
    const socket = connect({ host: address.host, port: address.port });
    const chunks: Buffer[] = [];
    let size = 0;
    const onAbort = (): void => {
      socket.destroy();
      reject(abortReason(signal));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    const done = (err?: Error): void => {
      signal.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve(Buffer.concat(chunks).toString('utf8'));
    };
    socket.on('connect', () => {
      socket.write(`${command} SPAMC/1.5\r\nContent-length: ${message.length}\r\nUser: mxdoctor\r\n\r\n`);
      socket.write(message);
      // spamd reads to Content-length; half-closing tells older versions the message is complete.
      socket.end();
    });
    socket.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_ANSWER) {
        socket.destroy();
        done(new Error(`spamd answered more than ${MAX_ANSWER} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    socket.on('error', (err) => done(err));
    socket.on('close', () => done());
  });
}

/** Asks spamd about a message: SYMBOLS, then REPORT, under one deadline. Throws when spamd cannot answer. */
export async function askSpamd(
  address: { host: string; port: number },
  message: Buffer,
  options: { timeoutMs: number; signal: AbortSignal },
): Promise<SpamData> {
  return withDeadline(options.signal, options.timeoutMs, 'spamd', async (signal) => {
    const server = `${address.host}:${address.port}`;
    const answers: SpamdAnswer[] = [];
    for (const command of ['SYMBOLS', 'REPORT'] as const) {
      const text = await request(address, command, message, signal);
      const answer = parseSpamdAnswer(text);
      if (!answer)
        throw new Error(
          `${server} did not answer like spamd ("${text.slice(0, 60).replace(/[\r\n]+/g, ' ')}")`,
        );
      if (answer.code !== 0) throw new Error(`spamd refused ${command}: ${answer.code} ${answer.message}`);
      answers.push(answer);
    }
    const [symbols, report] = answers as [SpamdAnswer, SpamdAnswer];
    const verdict = parseSpamHeader(report.headers.spam) ?? parseSpamHeader(symbols.headers.spam);
    if (!verdict) throw new Error('spamd answered without a Spam: header');
    const names = symbols.body
      .split(',')
      .map((s) => s.trim())
      .filter((s) => /^[A-Z0-9_]{1,60}$/.test(s))
      .slice(0, 200);
    const table = parseReportRules(report.body);
    const rules = names.map(
      (name) => table.find((r) => r.name === name) ?? { name, score: 0, description: '' },
    );
    for (const r of table) if (!names.includes(r.name)) rules.push(r);
    rules.sort((a, b) => b.score - a.score);
    return { server, ...verdict, rules };
  });
}

/**
 * The Received field a receiving MTA adds before its content filter sees the message, in
 * Postfix's form (which SpamAssassin's relay parser knows). Without it SpamAssassin finds no
 * relay (NO_RECEIVED, NO_RELAYS) and its rules about the sending IP, its reverse DNS, the HELO
 * name and SPF have nothing to judge. `rdns` is the forward-confirmed reverse name, as
 * Postfix writes it ("unknown" otherwise).
 */
export function receivedField(d: Delivery, o: { by: string; rdns?: string | undefined }): string {
  const c = d.connection;
  // Recorded client text is bounded and visible already; a field must still hold no line break.
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is replaced
  const clean = (text: string): string => text.replace(/[\x00-\x1f\x7f]/g, '?');
  const ip = c.remoteAddress.includes(':') ? `IPv6:${c.remoteAddress}` : c.remoteAddress;
  const helo = c.helo ? clean(c.helo.name) : 'unknown';
  const protocol = (c.helo?.command === 'HELO' ? 'SMTP' : 'ESMTP') + (c.tls.used ? 'S' : '');
  const at = new Date(d.envelope.receivedAt).toUTCString().replace(/GMT$/, '+0000 (UTC)');
  return [
    `Received: from ${helo} (${clean(o.rdns ?? 'unknown')} [${ip}])`,
    ...(c.tls.used
      ? [`\t(using ${clean(c.tls.protocol ?? 'TLS')} with cipher ${clean(c.tls.cipher ?? 'unknown')})`]
      : []),
    `\tby ${clean(o.by)} (mxdoctor) with ${protocol} id ${clean(c.sessionId)}`,
    `\tfor <${clean(d.envelope.rcptTo)}>; ${at}`,
    '',
  ].join('\r\n');
}

export type SpamOutcome = { data: SpamData } | { error: string } | { skipped: string };

export async function spamOpinion(
  address: { host: string; port: number } | undefined,
  message: Buffer,
  options: { timeoutMs: number; signal: AbortSignal },
): Promise<SpamOutcome> {
  if (!address) return { skipped: 'no spam filter is configured (MXDOCTOR_SPAMD)' };
  if (message.length > SPAMD_MAX_MESSAGE)
    return {
      skipped: `the message is larger than the ${SPAMD_MAX_MESSAGE / 1024 / 1024} MiB sent to the spam filter`,
    };
  try {
    return { data: await askSpamd(address, message, options) };
  } catch (err) {
    if (options.signal.aborted) throw abortReason(options.signal);
    return { error: describeError(err) };
  }
}

export function evaluateSpam(outcome: SpamOutcome): Finding {
  if ('skipped' in outcome) {
    return SPAM.make('inbound.spam.score', 'info', {
      summary: `No spam-filter opinion: ${outcome.skipped}.`,
      details: {},
    });
  }
  if ('error' in outcome) {
    return SPAM.make('inbound.spam.score', 'error', {
      summary: `The spam filter could not be asked: ${outcome.error}.`,
      details: {},
    });
  }
  const d = outcome.data;
  const top = d.rules.filter((r) => r.score > 0).slice(0, 5);
  const hits = top.length
    ? ` The rules that cost most: ${list(top.map((r) => `${r.name} (${r.score})`))}.`
    : '';
  const details = { ...d };
  if (d.isSpam || d.score >= d.threshold) {
    return SPAM.make('inbound.spam.score', 'fail', {
      summary: `SpamAssassin scores the message ${d.score} (threshold ${d.threshold}): spam.${hits}`,
      remedy:
        'Fix what the rules with the highest scores point at: authentication (SPF, DKIM, DMARC), blocklisted IPs or links, HTML-only or image-only content, missing headers.',
      details,
    });
  }
  if (d.score >= d.threshold / 2) {
    return SPAM.make('inbound.spam.score', 'warn', {
      summary: `SpamAssassin scores the message ${d.score} (threshold ${d.threshold}): not spam, but close enough that other filters may disagree.${hits}`,
      remedy: 'Look at the rules that add most points and remove their cause.',
      details,
    });
  }
  return SPAM.make('inbound.spam.score', 'pass', {
    summary: `SpamAssassin scores the message ${d.score} (threshold ${d.threshold}).${hits}`,
    details,
  });
}
