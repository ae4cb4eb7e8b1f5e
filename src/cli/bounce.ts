import { open, stat } from 'node:fs/promises';
import type { Command } from 'commander';
import { BOUNCE_ACCEPTS, BounceInputError } from '../bounce/errors.js';
import type { Config, ConfigOverrides } from '../config/index.js';
import { colorEnabled } from '../config/environment.js';
import { collectDnsbl, collectResolver, durationFlag, engineOverrides, portFlag } from './engine-flags.js';
import type { EngineFlags } from './engine-flags.js';
import { EXIT, UsageError } from './errors.js';

interface BounceFlags extends EngineFlags {
  json?: boolean;
  mailbox?: boolean;
  followup?: boolean;
  smtp?: boolean;
  dnsbl?: string[];
  verbose?: boolean;
}

/** Reads a file or standard input, refusing (without reading on) anything over `max` bytes. */
export async function readInput(file: string | undefined, max: number): Promise<Buffer> {
  const tooLarge = (size: string): BounceInputError =>
    new BounceInputError(
      'too_large',
      `The input is ${size}, more than the limit of ${Math.round(max / 1024)} KiB (MXDOCTOR_BOUNCE_MAX_SIZE). Give the bounce message itself.`,
    );
  if (file && file !== '-') {
    let size: number;
    try {
      const s = await stat(file);
      if (!s.isFile()) throw new UsageError(`${file} is not a file. ${BOUNCE_ACCEPTS}`);
      size = s.size;
    } catch (err) {
      if (err instanceof UsageError) throw err;
      throw new UsageError(
        `cannot read ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`,
      );
    }
    if (size > max) throw tooLarge(`${Math.round(size / 1024)} KiB`);
    const handle = await open(file, 'r');
    try {
      const buf = Buffer.alloc(Math.min(size, max) + 1);
      const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
      if (bytesRead > max) throw tooLarge('larger than that');
      return buf.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
  }
  if (process.stdin.isTTY) {
    throw new UsageError(`no input: give a file, or pipe the bounce into standard input. ${BOUNCE_ACCEPTS}`);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of process.stdin) {
    const b = chunk as Buffer;
    total += b.length;
    if (total > max) {
      process.stdin.destroy();
      throw tooLarge('larger than that');
    }
    chunks.push(b);
  }
  return Buffer.concat(chunks);
}

/** Whether a path names a folder (a mailbox); false for files, "-" and paths that do not exist. */
async function isFolder(path: string | undefined): Promise<boolean> {
  if (path === undefined || path === '-') return false;
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/**
 * What a bounce run reads of the configuration: the size limit of a message and, when the
 * follow-up checks run, the whole configuration they run with (null when they do not).
 *
 * Without follow-ups the run reads one setting, MXDOCTOR_BOUNCE_MAX_SIZE. When that variable
 * is unset and no flag is given, the limit is its default, taken without loading the
 * configuration: its declarations build a zod schema for every setting, and with zod itself
 * (which the parser does not load) they cost some 90 ms of CPU, a third of a one-message
 * run, to read a constant. Settings such a run never reads (a DNS timeout, the web port, the
 * host name the probe would announce) then no longer stop it. Otherwise the configuration is
 * loaded and validated whole, as every command loads it: the limit is parsed and checked by
 * its declaration, and a wrong value elsewhere is reported at once.
 */
async function bounceSettings(
  flags: BounceFlags,
  followup: boolean,
): Promise<{ maxBytes: number; followupConfig: Config | null }> {
  const overrides: ConfigOverrides = {
    ...engineOverrides(flags),
    dnsbl: flags.dnsbl ? { zones: [...new Set(flags.dnsbl)] } : {},
  };
  const flagGiven = Object.values(overrides).some((group) => Object.keys(group ?? {}).length > 0);
  // Loaded only now, like the parser: `mxdoctor bounce --help` and usage errors need neither.
  if (!followup && !flagGiven) {
    const unset = (await import('../config/bounce-size.js')).unsetBounceMaxBytes();
    if (unset !== undefined) return { maxBytes: unset, followupConfig: null };
  }
  const { loadConfig } = await import('../config/index.js');
  const config = loadConfig(undefined, overrides);
  return { maxBytes: config.bounce.maxBytes, followupConfig: followup ? config : null };
}

// Long on purpose: the declaration of one commander command — its options, help text and
// action — reads best as the one chained expression users see in `mxdoctor bounce --help`.
export function registerBounce(program: Command, setExit: (code: number) => void): void {
  program
    .command('bounce')
    .description('diagnose a bounce: any non-delivery report, DSN or SMTP error reply')
    .argument(
      '[files...]',
      'the bounce message (.eml) or its text; standard input when omitted or "-". Several files, folders (a Maildir, a folder of .eml files) and mboxes: every message in them',
    )
    .option(
      '--json',
      'print the diagnosis as JSON (docs/bounce.schema.json), nothing else; for a mailbox, one JSON object per line and message',
    )
    .option(
      '--mailbox',
      'read even a single file or standard input as a mailbox: every message of an mbox diagnosed on its own',
    )
    .option('--followup', 'run the follow-up checks for a mailbox too (off there by default)')
    .option('--no-followup', 'only parse and classify; run no follow-up checks')
    .option('--no-smtp', 'run only the DNS follow-ups; never connect to mail servers')
    .option(
      '--resolver <ip[:port]>',
      'DNS resolver for follow-up checks (repeatable; default: MXDOCTOR_RESOLVERS or /etc/resolv.conf)',
      collectResolver,
    )
    .option('--allow-private', 'allow loopback, private and reserved addresses (MXDOCTOR_ALLOW_PRIVATE)')
    .option(
      '--timeout <duration>',
      'deadline for the follow-up checks, e.g. 60s (MXDOCTOR_CHECK_DEADLINE)',
      durationFlag('--timeout'),
    )
    .option(
      '--dns-timeout <duration>',
      'timeout of one DNS query attempt, e.g. 3s (MXDOCTOR_DNS_TIMEOUT)',
      durationFlag('--dns-timeout'),
    )
    .option(
      '--port <port>',
      'SMTP port of the follow-ups that connect (MXDOCTOR_SMTP_PORT; default 25)',
      portFlag,
    )
    .option('--helo <name>', 'EHLO name of those connections (MXDOCTOR_EHLO_NAME)')
    .option('--mail-from <address>', 'MAIL FROM address of the recipient check (MXDOCTOR_MAIL_FROM)')
    .option(
      '--ca-file <pem>',
      'extra trusted CA certificates (PEM) for the STARTTLS check (MXDOCTOR_CA_FILE)',
    )
    .option(
      '--dnsbl <zone>',
      'IP blocklist zone for the sending-IP follow-up, instead of the default list (repeatable; MXDOCTOR_DNSBLS)',
      collectDnsbl,
    )
    .option('-v, --verbose', 'show the evidence behind each verdict, DSN fields and the Received chain')
    .addHelpText(
      'after',
      `
Exit codes: 0 diagnosed (whatever the bounce says); 2 unusable input (empty, binary, too large, not a
bounce) or usage error; 3 internal error.

A mailbox (several files, a folder, or --mailbox): a folder is read as a Maildir when it has cur/ or
new/ (their files), else its files (folders inside are not searched); a file whose first line is an
mbox "From " line is split into its messages. --json prints one line per message:
{"file", "message" (its number in an mbox, from 1), "diagnosis"} or {"file", "message", "error":
{"code", "message"}} for a message that cannot be used; without --json, one line per message and a
table of the recipients by reason (hard and soft). The run goes on past unusable messages. Follow-up
checks are off for a mailbox unless --followup is given (then 4 messages at a time). Exit codes: 0
every message diagnosed; 1 some could not be used (said on their lines), the others were; 2 none
could be used, no message found, or usage error; 3 internal error (on some message's line).

Examples:
  mxdoctor bounce bounce.eml
  pbpaste | mxdoctor bounce --no-followup
  echo '550 5.7.26 This mail has been blocked because the sender is unauthenticated' | mxdoctor bounce
  mxdoctor bounce bounce.eml --json --resolver 9.9.9.9
  mxdoctor bounce bounce.eml --no-smtp --dnsbl zen.spamhaus.org
  mxdoctor bounce ~/Maildir/.Bounces --json > diagnoses.jsonl
  mxdoctor bounce bounces/*.eml
  mxdoctor bounce --mailbox /var/mail/bounces`,
    )
    .action(async (files: string[], flags: BounceFlags) => {
      const mailbox = flags.mailbox || files.length > 1 || (await isFolder(files[0]));
      // Follow-ups are off for a mailbox unless asked for, on for one message unless refused.
      const followup = mailbox ? flags.followup === true : flags.followup !== false;
      const { maxBytes, followupConfig } = await bounceSettings(flags, followup);
      if (mailbox) {
        if (files.filter((f) => f === '-').length > 1)
          throw new UsageError('standard input ("-") can be given only once');
        if ((files.length === 0 || files.includes('-')) && process.stdin.isTTY)
          throw new UsageError(`no input: give files or folders, or pipe an mbox into standard input.`);
        if (flags.followup === undefined)
          process.stderr.write(
            'mxdoctor: follow-up checks are off for a mailbox (each would query DNS and mail servers); add --followup to run them\n',
          );
        const { runMailbox } = await import('./bounce-mailbox.js');
        const code = await runMailbox(files, {
          maxBytes,
          ...(followupConfig ? { followups: { config: followupConfig, smtp: flags.smtp !== false } } : {}),
          json: Boolean(flags.json),
          color: colorEnabled(process.stdout),
          verbose: Boolean(flags.verbose),
        });
        setExit(code);
        return;
      }
      const file = files[0];
      let diagnosis;
      // The parser loads while the input is read, not at start-up: the MIME parser would cost
      // every other command its start time. The parser itself, not bounce/index.js, whose
      // model loads zod and the diagnosis's schemas.
      const parser = import('../bounce/diagnose.js');
      parser.catch(() => undefined);
      try {
        const input = await readInput(file, maxBytes);
        const { diagnoseBounce } = await parser;
        diagnosis = await diagnoseBounce(input, { maxBytes });
      } catch (err) {
        if (err instanceof BounceInputError) throw new UsageError(err.message);
        throw err;
      }
      if (followupConfig) {
        const { runFollowups } = await import('../bounce/followups/index.js');
        diagnosis = await runFollowups(diagnosis, { config: followupConfig, smtp: flags.smtp !== false });
      }
      if (flags.json) process.stdout.write(JSON.stringify(diagnosis, null, 2) + '\n');
      else {
        const { formatDiagnosis } = await import('./format-bounce.js');
        process.stdout.write(
          formatDiagnosis(diagnosis, {
            color: colorEnabled(process.stdout),
            verbose: Boolean(flags.verbose),
          }),
        );
      }
      setExit(EXIT.ok);
    });
}
