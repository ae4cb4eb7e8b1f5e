import { defineFindings } from '../checks/findings.js';
import type { Finding } from '../report/model.js';
import type { TlsObservation } from '../tls/model.js';
import type { SmtpFacts } from './evaluate-facts.js';
import type { CatchAllState } from './evaluate-recipients.js';
import { legacyJudged, recipientSession } from './probe.js';
import type { AddressProbe } from './probe.js';

/**
 * Findings across MX addresses — whether they behave alike (a backup MX without STARTTLS, IPv6
 * weaker than IPv4, a catch-all backup) — and about the probe's own identity.
 */

export const CONSISTENCY_FINDINGS = defineFindings('smtp', {
  'smtp.consistency': {
    title: 'MX consistency',
    statuses: ['pass', 'info', 'warn'],
    meaning:
      'The MX hosts and addresses behave alike (pass). warn when STARTTLS, TLS versions, trust, catch-all or relay behaviour differ (e.g. a backup MX without STARTTLS, IPv6 weaker than IPv4, a backup MX that accepts every address while the primary rejects unknown ones); info for neutral differences (different certificates that are all valid) or when there was nothing to compare.',
  },
  'probe.identity': {
    title: 'Probe identity',
    statuses: ['info', 'warn'],
    meaning:
      'How mxdoctor introduced itself (EHLO name, MAIL FROM) and the address servers saw (info). warn when that identity is likely to skew results: an EHLO name that is not a fully qualified domain name or says "localhost", which many servers penalise.',
  },
});

const F = CONSISTENCY_FINDINGS;

function tlsRank(o: TlsObservation): number {
  if (o.starttls !== 'offered') return 0;
  if (o.handshake !== 'ok') return 1;
  if (!o.trusted || o.hostnameMatches === false) return 2;
  return 3;
}

/** What one comparison found: problems (warn) and neutral notes (info). */
interface Differences {
  problems?: string[];
  notes?: string[];
}

type Comparison = (reached: AddressProbe[], catchAll: Map<AddressProbe, CatchAllState>) => Differences;

const label = (p: AddressProbe): string => `${p.host} ${p.address}`;

const withWorkingTls = (reached: AddressProbe[]): AddressProbe[] =>
  reached.filter((p) => p.tls.starttls === 'offered' && p.tls.handshake === 'ok');

/** The comparisons, in the order their problems are listed. */
const COMPARISONS: Comparison[] = [
  // STARTTLS on some but not all.
  (reached) => {
    const withTls = withWorkingTls(reached);
    if (withTls.length === 0 || withTls.length === reached.length) return {};
    const without = reached.filter((p) => !withTls.includes(p));
    return {
      problems: [
        `STARTTLS works on ${withTls.map(label).join(', ')} but not on ${without.map(label).join(', ')}`,
      ],
    };
  },
  // Trust / name on some but not all.
  (reached) => {
    const withTls = withWorkingTls(reached);
    const good = withTls.filter((p) => p.tls.trusted && p.tls.hostnameMatches);
    if (good.length === 0 || good.length === withTls.length) return {};
    return {
      problems: [
        `the certificate is trusted and matches on ${good.map(label).join(', ')} but not on ${withTls
          .filter((p) => !good.includes(p))
          .map(label)
          .join(', ')}`,
      ],
    };
  },
  // TLS versions.
  (reached) => {
    const withTls = withWorkingTls(reached);
    const versions = new Set(withTls.map((p) => p.tls.protocol));
    if (versions.size <= 1) return {};
    return {
      problems: [`TLS versions differ: ${withTls.map((p) => `${label(p)} ${p.tls.protocol}`).join(', ')}`],
    };
  },
  // Legacy protocols.
  (reached) => {
    const legacyOn = reached.filter((p) => legacyJudged(p)?.accepted === true);
    const legacyOff = reached.filter((p) => legacyJudged(p)?.accepted === false);
    if (!legacyOn.length || !legacyOff.length) return {};
    return {
      problems: [
        `TLS 1.0/1.1 are accepted by ${legacyOn.map(label).join(', ')} but refused by ${legacyOff.map(label).join(', ')}`,
      ],
    };
  },
  // IPv6 weaker than IPv4 on one host.
  (reached) => {
    const problems: string[] = [];
    for (const host of new Set(reached.map((p) => p.host))) {
      const v4 = reached.filter((p) => p.host === host && p.family === 4);
      const v6 = reached.filter((p) => p.host === host && p.family === 6);
      if (
        v4.length &&
        v6.length &&
        Math.min(...v6.map((p) => tlsRank(p.tls))) < Math.max(...v4.map((p) => tlsRank(p.tls)))
      ) {
        problems.push(`IPv6 is weaker than IPv4 on ${host}`);
      }
    }
    return { problems };
  },
  // Different certificates behind one name.
  (reached) => {
    const withTls = withWorkingTls(reached);
    const notes: string[] = [];
    for (const host of new Set(withTls.map((p) => p.host))) {
      const certs = new Set(withTls.filter((p) => p.host === host).map((p) => p.tls.chain[0]?.sha256));
      if (certs.size > 1)
        notes.push(`${host} presents ${certs.size} different certificates on its addresses`);
    }
    return { notes };
  },
  // Backup MX weaker than the primary.
  (reached, catchAll) => {
    const prefs = [...new Set(reached.map((p) => p.preference))].sort((a, b) => a - b);
    if (prefs.length <= 1) return {};
    const problems: string[] = [];
    const primary = reached.filter((p) => p.preference === prefs[0]);
    const backups = reached.filter((p) => p.preference !== prefs[0]);
    const best = Math.min(...primary.map((p) => tlsRank(p.tls)));
    const weaker = backups.filter((p) => tlsRank(p.tls) < best);
    if (weaker.length)
      problems.push(
        `backup MX ${[...new Set(weaker.map((p) => p.host))].join(', ')} ha${weaker.length > 1 ? 've' : 's'} weaker TLS than the primary (attackers can force mail onto it)`,
      );
    const primaryCatchAll = primary
      .map((p) => catchAll.get(p))
      .filter((s): s is CatchAllState => s !== undefined && s.state !== 'unknown');
    const backupAll = backups.filter((p) => catchAll.get(p)?.state === 'yes');
    if (primaryCatchAll.length && primaryCatchAll.every((s) => s.state === 'no') && backupAll.length) {
      problems.push(
        `backup MX ${[...new Set(backupAll.map((p) => p.host))].join(', ')} accepts every address while the primary rejects unknown ones: mail to mistyped addresses is accepted there and bounced later (backscatter), and spammers can use it to bypass the primary's filters`,
      );
    }
    return { problems };
  },
  // Open relay on some.
  (reached) => {
    const relays = reached.filter((p) => {
      const relay = recipientSession(p)?.relay;
      const r = relay?.rcptReply;
      return r && !relay.outOfStep && (r.code === 250 || r.code === 251);
    });
    if (!relays.length || relays.length === reached.length) return {};
    return {
      problems: [
        `${relays.map(label).join(', ')} relay${relays.length === 1 ? 's' : ''} for foreign domains while the others refuse`,
      ],
    };
  },
];

