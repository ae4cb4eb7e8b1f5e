import { parse as parseDomain } from 'tldts';
import { classifyAddress } from '../net/address-guard.js';
import { describeFailure, isDefinite } from '../dns/types.js';
import type { DnsAnswer, RecordOf, Resolver } from '../dns/types.js';
import type { Finding, MxAddress, MxHost, MxSet } from '../report/model.js';
import { defineFindings, list } from '../checks/findings.js';
import type { CheckContext } from '../checks/types.js';
import { defineCheck } from '../checks/descriptors.js';
import { MAX_MX_HOSTS, byPreference, isIpLiteralName, lookUpMx, mxTargets } from './lookups.js';
import type { AddressAnswers } from './lookups.js';

/**
 * MX resolution as a sending MTA does it (RFC 5321 §5.1, RFC 7505): MX records sorted by
 * preference, the implicit MX fallback, the null MX, and the A/AAAA of every target. The
 * gathering does DNS; `evaluateMx` turns the answers into findings and the MX set, purely.
 */

const F = defineFindings('mx', {
  'mx.records': {
    title: 'MX records',
    statuses: ['pass', 'info', 'fail', 'error'],
    meaning:
      'The domain publishes MX records naming at least one usable host (pass); has none and falls back to its A/AAAA (info, see mx.implicit); does not exist or can receive no mail (fail); or the lookup failed (error).',
  },
  'mx.null': {
    title: 'Null MX',
    statuses: ['info', 'warn', 'fail'],
    meaning:
      'The domain publishes a null MX ("0 .", RFC 7505): it explicitly accepts no mail (info). A null MX with a preference other than 0 is warn; a null MX mixed with other MX records is fail (RFC 7505 §3).',
  },
  'mx.implicit': {
    title: 'Implicit MX',
    statuses: ['warn'],
    meaning:
      'No MX records, so senders deliver to the A/AAAA address of the domain itself (RFC 5321 §5.1). Works, but is fragile and often unintended.',
  },
  'mx.cname': {
    title: 'MX target is an alias',
    statuses: ['warn'],
    meaning: 'An MX target is a CNAME. RFC 2181 §10.3 forbids this; some MTAs refuse or mishandle it.',
  },
  'mx.ip_literal': {
    title: 'MX target is an IP address',
    statuses: ['fail'],
    meaning:
      'An MX target is an IP address written as a host name. MX records must name a host (RFC 1035 §3.3.9, RFC 5321 §5.1); most MTAs will not deliver.',
  },
  'mx.dangling': {
    title: 'MX hosts resolve',
    statuses: ['pass', 'fail', 'error'],
    meaning:
      'Every MX host has an A or AAAA record (pass). A host without addresses is dangling (fail); error when its lookup failed.',
  },
  'mx.duplicate': {
    title: 'Duplicate MX targets',
    statuses: ['warn', 'info'],
    meaning:
      'The same host appears in more than one MX record (warn), or several MX hosts share one address (info: no real redundancy).',
  },
  'mx.private_address': {
    title: 'MX addresses are public',
    statuses: ['pass', 'info', 'fail'],
    meaning:
      'Every MX address is a public unicast address (pass). A private, loopback, link-local, documentation or other reserved address cannot be reached from the Internet (fail for a public domain; info for a domain under a non-public suffix or when private addresses are allowed).',
  },
  'mx.ipv6': {
    title: 'IPv6 for MX hosts',
    statuses: ['pass', 'info'],
    meaning: 'Every MX host has an IPv6 (AAAA) address (pass); some or none do (info).',
  },
});

export { MAX_MX_HOSTS, isIpLiteralName };

/** Everything the MX evaluation needs, gathered from DNS. Plain data. */
export interface MxFacts {
  domain: string;
  /** The domain sits under an ICANN public suffix (so private MX addresses are an error). */
  publicDomain: boolean;
  /** Private addresses are allowed by configuration (tests, internal use). */
  allowPrivate: boolean;
  mx: DnsAnswer<RecordOf<'MX'>>;
  /** A/AAAA answers per MX target name (lower case). */
  hosts: Record<string, AddressAnswers>;
  /** A/AAAA answers of the domain itself, asked when it has no MX. */
  implicit?: AddressAnswers;
}

