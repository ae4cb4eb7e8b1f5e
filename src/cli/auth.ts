import type { Command } from 'commander';
import { colorEnabled, loadConfig } from '../config/index.js';
import { MAX_MESSAGE_BYTES, authenticateMessage } from '../auth/run.js';
import type { AuthReport } from '../auth/model.js';
import { ipFamily } from '../net/ip-family.js';
import type { Status } from '../report/model.js';
import { sortWorstFirst } from '../report/score.js';
import { collectResolver, durationFlag, engineOverrides } from './engine-flags.js';
import type { EngineFlags } from './engine-flags.js';
import { EXIT, UsageError } from './errors.js';
import { safeText } from './format.js';
import { readInputBytes } from './input.js';

/**
 * `mxdoctor auth message.eml`: what the receiving server would decide about a received
 * message — SPF, DKIM, ARC, DMARC and its disposition, BIMI — and whether the message's own
 * Authentication-Results agree (auth/run.ts). Exit status: 0 when no finding failed, 1 when
 * one did (DMARC would quarantine or reject it, a signature is broken…), 2 for usage errors.
 */

interface AuthFlags extends EngineFlags {
  ip?: string;
  json?: boolean;
}

const COLORS: Record<Status, string> = { pass: '32', warn: '33', fail: '31', info: '36', error: '35' };

export function formatAuth(report: AuthReport, color: boolean): string {
  const paint = (code: string, text: string): string => (color ? `\u001b[${code}m${text}\u001b[0m` : text);
  const e = report.envelope;
  const lines = [
    `${paint('1', 'Message')}: from ${safeText(report.message.from.join(', ') || '(no From)')}${report.message.subject ? `, "${safeText(report.message.subject)}"` : ''}`,
    `${paint('1', 'Envelope')}: client ${e.ip ?? '?'}, MAIL FROM <${safeText(e.mailFrom ?? '?')}>, HELO ${safeText(e.helo ?? '?')}`,
    `${paint('1', 'Verdict')}: ${paint(COLORS[report.verdict], report.verdict.toUpperCase())} — spf=${report.spf.result ?? 'not evaluated'}, dkim=${report.dkim.map((d) => `${d.result}(${d.domain})`).join(' ') || 'none'}, arc=${report.arc.result}, dmarc=${report.dmarc.result} (disposition ${report.dmarc.disposition}), bimi=${report.bimi.eligible ? 'eligible' : 'no'}`,
    '',
  ];
  for (const f of sortWorstFirst(report.findings)) {
    lines.push(
      `  ${paint(COLORS[f.status], f.status.toUpperCase().padEnd(5))} ${safeText(f.title)}: ${safeText(f.summary)}`,
    );
    if (f.remedy && (f.status === 'fail' || f.status === 'warn'))
      lines.push(`        Fix: ${safeText(f.remedy)}`);
  }
  return lines.join('\n') + '\n';
}

export function registerAuth(program: Command, setExit: (code: number) => void): void {
  program
    .command('auth')
    .description(
      'authenticate a received message as its receiver would: SPF, DKIM, ARC, DMARC (alignment and disposition), BIMI',
    )
    .argument('[file]', 'the message (.eml, headers and body); standard input when omitted or "-"')
    .option('--ip <address>', 'the client IP the receiver saw (default: from the trusted trace headers)')
    .option(
      '--mail-from <address>',
      'the envelope sender (default: from Received-SPF, Authentication-Results or Return-Path)',
    )
    .option('--helo <name>', 'the client’s HELO name (default: from the trace headers)')
    .option('--json', 'print the result as JSON')
    .option(
      '--resolver <ip[:port]>',
      'DNS resolver to use (repeatable; default: MXDOCTOR_RESOLVERS or /etc/resolv.conf)',
      collectResolver,
    )
    .option(
      '--dns-timeout <duration>',
      'timeout of one DNS query attempt (MXDOCTOR_DNS_TIMEOUT)',
      durationFlag('--dns-timeout'),
    )
    .option('--timeout <duration>', 'overall deadline (MXDOCTOR_CHECK_DEADLINE)', durationFlag('--timeout'))
    .addHelpText(
      'after',
      `
The envelope comes from the headers the receiving system wrote itself: those above and at the
Received header of the hop that accepted the message from a public address, and the
Received-SPF and Authentication-Results right below it. Headers lower down were written by
earlier hops or the sender and are not trusted.

Exit codes: 0 no finding failed; 1 at least one failed; 2 usage or input error; 3 internal error.

Examples:
  mxdoctor auth message.eml
  mxdoctor auth message.eml --ip 192.0.2.25 --mail-from bounces@example.com --json`,
    )
    .action(async (file: string | undefined, flags: AuthFlags) => {
      if (flags.ip !== undefined && !ipFamily(flags.ip.trim()))
        throw new UsageError(`--ip ${JSON.stringify(flags.ip)} is not an IPv4 or IPv6 address`);
      const config = loadConfig(
        undefined,
        engineOverrides({ ...flags, helo: undefined, mailFrom: undefined }),
      );
      const bytes = await readInputBytes(file ?? '-', MAX_MESSAGE_BYTES, 'the message');
      if (!/^[\x21-\x39\x3b-\x7e]+:/m.test(bytes.subarray(0, 64 * 1024).toString('latin1')))
        throw new UsageError(
          'the input has no header fields: give the whole message as received (headers and body)',
        );
      const report = await authenticateMessage(
        bytes,
        {
          ...(flags.ip ? { ip: flags.ip.trim() } : {}),
          ...(flags.mailFrom !== undefined ? { mailFrom: flags.mailFrom.trim() } : {}),
          ...(flags.helo ? { helo: flags.helo.trim() } : {}),
        },
        { config },
      );
      process.stdout.write(
        flags.json
          ? JSON.stringify(report, null, 2) + '\n'
          : formatAuth(report, colorEnabled(process.stdout)),
      );
      setExit(report.verdict === 'fail' ? EXIT.fail : EXIT.ok);
    });
}