/** smtp.consistency: what differs between the MX addresses that answered SMTP. */
export function consistencyFinding(facts: SmtpFacts, catchAll: Map<AddressProbe, CatchAllState>): Finding {
  const reached = facts.probes.filter((p) => p.main.ehlo);
  const [only] = reached;
  if (reached.length < 2) {
    return F.make('smtp.consistency', 'info', {
      summary: only
        ? `Only one MX address (${only.host} ${only.address}) answered SMTP; nothing to compare.`
        : 'No MX address answered SMTP; nothing to compare.',
      details: { reached: reached.length },
    });
  }
  const found = COMPARISONS.map((compare) => compare(reached, catchAll));
  const problems = found.flatMap((d) => d.problems ?? []);
  const notes = found.flatMap((d) => d.notes ?? []);
  const details = {
    compared: reached.map((p) => ({
      host: p.host,
      address: p.address,
      starttls: p.tls.starttls,
      handshake: p.tls.handshake,
      protocol: p.tls.protocol ?? null,
      trusted: p.tls.trusted ?? null,
      certificate: p.tls.chain[0]?.sha256 ?? null,
    })),
    problems,
    notes,
  };
  if (problems.length)
    return F.make('smtp.consistency', 'warn', {
      summary: `The MX servers of ${facts.domain} differ: ${problems.join('; ')}.${notes.length ? ` Also: ${notes.join('; ')}.` : ''}`,
      remedy:
        'Configure every MX host and address alike; a sender may use any of them, and an attacker can steer mail to the weakest.',
      details,
    });
  if (notes.length)
    return F.make('smtp.consistency', 'info', { summary: `${notes.join('; ')} (all valid).`, details });
  return F.make('smtp.consistency', 'pass', {
    summary: `All ${reached.length} MX addresses that answered behave alike.`,
    details,
  });
}

/** probe.identity: how mxdoctor introduced itself, and what the servers saw. */
export function identityFinding(facts: SmtpFacts): Finding {
  const seen = [
    ...new Set(
      facts.probes
        .map((p) => p.main.ehlo?.clientAddress ?? p.rcpt?.ehlo?.clientAddress)
        .filter((a): a is string => Boolean(a)),
    ),
  ];
  const name = facts.ehloName;
  const problems: string[] = [];
  if (name === 'localhost' || name.startsWith('localhost.'))
    problems.push(`the EHLO name "${name}" says localhost`);
  else if (!name.includes('.')) problems.push(`the EHLO name "${name}" is not a fully qualified domain name`);
  else if (/\.(local|localdomain|lan|internal|home|corp)$/i.test(name))
    problems.push(`the EHLO name "${name}" is not a public domain name`);
  const via = facts.proxy
    ? ` through the SOCKS5 proxy ${facts.proxy}${facts.proxyBound?.length ? ` (which connected from ${facts.proxyBound.join(', ')})` : ''}`
    : '';
  const text = `mxdoctor said EHLO ${name}, used MAIL FROM:<${facts.mailFrom}>${via}${seen.length ? `, and servers saw it as ${seen.join(', ')}` : ''}.`;
  const details = {
    ehloName: name,
    mailFrom: facts.mailFrom,
    clientAddresses: seen,
    ...(facts.proxy ? { proxy: facts.proxy, proxyBound: facts.proxyBound ?? [] } : {}),
  };
  if (problems.length)
    return F.make('probe.identity', 'warn', {
      summary: `${text} But ${problems.join(', ')}: many servers refuse or penalise such clients, which can make results look worse than what real senders get.`,
      remedy:
        'Set MXDOCTOR_EHLO_NAME (or --helo) to the fully qualified name of the probing host, with matching A and PTR records.',
      details,
    });
  return F.make('probe.identity', 'info', { summary: text, details });
}
