import type { Command } from 'commander';
import { colorEnabled } from '../config/environment.js';
import { isValidSelector } from '../dkim/record.js';
import { parseVerifyAddress } from '../input/address.js';
import { normalizeDomain } from '../input/domain.js';
import type { NormalizedDomain } from '../input/domain.js';
import { DEFAULT_CHECK_OPTIONS } from '../report/check-options.js';
import type { CheckOptions } from '../report/model.js';
import { collectDnsbl, collectResolver, durationFlag, engineOverrides, portFlag } from './engine-flags.js';
import type { EngineFlags } from './engine-flags.js';
import { EXIT, UsageError } from './errors.js';
import { DEFAULT_CONCURRENCY, concurrencyFlag } from './list-flags.js';

interface CheckFlags extends EngineFlags {
  json?: boolean;
  file?: string;
  concurrency?: number;
  unordered?: boolean;
  csv?: boolean;
  verbose?: boolean;
  verify?: string[];
  smtp?: boolean;
  greylistRetry?: number;
  dkimSelector?: string[];
  dnsbl?: string[];
  nagios?: boolean;
  tls?: 'light' | 'deep';
  submission?: boolean;
}

function tlsFlag(value: string): 'light' | 'deep' {
  const v = value.trim().toLowerCase();
  if (v !== 'light' && v !== 'deep')
    throw new UsageError(
      `--tls ${JSON.stringify(value)}: give "deep" (scan cipher suites and more) or "light"`,
    );
  return v;
}