export function isPublicDomain(domain: string): boolean {
  const parsed = parseDomain(domain);
  return parsed.isIcann === true && parsed.domain !== null;
}

function addressesOf(answers: AddressAnswers): MxAddress[] {
  return [...answers.a.records, ...answers.aaaa.records].map((r) => ({
    address: r.address,
    family: r.type === 'A' ? 4 : 6,
    category: classifyAddress(r.address).category,
  }));
}

function hostFrom(
  name: string,
  preference: number,
  answers: AddressAnswers | undefined,
  implicit: boolean,
): MxHost {
  return {
    name,
    preference,
    implicit,
    ipLiteral: !implicit && isIpLiteralName(name),
    cnameChain: answers ? (answers.a.cnameChain.length ? answers.a.cnameChain : answers.aaaa.cnameChain) : [],
    addresses: answers ? addressesOf(answers) : [],
    lookup: { a: answers?.a.rcode ?? 'NOT_ASKED', aaaa: answers?.aaaa.rcode ?? 'NOT_ASKED' },
  };
}

export function evaluateMx(facts: MxFacts): { findings: Finding[]; mx: MxSet } {
  const { domain } = facts;
  const answer = facts.mx;
  if (!isDefinite(answer))
    return { findings: [lookupError(domain, answer)], mx: { kind: 'error', hosts: [] } };
  const ttl = answer.ttl !== undefined ? { ttl: answer.ttl } : {};
  if (answer.rcode === 'NXDOMAIN') {
    const findings = [
      F.make('mx.records', 'fail', {
        summary: `The domain ${domain} does not exist in DNS (NXDOMAIN), so it cannot receive mail.`,
        remedy: `Check the spelling. If the domain is yours, make sure it is registered and delegated to name servers that serve its zone.`,
        details: { rcode: 'NXDOMAIN' },
      }),
    ];
    return { findings, mx: { kind: 'nxdomain', hosts: [], ...ttl } };
  }
  const aliasNote = answer.cnameChain.length ? ` (${domain} is an alias of ${answer.cnameChain.at(-1)})` : '';
  if (answer.records.length === 0) return implicitMx(facts, ttl, aliasNote);

  // Null MX (RFC 7505): a single MX record whose exchange is the root.
  const nulls = answer.records.filter((r) => r.exchange === '');
  const real = answer.records.filter((r) => r.exchange !== '');
  if (nulls.length > 0 && real.length === 0)
    return { findings: [nullMxFinding(domain, nulls)], mx: { kind: 'null', hosts: [], ...ttl } };
  const findings: Finding[] = [];
  if (nulls.length > 0) findings.push(mixedNullFinding(domain, answer.records, real));

  const sorted = byPreference([...real]);
  const seen = mxTargets(sorted);
  const hosts = [...seen]
    .slice(0, MAX_MX_HOSTS)
    .map(([name, prefs]) => hostFrom(name, prefs[0] ?? 0, facts.hosts[name], false));
  findings.push(...targetFindings(domain, seen, hosts));
  const targets = danglingFindings(facts, hosts);
  findings.push(...targets.findings);
  findings.push(
    recordsFinding(
      domain,
      { sorted, hosts, total: seen.size, resolved: targets.resolved, aliasNote },
      findings,
    ),
  );
  findings.push(...addressFindings(facts, hosts));
  return { findings, mx: { kind: 'mx', hosts, ...ttl } };
}

function lookupError(domain: string, answer: DnsAnswer<RecordOf<'MX'>>): Finding {
  return F.make('mx.records', 'error', {
    summary: `Could not look up the MX records of ${domain}: ${describeFailure(answer)}. This is not proof that the domain is broken; the check could not be completed.`,
    remedy:
      answer.rcode === 'SERVFAIL'
        ? `If this persists, look at the domain's name servers (for example with "dig +trace ${domain} MX"): SERVFAIL usually means a broken delegation, unreachable name servers, or a DNSSEC validation failure.`
        : `Try again, or use another resolver with --resolver.`,
    details: { rcode: answer.rcode, error: answer.error ?? null },
  });
}

