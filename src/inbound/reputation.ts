import { z } from 'zod';
import { defineFindings, list } from '../checks/findings.js';
import { organisationalDomain } from '../dmarc/lookup.js';
import {
  BlocklistResultSchema,
  dnsblLookup,
  domainBlocklistLookup,
  isListable,
  selfTestZones,
} from '../dnsbl/lookup.js';
import type { Resolver } from '../dns/types.js';
import type { Finding } from '../report/model.js';

/**
 * Reputation as a receiver looks it up: the sending IP on the configured IP blocklists
 * (DNSBLs) and the domains the message names — From, MAIL FROM, DKIM signers and the
 * links in its text — on the domain blocklists. The lookups are the domain check's
 * (src/dnsbl/lookup.ts); the findings are about this message.
 */
export const REPUTATION = defineFindings('inbound', {
  'inbound.reputation.ip': {
    title: 'Sending IP on blocklists',
    statuses: ['pass', 'fail', 'info', 'error'],
    meaning: 'The sending IP is on none of the configured IP blocklists (MXDOCTOR_DNSBLS).',
  },
  'inbound.reputation.domains': {
    title: 'Domains on blocklists',
    statuses: ['pass', 'fail', 'info', 'error'],
    meaning:
      'The domains of From, MAIL FROM, the DKIM signatures and the links in the message are on none of the configured domain blocklists (MXDOCTOR_DOMAIN_BLOCKLISTS).',
  },
});

export const ReputationDataSchema = z.object({
  ip: z.string(),
  ipResults: z.array(BlocklistResultSchema),
  domains: z.array(
    z.object({ domain: z.string(), why: z.array(z.string()), results: z.array(BlocklistResultSchema) }),
  ),
});
export type ReputationData = z.infer<typeof ReputationDataSchema>;

/** Domains looked up at most (each costs one query per list). */
const MAX_DOMAINS = 10;
const URL_HOST = /\bhttps?:\/\/([a-z0-9.-]{1,253})(?=[:/?#"'\s<>)]|$)/gi;

/** Registrable domains of the links in a text (at most `max`, in order of appearance). */
export function linkDomains(text: string, max = MAX_DOMAINS): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(URL_HOST)) {
    const host = m[1]!.toLowerCase().replace(/\.$/, '');
    if (!host.includes('.') || /^[\d.]+$/.test(host)) continue;
    const d = organisationalDomain(host);
    if (!out.includes(d)) out.push(d);
    if (out.length >= max) break;
  }
  return out;
}

export interface ReputationInput {
  ip: string;
  /** Domain → why it is looked up ("From", "MAIL FROM", "DKIM d=", "link"). */
  domains: Map<string, string[]>;
  ipZones: string[];
  domainZones: string[];
}

export async function gatherReputation(
  resolver: Resolver,
  input: ReputationInput,
  signal: AbortSignal,
): Promise<ReputationData> {
  const listable = isListable(input.ip) && input.ipZones.length > 0;
  const broken = listable
    ? await selfTestZones(resolver, input.ipZones, { signal })
    : new Map<string, string>();
  const [ipResults, domains] = await Promise.all([
    listable
      ? dnsblLookup(resolver, input.ip, input.ipZones, { signal, brokenZones: broken })
      : Promise.resolve([]),
    Promise.all(
      [...input.domains]
        .filter(([d]) => d.includes('.'))
        .slice(0, MAX_DOMAINS)
        .map(async ([domain, why]) => ({
          domain,
          why,
          results: input.domainZones.length
            ? await domainBlocklistLookup(resolver, domain, input.domainZones, { signal })
            : [],
        })),
    ),
  ]);
  return { ip: input.ip, ipResults, domains };
}

function ipFinding(d: ReputationData, zones: number): Finding {
  const subject = { address: d.ip };
  if (!isListable(d.ip)) {
    return REPUTATION.make('inbound.reputation.ip', 'info', {
      summary: `${d.ip} is not a public address; no blocklist covers it.`,
      details: {},
      subject,
    });
  }
  if (zones === 0) {
    return REPUTATION.make('inbound.reputation.ip', 'info', {
      summary: 'No IP blocklists are configured (MXDOCTOR_DNSBLS=off).',
      details: {},
      subject,
    });
  }
  const listed = d.ipResults.filter((r) => r.status === 'listed');
  const errors = d.ipResults.filter((r) => r.status === 'error');
  const details = { results: d.ipResults };
  if (listed.length) {
    return REPUTATION.make('inbound.reputation.ip', 'fail', {
      summary: `The sending IP ${d.ip} is listed on ${list(listed.map((r) => `${r.list}${r.meaning ? ` (${r.meaning})` : ''}`))}.`,
      remedy: `Find out why (a compromised account, a form abused for spam, a shared IP's neighbours), fix that, then request removal${listed.some((r) => r.removal) ? `: ${list(listed.filter((r) => r.removal).map((r) => r.removal!))}` : ' from each list'}.`,
      details,
      subject,
    });
  }
  if (errors.length === d.ipResults.length) {
    return REPUTATION.make('inbound.reputation.ip', 'error', {
      summary: `No blocklist answered for ${d.ip}: ${list(
        errors.map((r) => `${r.list}: ${r.error ?? 'error'}`),
        3,
      )}.`,
      details,
      subject,
    });
  }
  return REPUTATION.make('inbound.reputation.ip', 'pass', {
    summary: `${d.ip} is on none of ${lists(d.ipResults.length - errors.length, 'blocklist')}${errors.length ? ` (${errors.length} could not be asked)` : ''}.`,
    details,
    subject,
  });
}

/** "1 blocklist", "3 blocklists". */
function lists(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

function domainsFinding(d: ReputationData, zones: number): Finding {
  if (d.domains.length === 0 || zones === 0) {
    return REPUTATION.make('inbound.reputation.domains', 'info', {
      summary:
        zones === 0
          ? 'No domain blocklists are configured (MXDOCTOR_DOMAIN_BLOCKLISTS=off).'
          : 'The message names no domain to look up.',
      details: {},
    });
  }
  const listed = d.domains.flatMap((x) =>
    x.results
      .filter((r) => r.status === 'listed')
      .map((r) => `${x.domain} (${x.why.join(', ')}) on ${r.list}`),
  );
  const all = d.domains.flatMap((x) => x.results);
  const details = { domains: d.domains };
  if (listed.length) {
    return REPUTATION.make('inbound.reputation.domains', 'fail', {
      summary: `Listed: ${list(listed)}.`,
      remedy:
        'Remove links to listed domains from your mail, or get the domain delisted after fixing why it was listed; receivers refuse or junk mail that names them.',
      details,
    });
  }
  if (all.length > 0 && all.every((r) => r.status === 'error')) {
    return REPUTATION.make('inbound.reputation.domains', 'error', {
      summary: 'No domain blocklist answered.',
      details,
    });
  }
  return REPUTATION.make('inbound.reputation.domains', 'pass', {
    summary:
      d.domains.length === 1
        ? `${d.domains[0]!.domain} is on none of ${lists(zones, 'domain blocklist')}.`
        : `None of ${list(d.domains.map((x) => x.domain))} is on any of ${lists(zones, 'domain blocklist')}.`,
    details,
  });
}

export function evaluateReputation(
  d: ReputationData,
  input: Pick<ReputationInput, 'ipZones' | 'domainZones'>,
): Finding[] {
  return [ipFinding(d, input.ipZones.length), domainsFinding(d, input.domainZones.length)];
}