function collectSelector(value: string, previous: string[] = []): string[] {
  const s = value.trim().toLowerCase();
  if (!isValidSelector(s)) {
    throw new UsageError(
      `--dkim-selector ${JSON.stringify(value)} is not a DKIM selector; give the s= value of a DKIM-Signature header, e.g. selector1 or s2024.mail`,
    );
  }
  return [...previous, s];
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** --verify addresses: well-formed, at the checked domain, normalised (domain in ASCII, lower case). */
export function normalizeVerify(addresses: readonly string[], domain: NormalizedDomain): string[] {
  const out: string[] = [];
  for (const raw of addresses) {
    const v = parseVerifyAddress(raw, domain);
    if (!v.ok) throw new UsageError(`--verify ${v.problem}`);
    if (!out.includes(v.address)) out.push(v.address);
  }
  if (out.length > 50)
    throw new UsageError(`--verify was given ${out.length} times; at most 50 addresses per check`);
  return out;
}

// Long on purpose: the declaration of one commander command — its options, help text and
// action — reads best as the one chained expression users see in `mxdoctor check --help`.
export function registerCheck(program: Command, setExit: (code: number) => void): void {
  program
    .command('check')
    .description(
      "check a domain's mail setup: MX, the MX servers over SMTP and TLS, SPF, DMARC, DKIM, MTA-STS, TLS-RPT, BIMI, DANE, DNSSEC, reverse DNS and blocklists",
    )
    .argument('[domain]', 'domain name, IDN, or email address (its domain is checked)')
    .option(
      '--json',
      'print the report as JSON (exactly the report, nothing else); with --file, JSON Lines: one report a line',
    )
    .option(
      '--file <list>',
      'check every domain of a list instead: one domain or address a line, # comments, "-" for standard input',
    )
    .option(
      '--concurrency <n>',
      `with --file: domains checked at the same time (default ${DEFAULT_CONCURRENCY})`,
      concurrencyFlag,
    )
    .option('--unordered', 'with --file: print each result as it finishes, not in the order of the list')
    .option(
      '--csv',
      'with --file: print CSV (line, domain, verdict, score, counts, one column per area, worst problem)',
    )
    .option(
      '--resolver <ip[:port]>',
      'DNS resolver to use (repeatable; default: MXDOCTOR_RESOLVERS or /etc/resolv.conf)',
      collectResolver,
    )
    .option(
      '--allow-private',
      'allow connecting to loopback, private and reserved addresses (MXDOCTOR_ALLOW_PRIVATE)',
    )
    .option(
      '--timeout <duration>',
      'overall deadline, e.g. 120s (MXDOCTOR_CHECK_DEADLINE)',
      durationFlag('--timeout'),
    )
    .option(
      '--dns-timeout <duration>',
      'timeout of one DNS query attempt, e.g. 3s (MXDOCTOR_DNS_TIMEOUT)',
      durationFlag('--dns-timeout'),
    )
    .option('--port <port>', 'SMTP port to probe (MXDOCTOR_SMTP_PORT; default 25)', portFlag)
    .option(
      '--verify <address>',
      'verify that this address exists, with RCPT TO only (repeatable; same domain only; nothing is sent)',
      collect,
    )
    .option('--ca-file <pem>', 'also trust the CA certificates in this PEM file (MXDOCTOR_CA_FILE)')
    .option(
      '--helo <name>',
      "name the SMTP probe announces in EHLO (MXDOCTOR_EHLO_NAME; default: this host's name)",
    )
    .option('--mail-from <address>', 'envelope sender of the SMTP probe (MXDOCTOR_MAIL_FROM)')
    .option('--no-smtp', 'do not connect to the MX hosts (DNS checks only)')
    .option(
      '--tls <mode>',
      'deep: also scan every MX address for accepted cipher suites, key exchange, renegotiation and OCSP stapling (up to MXDOCTOR_TLS_DEEP_HANDSHAKES handshakes each); default light',
      tlsFlag,
    )
    .option(
      '--submission',
      'also probe the submission ports 465/587 of smtp./mail.<domain> (always done when the domain publishes RFC 6186 SRV records)',
    )
    .option(
      '--smtp-proxy <url>',
      'send SMTP connections through a SOCKS5 proxy, socks5://host:port, e.g. where outbound port 25 is blocked (MXDOCTOR_SMTP_PROXY)',
    )
    .option(
      '--greylist-retry <duration>',
      'when greylisted, ask again after this delay, e.g. 60s (MXDOCTOR_GREYLIST_RETRY; default: no retry)',
      durationFlag('--greylist-retry'),
    )
    .option(
      '--dkim-selector <selector>',
      'DKIM selector to look up in addition to the common ones (repeatable)',
      collectSelector,
    )
    .option(
      '--dnsbl <zone>',
      'IP blocklist zone to query instead of the default list (repeatable; MXDOCTOR_DNSBLS)',
      collectDnsbl,
    )
    .option(
      '--nagios',
      'print one status line with performance data and exit 0/1/2/3 (OK/WARNING/CRITICAL/UNKNOWN), as a Nagios/Icinga/monitoring-plugins check',
    )
    .option(
      '-v, --verbose',
      'show details: finding IDs, fixes for every finding, SMTP transcripts, the DNS log',
    )
    .addHelpText(
      'after',
      `
Exit codes: 0 no finding failed; 1 at least one finding failed; 2 usage or input error; 3 internal error.
With --file, over all domains: 1 when any failed, 2 when a line of the list was invalid (the
others are still checked), 3 when a check could not run at all.
With --nagios: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (also for usage errors), per the monitoring-plugins guidelines.

Examples:
  mxdoctor check example.com
  mxdoctor check user@bücher.example --json
  mxdoctor check example.com --resolver 9.9.9.9 --resolver 1.1.1.1 -v
  mxdoctor check example.com --verify alice@example.com --helo probe.example.org
  mxdoctor check example.com --no-smtp --dkim-selector s2024 --dnsbl zen.spamhaus.org
  mxdoctor check example.com --nagios --timeout 50s
  mxdoctor check example.com --tls deep --submission --smtp-proxy socks5://127.0.0.1:1080
  mxdoctor check --file customers.txt --concurrency 16 --csv > results.csv
  cut -d, -f2 domains.csv | mxdoctor check --file - --json --unordered`,
    )
    .action(async (rawDomain: string | undefined, flags: CheckFlags) => {
      if (flags.nagios && flags.json)
        throw new UsageError('--nagios and --json cannot be combined; choose one output');
      if (flags.file !== undefined) {
        if (rawDomain !== undefined)
          throw new UsageError('give either a domain or --file with a list, not both');
        if (flags.nagios)
          throw new UsageError('--nagios checks one domain; it cannot be combined with --file');
        if (flags.verify)
          throw new UsageError(
            '--verify names addresses of one domain; use "mxdoctor verify --file" for lists',
          );
        const { loadConfig } = await import('../config/index.js');
        const config = loadConfig(undefined, engineOverrides(flags));
        const greylistRetryMs = flags.greylistRetry ?? config.smtp.greylistRetryMs;
        if (greylistRetryMs > 0 && flags.timeout === undefined) config.check.deadlineMs += greylistRetryMs;
        const options: CheckOptions = {
          ...DEFAULT_CHECK_OPTIONS,
          smtp: flags.smtp !== false,
          greylistRetryMs,
          dkimSelectors: [...new Set(flags.dkimSelector ?? [])],
          ...(flags.dnsbl ? { dnsbls: [...new Set(flags.dnsbl)] } : {}),
          ...(flags.tls === 'deep' ? { tls: 'deep' as const } : {}),
          ...(flags.submission ? { submission: true } : {}),
        };
        const { runBulkCli } = await import('./check-bulk.js');
        await runBulkCli(
          {
            file: flags.file,
            ...(flags.concurrency !== undefined ? { concurrency: flags.concurrency } : {}),
            unordered: Boolean(flags.unordered),
            json: Boolean(flags.json),
            csv: Boolean(flags.csv),
          },
          config,
          options,
          setExit,
        );
        return;
      }
      if (rawDomain === undefined)
        throw new UsageError("missing required argument 'domain' (or give --file with a list of domains)");
      if (flags.concurrency !== undefined || flags.unordered || flags.csv)
        throw new UsageError('--concurrency, --unordered and --csv go with --file');
      const parsed = normalizeDomain(rawDomain);
      if (!parsed.ok) throw new UsageError(parsed.error);
      // The configuration (with zod) and the check engine load only now: `mxdoctor check --help`
      // and usage errors need neither. The engine's own module is small: it sends the first DNS
      // query before it loads the checks (src/checks/run.ts).
      const engine = import('../checks/run.js');
      engine.catch(() => undefined);
      const { loadConfig } = await import('../config/index.js');
      const config = loadConfig(undefined, engineOverrides(flags));
      const greylistRetryMs = flags.greylistRetry ?? config.smtp.greylistRetryMs;
      // The retry waits inside the check: give the deadline that much more, unless set explicitly.
      if (greylistRetryMs > 0 && flags.timeout === undefined) config.check.deadlineMs += greylistRetryMs;
      const options: CheckOptions = {
        ...DEFAULT_CHECK_OPTIONS,
        smtp: flags.smtp !== false,
        verify: normalizeVerify(flags.verify ?? [], parsed.domain),
        greylistRetryMs,
        dkimSelectors: [...new Set(flags.dkimSelector ?? [])],
        ...(flags.dnsbl ? { dnsbls: [...new Set(flags.dnsbl)] } : {}),
        ...(flags.tls === 'deep' ? { tls: 'deep' as const } : {}),
        ...(flags.submission ? { submission: true } : {}),
      };
      const { runCheck } = await engine;
      // With --json the report is serialised here: no plain copy of it first (see RunDeps.plain).
      const running = runCheck(parsed.domain, options, { config, plain: !flags.json });
      // The text formatter loads while the check waits on the network, not after it.
      const formatter = flags.json || flags.nagios ? null : import('./format.js');
      formatter?.catch(() => undefined);
      const report = await running;
      if (flags.nagios) {
        const { formatNagios } = await import('./nagios.js');
        const out = formatNagios(report, new Date());
        process.stdout.write([out.line, ...out.details].join('\n') + '\n');
        setExit(out.code);
        return;
      }
      if (flags.json) {
        process.stdout.write(JSON.stringify(report, null, 2) + '\n');
      } else {
        const { formatReport } = await (formatter ?? import('./format.js'));
        process.stdout.write(
          formatReport(report, {
            color: colorEnabled(process.stdout),
            verbose: Boolean(flags.verbose),
            ...(process.stdout.isTTY && process.stdout.columns ? { width: process.stdout.columns } : {}),
          }),
        );
      }
      setExit(report.verdict === 'fail' ? EXIT.fail : EXIT.ok);
    });
}
