import type { Command } from 'commander';
import { colorEnabled, loadConfig } from '../config/index.js';
import { listLines } from '../input/list.js';
import { csvField } from '../report/bulk.js';
import { bulkSharing } from '../checks/bulk.js';
import { verifyAddresses, verifyOptions } from '../verify/run.js';
import type { Verification, VerifyResult } from '../verify/model.js';
import { collectResolver, durationFlag, engineOverrides, portFlag } from './engine-flags.js';
import type { EngineFlags } from './engine-flags.js';
import { concurrencyFlag } from './list-flags.js';
import { EXIT, UsageError } from './errors.js';
import { safeText } from './format.js';
import { readTextInput } from './input.js';
import { ProgressBar, duration } from './progress.js';

/**
 * `mxdoctor verify addr… | --file list`: whether addresses can receive mail, by RCPT TO on
 * their domains' MX hosts (verify/run.ts), never sending anything. Prints a table, the whole
 * result as JSON, or CSV. Exit status: 0 when no address is undeliverable, 1 when one is,
 * 2 for usage or input errors.
 */

interface VerifyFlags extends EngineFlags {
  file?: string;
  json?: boolean;
  csv?: boolean;
  concurrency?: number;
  greylistRetry?: number;
}

export const VERIFY_CSV_HEADER = [
  'input',
  'address',
  'verdict',
  'reason',
  'catch_all',
  'role',
  'disposable',
  'mx_host',
  'mx_address',
  'reply_code',
  'reply',
  'explanation',
];

export function verifyCsvLine(r: VerifyResult): string {
  return [
    r.input,
    r.address,
    r.verdict,
    r.reason,
    r.flags.catchAll,
    r.flags.role,
    r.flags.disposable,
    r.mx?.host,
    r.mx?.address,
    r.reply?.code,
    r.reply?.lines.join(' / '),
    r.explanation,
  ]
    .map(csvField)
    .join(',');
}

const PAINT: Record<VerifyResult['verdict'], string> = {
  deliverable: '32',
  undeliverable: '31',
  risky: '33',
  unknown: '35',
};

export function formatVerification(v: Verification, color: boolean): string {
  const paint = (code: string, text: string): string => (color ? `\u001b[${code}m${text}\u001b[0m` : text);
  const width = Math.min(48, Math.max(7, ...v.results.map((r) => r.input.length)));
  const lines = [`${'ADDRESS'.padEnd(width)}  ${'VERDICT'.padEnd(13)}  ${'REASON'.padEnd(16)}  EXPLANATION`];
  for (const r of v.results) {
    const input = r.input.length > width ? `${r.input.slice(0, width - 1)}…` : r.input;
    lines.push(
      `${safeText(input).padEnd(width)}  ${paint(PAINT[r.verdict], r.verdict.padEnd(13))}  ${r.reason.padEnd(16)}  ${safeText(r.explanation)}`,
    );
  }
  const c = v.counts;
  const sessions = v.mx.reduce((n, m) => n + m.sessions, 0);
  lines.push(
    '',
    `${v.results.length} address${v.results.length === 1 ? '' : 'es'} in ${duration(v.durationMs)}: ${c.deliverable} deliverable, ${c.undeliverable} undeliverable, ${c.risky} risky, ${c.unknown} unknown`,
    `SMTP: ${sessions} session${sessions === 1 ? '' : 's'} to ${v.mx.length} MX address${v.mx.length === 1 ? '' : 'es'}, nothing sent (RCPT TO only)`,
  );
  for (const m of v.mx.filter((x) => x.stopped))
    lines.push(`Stopped asking ${m.host} [${m.address}]: ${safeText(m.stopped!)}`);
  for (const d of v.domains.filter((x) => x.catchAll === 'yes'))
    lines.push(`${d.domain} accepts every address (catch-all): its addresses are "risky"`);
  return lines.join('\n') + '\n';
}