/** No MX records: mail goes to the domain's own addresses (RFC 5321 §5.1), if it has any. */
function implicitMx(
  facts: MxFacts,
  ttl: { ttl?: number },
  aliasNote: string,
): { findings: Finding[]; mx: MxSet } {
  const { domain } = facts;
  const findings: Finding[] = [];
  const implicit = facts.implicit;
  if (!implicit || (!isDefinite(implicit.a) && !isDefinite(implicit.aaaa))) {
    findings.push(
      F.make('mx.records', 'error', {
        summary: `${domain} has no MX records, and its A/AAAA records could not be looked up${implicit ? `: ${describeFailure(implicit.a)}` : ''}.`,
        details: { rcode: 'NOERROR', mx: [] },
      }),
    );
    return { findings, mx: { kind: 'error', hosts: [], ...ttl } };
  }
  const host = hostFrom(domain, 0, implicit, true);
  if (host.addresses.length === 0) {
    findings.push(
      F.make('mx.records', 'fail', {
        summary: `${domain} has no MX records and no A or AAAA record${aliasNote}, so no one can deliver mail to it.`,
        remedy: `Publish MX records for ${domain} naming your mail servers, e.g. "${domain}. 3600 IN MX 10 mail.${domain}." — or, if the domain should never receive mail, publish a null MX: "${domain}. IN MX 0 ." (RFC 7505).`,
        details: { mx: [], a: implicit.a.rcode, aaaa: implicit.aaaa.rcode },
      }),
    );
    return { findings, mx: { kind: 'none', hosts: [], ...ttl } };
  }
  findings.push(
    F.make('mx.records', 'info', {
      summary: `${domain} has no MX records${aliasNote}; senders fall back to its own address${host.addresses.length > 1 ? 'es' : ''} ${list(host.addresses.map((a) => a.address))}.`,
      details: { mx: [] },
    }),
    F.make('mx.implicit', 'warn', {
      summary: `Mail for ${domain} goes to the domain's own A/AAAA record (implicit MX, RFC 5321 §5.1) because it publishes no MX record.`,
      remedy: `Publish an explicit MX record, e.g. "${domain}. IN MX 10 ${domain}." (or your real mail host). If the domain should not receive mail, publish a null MX "${domain}. IN MX 0 ." instead.`,
      details: { addresses: host.addresses.map((a) => a.address) },
      subject: { host: domain },
    }),
  );
  const mx: MxSet = { kind: 'implicit', hosts: [host], ...ttl };
  findings.push(...addressFindings(facts, mx.hosts));
  return { findings, mx };
}

/** mx.null when the null MX is the only record. */
function nullMxFinding(domain: string, nulls: RecordOf<'MX'>[]): Finding {
  const pref = nulls[0]?.preference ?? 0;
  return pref === 0
    ? F.make('mx.null', 'info', {
        summary: `${domain} publishes a null MX ("0 .", RFC 7505): it states that it accepts no mail. Senders bounce mail to it at once; mail servers are not contacted.`,
        details: { records: nulls.map((r) => `${r.preference} .`) },
      })
    : F.make('mx.null', 'warn', {
        summary: `${domain} publishes a null MX with preference ${pref} ("${pref} ."); RFC 7505 §3 requires preference 0. Senders still cannot deliver to it.`,
        remedy: `Publish the null MX as "${domain}. IN MX 0 ."`,
        details: { records: nulls.map((r) => `${r.preference} .`) },
      });
}

/** mx.null when a null MX is mixed with real MX records. */
function mixedNullFinding(domain: string, records: RecordOf<'MX'>[], real: RecordOf<'MX'>[]): Finding {
  return F.make('mx.null', 'fail', {
    summary: `${domain} publishes a null MX ("0 .") together with ${real.length} other MX record${real.length > 1 ? 's' : ''} (${list(real.map((r) => `${r.preference} ${r.exchange}`))}). RFC 7505 §3 forbids mixing them; senders may treat the domain as accepting no mail, or bounce.`,
    remedy: `Decide whether ${domain} receives mail. If it does, delete the "0 ." record; if it does not, delete the other MX records.`,
    details: { records: records.map((r) => `${r.preference} ${r.exchange || '.'}`) },
  });
}

