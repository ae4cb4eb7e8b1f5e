import { parse as parseDomain } from 'tldts';
import type { DnsLogEntry } from '../dns/types.js';
import type { NormalizedDomain } from '../input/domain.js';
import type { Finding } from '../report/model.js';
import { defineFindings } from './findings.js';

/**
 * Findings that the pipeline itself produces: about the input, the resolver, and checks that
 * crashed or ran out of time. Not a check of its own; listed in the check-ID table as "core".
 */
export const CORE = defineFindings('core', {
  'input.domain': {
    title: 'Domain',
    statuses: ['pass', 'warn', 'info'],
    meaning:
      'The domain that was checked, after normalisation (case, trailing dot, IDN to punycode, the domain of an email address). warn when it is itself a public suffix (e.g. co.uk); info when it is not under a known public suffix.',
  },
  'dns.resolver': {
    title: 'DNS resolver',
    statuses: ['pass', 'warn', 'error'],
    meaning:
      'The configured resolvers answered (pass); some queries timed out or failed, or a resolver does not offer recursion — an authoritative-only server answers only for its own zones (warn); no resolver answered at all (error: nothing in the report can be trusted).',
  },
  'pipeline.check_error': {
    title: 'Check failed',
    statuses: ['error'],
    meaning:
      'A check stopped with an unexpected error; its findings are missing. The other checks are unaffected.',
  },
  'pipeline.deadline': {
    title: 'Check timed out',
    statuses: ['error'],
    meaning:
      'A check was still running when the overall deadline (MXDOCTOR_CHECK_DEADLINE, --timeout) expired.',
  },
  'pipeline.dependency_failed': {
    title: 'Check skipped',
    statuses: ['error'],
    meaning: 'A check could not run because a check it depends on failed.',
  },
});

export function inputFinding(domain: NormalizedDomain): Finding {
  const shown = domain.unicode !== domain.ascii ? `${domain.unicode} (${domain.ascii})` : domain.ascii;
  const from = domain.localPart !== undefined ? ` (the domain of ${domain.input.trim()})` : '';
  const parsed = parseDomain(domain.ascii, { allowPrivateDomains: true });
  const details = {
    ascii: domain.ascii,
    unicode: domain.unicode,
    publicSuffix: parsed.publicSuffix,
    registrableDomain: parsed.domain,
    icann: parsed.isIcann,
  };
  if (parsed.domain === null && parsed.publicSuffix === domain.ascii) {
    return CORE.make('input.domain', 'warn', {
      summary: `${shown}${from} is itself a public suffix (a registry or hosting zone under which others register names), not a mail domain.`,
      remedy: `Check a domain registered under it, e.g. example.${domain.ascii}.`,
      details,
    });
  }
  if (!parsed.isIcann && !parsed.isPrivate) {
    return CORE.make('input.domain', 'info', {
      summary: `Checking ${shown}${from}. Its top-level domain ".${parsed.publicSuffix}" is not in the Public Suffix List, so it is probably internal or reserved.`,
      details,
    });
  }
  return CORE.make('input.domain', 'pass', { summary: `Checking ${shown}${from}.`, details });
}

function median(values: number[]): number {
  if (values.length === 0) return 0;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

export function resolverFinding(log: readonly DnsLogEntry[], resolvers: string[], source: string): Finding {
  const failed = log.filter((e) => e.rcode === 'TIMEOUT' || e.rcode === 'NETWORK_ERROR');
  const answered = log.filter((e) => e.rcode !== 'TIMEOUT' && e.rcode !== 'NETWORK_ERROR');
  const servers = resolvers.join(', ');
  const details = {
    resolvers,
    source,
    queries: log.length,
    failed: failed.length,
    medianMs: median(answered.map((e) => e.ms)),
    tcp: log.filter((e) => e.transport === 'tcp').length,
  };
  if (log.length > 0 && answered.length === 0) {
    return CORE.make('dns.resolver', 'error', {
      summary: `No DNS resolver answered (${servers}, from ${source}): ${failed[0]?.error ?? 'no answer'}. Nothing in this report could be determined.`,
      remedy: `Check network access to the resolver, or name another with --resolver ip[:port] or MXDOCTOR_RESOLVERS.`,
      details,
    });
  }
  // A server that answers but never offers recursion is an authoritative server named as
  // a resolver: every name outside its zones comes back REFUSED.
  const nonRecursive = [...new Set(answered.map((e) => e.server))].filter((server) =>
    answered.every((e) => e.server !== server || e.ra === false),
  );
  if (nonRecursive.length > 0) {
    const refused = answered.filter((e) => nonRecursive.includes(e.server) && e.rcode === 'REFUSED').length;
    return CORE.make('dns.resolver', 'warn', {
      summary: `${nonRecursive.join(', ')} does not offer recursion (no RA flag in its answers): it is an authoritative-only server, not a resolver. It answers only for its own zones${refused ? ` and refused ${refused} of ${log.length} queries` : ''}; findings about other names are "error", and DNSSEC status cannot be known.${failed.length ? ` ${failed.length} queries got no answer.` : ''}`,
      remedy: `Name a recursive (ideally validating) resolver with --resolver ip[:port] or MXDOCTOR_RESOLVERS, e.g. a local Unbound.`,
      details: { ...details, nonRecursive },
    });
  }
  if (failed.length > 0) {
    const bad = [...new Set(failed.map((e) => e.server))];
    return CORE.make('dns.resolver', 'warn', {
      summary: `${failed.length} of ${log.length} DNS queries got no answer (from ${bad.join(', ')}); findings that depend on them are marked "error".`,
      remedy: `If this repeats, the resolver is overloaded or filtering; name another with --resolver.`,
      details,
    });
  }
  return CORE.make('dns.resolver', 'pass', {
    summary: `${servers} answered ${log.length} quer${log.length === 1 ? 'y' : 'ies'} (median ${details.medianMs} ms).`,
    details,
  });
}
