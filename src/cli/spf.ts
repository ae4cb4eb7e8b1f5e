import type { Command } from 'commander';
import { loadConfig, parseDuration, parseResolver } from '../config/index.js';
import type { ConfigOverrides, ResolverAddress } from '../config/index.js';
import { DnsClient, dnsClientSettings } from '../dns/client.js';
import { normalizeDomain } from '../input/domain.js';
import { deadline } from '../net/deadline.js';
import { ipFamily } from '../net/ip-family.js';
import { checkHost } from '../spf/evaluate.js';
import type { CheckHostResult, SpfResult } from '../spf/evaluate.js';
import { UsageError } from './errors.js';
import { safeText } from './format.js';

/**
 * `mxdoctor spf <domain> --ip <addr>`: the RFC 7208 verdict for one sending IP, with the
 * term that decided it, the explanation, the lookup counts and (with -v) the evaluation
 * trace. Exit codes tell scripts the verdict without parsing output.
 */
export const SPF_EXIT: Record<SpfResult, number> = {
  pass: 0,
  fail: 1,
  softfail: 1,
  neutral: 4,
  none: 4,
  permerror: 5,
  temperror: 5,
};

const MEANING: Record<SpfResult, string> = {
  pass: 'the IP is authorised to send for the domain',
  fail: 'the domain says this IP is NOT authorised (receivers may reject)',
  softfail: 'the domain says this IP is probably not authorised (receivers usually accept and mark)',
  neutral: 'the domain makes no statement about this IP',
  none: 'the domain publishes no SPF record (or is not a valid domain)',
  permerror: "the domain's SPF policy is broken; receivers treat it as an SPF failure under DMARC",
  temperror: 'a DNS error prevented a verdict; receivers usually defer (4xx) and retry',
};

interface SpfFlags {
  ip: string;
  sender?: string;
  helo?: string;
  json?: boolean;
  resolver?: ResolverAddress[];
  dnsTimeout?: number;
  timeout?: number;
  verbose?: boolean;
}

function collectResolver(value: string, previous: ResolverAddress[] = []): ResolverAddress[] {
  try {
    return [...previous, parseResolver(value, '--resolver')];
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

function durationFlag(flag: string) {
  return (value: string): number => {
    try {
      return parseDuration(value, flag);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
  };
}

export function formatSpfResult(r: CheckHostResult, verbose: boolean): string {
  const lines = [
    `SPF ${r.result.toUpperCase()} for ${r.ip} sending as ${r.sender} (domain ${r.domain}${r.helo ? `, HELO ${r.helo}` : ''})`,
    `  Meaning: ${MEANING[r.result]}.`,
    `  Why: ${r.reason}.`,
  ];
  if (r.record) lines.push(`  Record: ${r.record}`);
  if (r.explanation !== undefined) lines.push(`  Explanation published by the domain: ${r.explanation}`);
  lines.push(`  DNS lookups: ${r.lookups} of 10, void lookups: ${r.voidLookups} of 2`);
  if (verbose) {
    lines.push('  Evaluation:');
    for (const step of r.trace) {
      lines.push(
        `  ${'  '.repeat(step.depth + 1)}${step.domain}${step.term ? ` "${step.term}"` : ''}: ${step.note}`,
      );
    }
  }
  return lines.map(safeText).join('\n') + '\n';
}

export function registerSpf(program: Command, setExit: (code: number) => void): void {
  program
    .command('spf')
    .description('evaluate SPF (RFC 7208 check_host) for a sending IP address')
    .argument('<domain>', 'domain whose SPF policy is evaluated (or an email address: its domain)')
    .requiredOption('--ip <address>', 'IP address of the sending server (IPv4 or IPv6)')
    .option('--sender <address>', 'envelope sender (MAIL FROM); default postmaster@<domain>')
    .option('--helo <name>', 'HELO/EHLO name of the sending server')
    .option('--json', 'print the result as JSON')
    .option('--resolver <ip[:port]>', 'DNS resolver to use (repeatable)', collectResolver)
    .option(
      '--dns-timeout <duration>',
      'timeout of one DNS query attempt, e.g. 3s',
      durationFlag('--dns-timeout'),
    )
    .option(
      '--timeout <duration>',
      'overall deadline, e.g. 30s (MXDOCTOR_CHECK_DEADLINE)',
      durationFlag('--timeout'),
    )
    .option('-v, --verbose', 'show every step of the evaluation')
    .addHelpText(
      'after',
      `
Exit codes: 0 pass; 1 fail or softfail; 4 neutral or none; 5 permerror or temperror;
2 usage or input error; 3 internal error.

Examples:
  mxdoctor spf example.com --ip 192.0.2.10
  mxdoctor spf example.com --ip 2001:db8::25 --sender bounce@example.com --helo mail.example.com --json`,
    )
    .action(async (rawDomain: string, flags: SpfFlags) => {
      const parsed = normalizeDomain(rawDomain);
      if (!parsed.ok) throw new UsageError(parsed.error);
      const ip = flags.ip.trim().replace(/^\[|\]$/g, '');
      if (ipFamily(ip) === 0) {
        throw new UsageError(
          `--ip ${JSON.stringify(flags.ip)} is not an IP address; give the sending server's IPv4 or IPv6 address, e.g. 192.0.2.10 or 2001:db8::25`,
        );
      }
      if (
        flags.sender !== undefined &&
        !/^[^\s<>]*@[^\s@<>]+$/.test(flags.sender.trim().replace(/^<|>$/g, ''))
      ) {
        throw new UsageError(
          `--sender ${JSON.stringify(flags.sender)} is not an email address; give the MAIL FROM address, e.g. bounce@example.com`,
        );
      }
      if (flags.helo !== undefined && !/^[^\s]+$/.test(flags.helo.trim())) {
        throw new UsageError(`--helo ${JSON.stringify(flags.helo)} must be a host name without spaces`);
      }
      const overrides: ConfigOverrides = {
        dns: {
          ...(flags.resolver ? { resolvers: flags.resolver, resolversSource: '--resolver' } : {}),
          ...(flags.dnsTimeout !== undefined ? { timeoutMs: flags.dnsTimeout } : {}),
        },
        check: flags.timeout !== undefined ? { deadlineMs: flags.timeout } : {},
      };
      const config = loadConfig(undefined, overrides);
      const overall = deadline(undefined, config.check.deadlineMs, 'SPF evaluation');
      try {
        const dns = new DnsClient({
          ...dnsClientSettings(config.dns),
          signal: overall.signal,
        });
        const result = await checkHost(dns, {
          ip,
          domain: parsed.domain.ascii,
          sender: flags.sender ?? `postmaster@${parsed.domain.ascii}`,
          helo: flags.helo ?? '',
          signal: overall.signal,
        });
        if (flags.json) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
        else process.stdout.write(formatSpfResult(result, Boolean(flags.verbose)));
        setExit(SPF_EXIT[result.result]);
      } finally {
        overall.dispose();
      }
    });
}
