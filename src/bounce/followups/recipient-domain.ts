import { CHECKS } from '../../checks/registry.js';
import { runCheck } from '../../checks/run.js';
import type { Followup } from '../model.js';
import { normalizeDomain } from '../../input/domain.js';
import { DEFAULT_CHECK_OPTIONS } from '../../report/model.js';
import type { Report } from '../../report/model.js';
import type { SessionRecord } from '../../smtp/model.js';
import { list, plural, quote, recipientDomainOf } from './common.js';
import type { FollowupDefinition } from './types.js';

/**
 * host_unknown, not_accept, network_error, expired (an MTA that gave up after connection
 * failures): can the recipient's domain receive mail now? A
 * domain check of the recipient domain through the check engine: the MX check (existence,
 * MX / null MX / implicit MX, host addresses) and the SMTP check (does each MX address
 * accept a connection and greet with 220). With connections switched off, DNS only.
 */
export const recipientDomainFollowup: FollowupDefinition = {
  id: 'recipient_domain',
  reasons: ['host_unknown', 'not_accept', 'network_error', 'expired'],
  description:
    'a domain check of the recipient domain through the check engine: the `mx` check (existence, MX, null MX, implicit MX, MX host addresses) and the `smtp` check (each MX address accepts a connection and greets with 220); DNS only when connections are off',
  title: (target) => (target ? `Mail setup of ${target.value}` : 'Mail setup of the recipient domain'),
  targets: (record) => {
    const d = recipientDomainOf(record);
    return [d.ok ? { ok: true, target: { value: d.ascii } } : { ok: false, why: d.why }];
  },
  run: async (target, deps) => {
    const parsed = normalizeDomain(target.value);
    if (!parsed.ok) throw new Error(parsed.error);
    const report = deps.smtp
      ? await runCheck(
          parsed.domain,
          { ...DEFAULT_CHECK_OPTIONS, smtp: true },
          {
            config: deps.config,
            checks: CHECKS.filter((c) => c.name === 'mx' || c.name === 'smtp'),
            services: { smtp: deps.services },
            signal: deps.signal,
            now: deps.now,
            dnsCache: deps.dnsCache,
          },
        )
      : await deps.mxReport(parsed.domain.ascii);
    return verdictFor(target.value, report);
  },
};

/** How an MX address answered a connection: the greeting, or why there was none. */
interface Reachability {
  host: string;
  address: string;
  /** Greeted with 220. */
  greeted: boolean;
  /** Refused by the server (connection refused, 421/554 greeting): evidence against the domain. */
  refused: boolean;
  what: string;
}

function reachabilityOf(s: SessionRecord): Reachability {
  const base = { host: s.host, address: s.address };
  if (!s.connect.ok) {
    const refused = s.connect.failure === 'refused';
    return {
      ...base,
      greeted: false,
      refused,
      what: refused
        ? 'refused the connection'
        : s.connect.failure === 'forbidden'
          ? `was not contacted (${s.connect.error ?? 'address not allowed'})`
          : `did not answer (${s.connect.failure ?? 'error'}${s.connect.error ? `: ${quote(s.connect.error, 80)}` : ''})`,
    };
  }
  const code = s.banner?.reply.code;
  if (code === 220)
    return { ...base, greeted: true, refused: false, what: `greeted “${quote(s.banner!.reply.text, 80)}”` };
  if (code !== undefined) {
    return {
      ...base,
      greeted: false,
      refused: true,
      what: `refused the session: “${code} ${quote(s.banner!.reply.text, 100)}”`,
    };
  }
  return {
    ...base,
    greeted: false,
    refused: false,
    what: `connected but sent no greeting (${s.error?.message ?? 'timeout'})`,
  };
}

/** Turns the domain check into a verdict on "the recipient domain cannot receive mail". */
export function verdictFor(domain: string, report: Report): Followup {
  const mx = report.mx;
  const findings = report.checks
    .filter((f) => f.id.startsWith('mx.') || f.id === 'smtp.connect' || f.id === 'smtp.banner')
    .map((f) => ({ id: f.id, status: f.status, summary: f.summary }));
  const failing = findings.filter((f) => f.status === 'fail' && f.id.startsWith('mx.'));
  const base = { id: 'recipient_domain', title: `Mail setup of ${domain}`, target: domain };
  const smtp = report.data.smtp as { sessions?: SessionRecord[] } | undefined;
  const sessions = (smtp?.sessions ?? []).filter((s) => s.kind === 'probe');
  const reach = sessions.map(reachabilityOf);
  const details: Record<string, unknown> = {
    mxKind: mx.kind,
    hosts: mx.hosts.map((h) => ({
      name: h.name,
      preference: h.preference,
      addresses: h.addresses.map((a) => a.address),
    })),
    findings,
    smtpTested: smtp !== undefined,
    ...(smtp ? { connections: reach } : {}),
  };
  switch (mx.kind) {
    case 'nxdomain':
      return {
        ...base,
        verdict: 'confirmed',
        summary: `confirmed: ${domain} does not exist in DNS (NXDOMAIN).`,
        details,
      };
    case 'none':
      return {
        ...base,
        verdict: 'confirmed',
        summary: `confirmed: ${domain} has no MX record and no address, so it cannot receive mail.`,
        details,
      };
    case 'null':
      return {
        ...base,
        verdict: 'confirmed',
        summary: `confirmed: ${domain} publishes a null MX (RFC 7505): it accepts no mail.`,
        details,
      };
    case 'error':
      return {
        ...base,
        verdict: 'could_not_test',
        summary: `could not test: the DNS lookups for ${domain} failed (${findings.find((f) => f.status === 'error')?.summary ?? 'no answer'}). A lasting failure would explain the bounce.`,
        details,
      };
  }
  if (failing.length > 0) {
    return {
      ...base,
      verdict: 'confirmed',
      summary: `confirmed: ${failing.map((f) => f.summary).join(' ')}`,
      details,
    };
  }
  const hosts = mx.hosts.map((h) => `${h.name} (${plural(h.addresses.length, 'address', 'addresses')})`);
  const resolves = `${domain} resolves now and ${mx.kind === 'implicit' ? 'receives mail at its own address' : `has MX ${mx.hosts.length === 1 ? 'host' : 'hosts'} ${list(hosts)}`}`;
  if (!smtp) {
    return {
      ...base,
      verdict: 'not_confirmed',
      summary: `not confirmed: ${resolves}; the problem may have been temporary or fixed since. Connectivity to the mail servers was not tested.`,
      details,
    };
  }
  const who = (r: Reachability): string => `${r.host} [${r.address}] ${r.what}`;
  const greeted = reach.filter((r) => r.greeted);
  if (greeted.length > 0) {
    return {
      ...base,
      verdict: 'not_confirmed',
      summary: `not confirmed: ${resolves}, and ${list(greeted.map(who), 2)}; the problem may have been temporary or fixed since.`,
      details,
    };
  }
  const refused = reach.filter((r) => r.refused);
  if (refused.length > 0) {
    return {
      ...base,
      verdict: 'confirmed',
      summary: `confirmed: no mail server of ${domain} accepts a connection now: ${list(reach.map(who), 3)}.`,
      details,
    };
  }
  return {
    ...base,
    verdict: 'could_not_test',
    summary:
      reach.length === 0
        ? `could not test: ${resolves}, but no MX address could be probed.`
        : `could not test: ${resolves}, but ${list(reach.map(who), 3)}. That may be the network mxdoctor runs in (outbound port 25 is often blocked) rather than the domain.`,
    details,
  };
}