/** mx.duplicate, mx.ip_literal and mx.cname: how the MX targets are named. */
function targetFindings(domain: string, seen: Map<string, number[]>, hosts: MxHost[]): Finding[] {
  const findings: Finding[] = [];
  for (const [name, prefs] of seen) {
    if (prefs.length > 1) {
      findings.push(
        F.make('mx.duplicate', 'warn', {
          summary: `${name} is listed in ${prefs.length} MX records of ${domain} (preferences ${prefs.join(', ')}). The duplicates add nothing and confuse readers and some tools.`,
          remedy: `Keep one MX record for ${name} with the preference you intend.`,
          subject: { host: name },
          details: { preferences: prefs },
        }),
      );
    }
  }

  for (const host of hosts) {
    if (host.ipLiteral) {
      findings.push(
        F.make('mx.ip_literal', 'fail', {
          summary: `The MX record "${host.preference} ${host.name}" names an IP address, not a host. MX targets must be host names (RFC 5321 §5.1); most senders will not deliver to it.`,
          remedy: `Give the server a name with an A/AAAA record, e.g. "mail.${domain}. IN A ${host.name}", and point the MX at it: "${domain}. IN MX ${host.preference} mail.${domain}."`,
          subject: { host: host.name },
        }),
      );
    }
    if (host.cnameChain.length > 0) {
      findings.push(
        F.make('mx.cname', 'warn', {
          summary: `The MX target ${host.name} is an alias (CNAME) of ${host.cnameChain.join(' → ')}. RFC 2181 §10.3 says MX records must point at a host's canonical name; some MTAs reject or mishandle aliases.`,
          remedy: `Point the MX record at the canonical name instead: "${domain}. IN MX ${host.preference} ${host.cnameChain.at(-1)}."`,
          subject: { host: host.name },
          details: { cnameChain: host.cnameChain },
        }),
      );
    }
  }

  return findings;
}

/** mx.dangling: MX hosts without an address; and the hosts that have one. */
function danglingFindings(facts: MxFacts, hosts: MxHost[]): { findings: Finding[]; resolved: MxHost[] } {
  const { domain } = facts;
  const findings: Finding[] = [];
  // Dangling targets: names that are not IP literals but have no addresses.
  const named = hosts.filter((h) => !h.ipLiteral);
  for (const host of named) {
    if (host.addresses.length > 0) continue;
    const answers = facts.hosts[host.name];
    const failed = !answers || !isDefinite(answers.a) || !isDefinite(answers.aaaa);
    if (failed) {
      findings.push(
        F.make('mx.dangling', 'error', {
          summary: `Could not resolve the MX host ${host.name}: ${answers ? describeFailure(isDefinite(answers.a) ? answers.aaaa : answers.a) : 'not looked up'}.`,
          subject: { host: host.name },
          details: { a: host.lookup.a, aaaa: host.lookup.aaaa },
        }),
      );
      continue;
    }
    const why = answers.a.rcode === 'NXDOMAIN' ? 'does not exist (NXDOMAIN)' : 'has no A or AAAA record';
    findings.push(
      F.make('mx.dangling', 'fail', {
        summary: `The MX host ${host.name} (preference ${host.preference}) ${why}, so senders cannot deliver to it${named.length > 1 ? ' and must try the other MX hosts' : ''}.`,
        remedy: `Add an A (and AAAA) record for ${host.name}, or remove "${domain}. IN MX ${host.preference} ${host.name}." if that server is gone.`,
        subject: { host: host.name },
        details: { a: host.lookup.a, aaaa: host.lookup.aaaa },
      }),
    );
  }
  const resolved = named.filter((h) => h.addresses.length > 0);
  if (named.length > 0 && resolved.length === named.length) {
    findings.push(
      F.make('mx.dangling', 'pass', {
        summary: `Every MX host has an address: ${list(resolved.map((h) => `${h.name} (${h.addresses.length})`))}.`,
      }),
    );
  }

  return { findings, resolved };
}