export function registerVerify(program: Command, setExit: (code: number) => void): void {
  program
    .command('verify')
    .description(
      'verify whether addresses can receive mail: syntax, the domain’s MX, then RCPT TO on the MX (nothing is ever sent)',
    )
    .argument('[address...]', 'email addresses to verify')
    .option('--file <list>', 'verify the addresses of a list: one a line, # comments, "-" for standard input')
    .option('--json', 'print the whole result as JSON')
    .option(
      '--csv',
      'print CSV: input, address, verdict, reason, flags, the MX that answered, its reply, explanation',
    )
    .option(
      '--concurrency <n>',
      'sessions to different MX addresses at the same time (default 8)',
      concurrencyFlag,
    )
    .option(
      '--greylist-retry <duration>',
      'ask greylisted addresses again after this delay, e.g. 5m (MXDOCTOR_GREYLIST_RETRY; default: no retry)',
      durationFlag('--greylist-retry'),
    )
    .option(
      '--resolver <ip[:port]>',
      'DNS resolver to use (repeatable; default: MXDOCTOR_RESOLVERS or /etc/resolv.conf)',
      collectResolver,
    )
    .option('--allow-private', 'allow loopback, private and reserved addresses (MXDOCTOR_ALLOW_PRIVATE)')
    .option(
      '--dns-timeout <duration>',
      'timeout of one DNS query attempt (MXDOCTOR_DNS_TIMEOUT)',
      durationFlag('--dns-timeout'),
    )
    .option('--port <port>', 'SMTP port to probe (MXDOCTOR_SMTP_PORT; default 25)', portFlag)
    .option('--helo <name>', 'name the probe announces in EHLO (MXDOCTOR_EHLO_NAME)')
    .option('--mail-from <address>', 'envelope sender of the probe (MXDOCTOR_MAIL_FROM)')
    .option('--ca-file <pem>', 'also trust the CA certificates in this PEM file (MXDOCTOR_CA_FILE)')
    .addHelpText(
      'after',
      `
Verdicts: deliverable (the MX accepted it); undeliverable (bad syntax, no such domain, null or
no MX, or the MX refused the recipient); risky (accepted, but the domain accepts every address,
or a role account, a disposable domain, a full mailbox); unknown (greylisted, the probe refused,
the server stopped answering the probe — never read as undeliverable).

Politeness: one session at a time per MX address (MXDOCTOR_SMTP_PER_ADDRESS, MXDOCTOR_SMTP_RATE_PER_IP),
at most MXDOCTOR_VERIFY_RCPTS_PER_SESSION recipients a session, MXDOCTOR_VERIFY_DOMAIN_RATE per
domain; an MX that refuses the probe is not asked again in the run.

Exit codes: 0 no address undeliverable; 1 at least one undeliverable; 2 usage or input error; 3 internal error.

Examples:
  mxdoctor verify alice@example.com bob@example.org
  mxdoctor verify --file subscribers.txt --csv > verified.csv`,
    )
    .action(async (addresses: string[], flags: VerifyFlags) => {
      if (flags.json && flags.csv)
        throw new UsageError('--json and --csv cannot be combined; choose one output');
      if (flags.file !== undefined && addresses.length > 0)
        throw new UsageError('give either addresses or --file with a list, not both');
      const config = loadConfig(undefined, engineOverrides(flags));
      let inputs = addresses;
      if (flags.file !== undefined) {
        const source = flags.file === '-' ? 'standard input' : flags.file;
        const text = await readTextInput(flags.file, 32 * 1024 * 1024, 'the list');
        const list = listLines(text, { maxEntries: config.verify.maxAddresses, maxLineLength: 1024 });
        for (const bad of list.invalid)
          process.stderr.write(`mxdoctor: ${source}:${bad.line}: ${safeText(bad.error)}\n`);
        inputs = list.entries.map((e) => e.text);
        if (inputs.length === 0) throw new UsageError(`${source} names no address to verify`);
      }
      if (inputs.length === 0)
        throw new UsageError("missing required argument 'address' (or give --file with a list of addresses)");
      if (inputs.length > config.verify.maxAddresses)
        throw new UsageError(
          `${inputs.length} addresses is more than ${config.verify.maxAddresses} (MXDOCTOR_VERIFY_MAX_ADDRESSES); split the list`,
        );
      const services = bulkSharing(config);
      const bar = new ProgressBar(process.stderr, inputs.length, 'addresses');
      const controller = new AbortController();
      const onSigint = (): void => controller.abort(new Error('interrupted'));
      process.once('SIGINT', onSigint);
      let result: Verification;
      try {
        result = await verifyAddresses(
          inputs,
          verifyOptions(config, {
            ...(flags.concurrency !== undefined ? { concurrency: flags.concurrency } : {}),
            ...(flags.greylistRetry !== undefined ? { greylistRetryMs: flags.greylistRetry } : {}),
          }),
          {
            config,
            services,
            signal: controller.signal,
            onProgress: (done) => bar.update(done, 0, 0),
            onWarning: (m) => process.stderr.write(`mxdoctor: ${m}\n`),
          },
        );
      } finally {
        process.removeListener('SIGINT', onSigint);
        bar.clear();
      }
      if (flags.json) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
      else if (flags.csv)
        process.stdout.write(
          [VERIFY_CSV_HEADER.join(','), ...result.results.map(verifyCsvLine)].join('\n') + '\n',
        );
      else process.stdout.write(formatVerification(result, colorEnabled(process.stdout)));
      setExit(result.counts.undeliverable > 0 ? EXIT.fail : EXIT.ok);
    });
}
