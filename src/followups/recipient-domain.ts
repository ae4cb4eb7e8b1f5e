import { ALL_CHECKS } from '../checks/index.js';
import { runCheck } from '../checks/run.js';
import { domainOf } from '../bounce/explain.js';
import type { Followup } from '../bounce/model.js';
import { normalizeDomain } from '../input/domain.js';
import { DEFAULT_CHECK_OPTIONS } from '../report/model.js';
import type { Report } from '../report/model.js';
import type { FollowupDefinition } from './types.js';

/**
 * host_unknown, not_accept, network_error: is the recipient's domain able to receive mail
 * now? A domain check of the recipient domain through the check engine (the MX check:
 * existence, MX/null MX/implicit MX, host addresses). Connectivity to the MX hosts plugs in
 * here once the SMTP probe is in the registry.
 */

/** Checks of the engine this follow-up runs (by name, so new ones join when registered). */
const CHECKS = ['mx'];

function list(items: string[], max = 4): string {
  return items.length <= max
    ? items.join(', ')
    : `${items.slice(0, max).join(', ')} and ${items.length - max} more`;
}

export const recipientDomainFollowup: FollowupDefinition = {
  id: 'recipient_domain',
  reasons: ['host_unknown', 'not_accept', 'network_error'],
  title: (target) => (target ? `Mail setup of ${target}` : 'Mail setup of the recipient domain'),
  target: (record) => {
    const domain = domainOf(record.recipient);
    if (!domain) return { ok: false, why: 'the bounce names no recipient domain.' };
    const parsed = normalizeDomain(domain);
    if (!parsed.ok)
      return { ok: false, why: `the recipient domain ${JSON.stringify(domain)} is not a valid domain name.` };
    return { ok: true, value: parsed.domain.ascii };
  },
  run: async (target, deps) => {
    const parsed = normalizeDomain(target);
    if (!parsed.ok) throw new Error(parsed.error);
    const report = await runCheck(
      parsed.domain,
      { ...DEFAULT_CHECK_OPTIONS, smtp: false },
      {
        config: deps.config,
        checks: ALL_CHECKS.filter((c) => CHECKS.includes(c.name)),
        signal: deps.signal,
        now: deps.now,
        dnsCache: deps.dnsCache,
      },
    );
    return verdictFor(target, report);
  },
};

/** Turns the domain check into a verdict on "the recipient domain cannot receive mail". */
export function verdictFor(domain: string, report: Report): Followup {
  const mx = report.mx;
  const findings = report.checks
    .filter((f) => f.id.startsWith('mx.'))
    .map((f) => ({ id: f.id, status: f.status, summary: f.summary }));
  const failing = findings.filter((f) => f.status === 'fail');
  const base = { id: 'recipient_domain', title: `Mail setup of ${domain}`, target: domain };
  const details = {
    mxKind: mx.kind,
    hosts: mx.hosts.map((h) => ({
      name: h.name,
      preference: h.preference,
      addresses: h.addresses.map((a) => a.address),
    })),
    findings,
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
    default: {
      if (failing.length > 0) {
        return {
          ...base,
          verdict: 'confirmed',
          summary: `confirmed: ${failing.map((f) => f.summary).join(' ')}`,
          details,
        };
      }
      const hosts = mx.hosts.map(
        (h) => `${h.name} (${h.addresses.length} address${h.addresses.length === 1 ? '' : 'es'})`,
      );
      return {
        ...base,
        verdict: 'not_confirmed',
        summary: `not confirmed: ${domain} resolves now and ${mx.kind === 'implicit' ? 'receives mail at its own address' : `has MX hosts ${list(hosts)}`}; the problem may have been temporary or fixed since. Connectivity to the mail servers was not tested.`,
        details,
      };
    }
  }
}