/** mx.records when there are MX records: usable, none usable, or not all could be looked up. */
function recordsFinding(
  domain: string,
  mx: { sorted: RecordOf<'MX'>[]; hosts: MxHost[]; total: number; resolved: MxHost[]; aliasNote: string },
  earlier: Finding[],
): Finding {
  const { sorted, hosts, total, resolved, aliasNote } = mx;
  const mxText = list(
    hosts.map((h) => `${h.preference} ${h.name}`),
    8,
  );
  const extra = total > MAX_MX_HOSTS ? ` (only the first ${MAX_MX_HOSTS} of ${total} are checked)` : '';
  const details = { records: sorted.map((r) => ({ preference: r.preference, exchange: r.exchange })) };
  if (resolved.length > 0)
    return F.make('mx.records', 'pass', {
      summary: `${domain} has ${total} MX host${total > 1 ? 's' : ''}${aliasNote}: ${mxText}${extra}.`,
      details,
    });
  if (earlier.every((f) => f.status !== 'error'))
    return F.make('mx.records', 'fail', {
      summary: `None of the MX hosts of ${domain} (${mxText}) has a usable address, so the domain cannot receive mail.`,
      remedy: `Point the MX records at mail servers with A/AAAA records.`,
      details,
    });
  return F.make('mx.records', 'error', {
    summary: `${domain} has MX records (${mxText}), but their addresses could not be looked up.`,
    details,
  });
}

/** Private/reserved addresses, shared addresses and IPv6 coverage of the resolved hosts. */
function addressFindings(facts: MxFacts, hosts: MxHost[]): Finding[] {
  const findings: Finding[] = [];
  const withAddresses = hosts.filter((h) => h.addresses.length > 0);
  if (withAddresses.length === 0) return findings;

  let anyPrivate = false;
  for (const host of withAddresses) {
    const bad = host.addresses.filter((a) => a.category !== 'public');
    if (bad.length === 0) continue;
    anyPrivate = true;
    const described = bad.map((a) => `${a.address} (${classifyAddress(a.address).description})`);
    const status = facts.publicDomain && !facts.allowPrivate ? 'fail' : 'info';
    findings.push(
      F.make('mx.private_address', status, {
        summary: `The MX host ${host.name} resolves to ${bad.length === host.addresses.length ? '' : 'some '}non-public address${bad.length > 1 ? 'es' : ''}: ${list(described, 4)}. Senders on the Internet cannot reach ${bad.length > 1 ? 'them' : 'it'}${status === 'info' ? (facts.allowPrivate ? ' (allowed by MXDOCTOR_ALLOW_PRIVATE)' : ` (${facts.domain} is not under a public suffix)`) : ''}.`,
        ...(status === 'fail'
          ? {
              remedy: `Publish the public address of ${host.name} in DNS. Internal addresses belong in a split-horizon internal view, not in the public zone.`,
            }
          : {}),
        subject: { host: host.name },
        details: { addresses: bad.map((a) => ({ address: a.address, category: a.category })) },
      }),
    );
  }
  if (!anyPrivate) {
    findings.push(
      F.make('mx.private_address', 'pass', {
        summary: `All ${withAddresses.reduce((n, h) => n + h.addresses.length, 0)} MX addresses are public.`,
      }),
    );
  }

  // Several MX names that share addresses provide no redundancy.
  const byAddress = new Map<string, string[]>();
  for (const host of withAddresses) {
    for (const a of host.addresses)
      byAddress.set(a.address, [...(byAddress.get(a.address) ?? []), host.name]);
  }
  const shared = [...byAddress].filter(([, names]) => names.length > 1);
  if (shared.length > 0 && withAddresses.length > 1) {
    findings.push(
      F.make('mx.duplicate', 'info', {
        summary: `Several MX hosts share addresses: ${list(
          shared.map(([addr, names]) => `${addr} (${names.join(', ')})`),
          3,
        )}. They are one server under several names, not a fallback.`,
        details: { shared: Object.fromEntries(shared) },
      }),
    );
  }

  const v6 = withAddresses.filter((h) => h.addresses.some((a) => a.family === 6));
  if (v6.length === withAddresses.length) {
    findings.push(F.make('mx.ipv6', 'pass', { summary: `Every MX host has an IPv6 address.` }));
  } else if (v6.length === 0) {
    findings.push(
      F.make('mx.ipv6', 'info', {
        summary: `No MX host has an IPv6 (AAAA) address; IPv6-only senders cannot deliver. This is common and not an error.`,
        details: { hostsWithoutIpv6: withAddresses.map((h) => h.name) },
      }),
    );
  } else {
    const without = withAddresses.filter((h) => !v6.includes(h));
    findings.push(
      F.make('mx.ipv6', 'info', {
        summary: `${v6.length} of ${withAddresses.length} MX hosts have an IPv6 address; without: ${list(without.map((h) => h.name))}.`,
        details: { hostsWithoutIpv6: without.map((h) => h.name) },
      }),
    );
  }
  return findings;
}

async function gatherMx(ctx: CheckContext): Promise<MxFacts> {
  const domain = ctx.domain.ascii;
  const found = await lookUpMx(ctx.dns, domain, ctx.signal, (name, done, total) =>
    ctx.progress(`resolved ${name}`, done / total, { index: done, total }),
  );
  return {
    domain,
    publicDomain: isPublicDomain(domain),
    allowPrivate: ctx.config.net.allowPrivate,
    ...found,
  };
}

/**
 * One MX host as its addresses arrive: its name, preference and whether it is an IP literal
 * at once; its first IPv4 address as soon as the A answer is in; the host (as `evaluateMx`
 * builds it) when both its A and AAAA answers are.
 */
export interface HostArrival {
  name: string;
  preference: number;
  ipLiteral: boolean;
  /** The first address of the A answer (undefined when it has none): the host's first target. */
  firstIpv4: Promise<string | undefined>;
  host: Promise<MxHost>;
}

/**
 * The MX hosts of a domain as their addresses arrive, in the MX set's order, for the SMTP
 * probe: the sessions with the first host need not wait for the lookups of the others (a
 * backup MX whose name servers are slow or dead would hold every session until its lookup
 * gave up). Asked through the run's resolver, whose cache shares the questions and answers
 * with the MX check. Undefined when the MX answer names no host — no answer, NXDOMAIN, no
 * records (the implicit MX) or a null MX alone: then the MX check's set is what to wait for.
 */
export async function mxHostArrivals(
  dns: Resolver,
  domain: string,
  signal: AbortSignal,
): Promise<HostArrival[] | undefined> {
  const answer = await dns.query(domain, 'MX', { signal });
  if (answer.rcode !== 'NOERROR') return undefined;
  const targets = [...mxTargets(answer.records)].slice(0, MAX_MX_HOSTS);
  if (targets.length === 0) return undefined;
  return targets.map(([name, prefs]): HostArrival => {
    const preference = prefs[0] ?? 0;
    if (isIpLiteralName(name)) {
      const host = hostFrom(name, preference, undefined, false);
      return {
        name,
        preference,
        ipLiteral: true,
        firstIpv4: Promise.resolve(undefined),
        host: Promise.resolve(host),
      };
    }
    const a = dns.query(name, 'A', { signal });
    const aaaa = dns.query(name, 'AAAA', { signal });
    const firstIpv4 = a.then((answer) => answer.records[0]?.address);
    const host = Promise.all([a, aaaa]).then(([a, aaaa]) => hostFrom(name, preference, { a, aaaa }, false));
    // A lookup ends in a rejection only when the run is aborted; whoever awaits these sees it,
    // and one that nobody awaits any more (a host over the cap, the rest of an aborted probe)
    // must not end the process as an unhandled rejection.
    firstIpv4.catch(() => undefined);
    host.catch(() => undefined);
    return { name, preference, ipLiteral: false, firstIpv4, host };
  });
}

declare module '../checks/types.js' {
  interface CheckData {
    mx: MxSet;
  }
}

// No dataSchema: the MX set is the report's own field (`mx`, declared by the report model), not
// a check's data, and the report model's schemas stay off the way to the first SMTP connection.
export const mxCheck = defineCheck('mx', {
  findings: F.specs,
  async run(ctx) {
    ctx.progress(`resolving MX of ${ctx.domain.ascii}`, 0);
    const facts = await gatherMx(ctx);
    const { findings, mx } = evaluateMx(facts);
    return { findings, data: mx };
  },
});
