import { z } from 'zod';
import { defineFindings } from '../checks/findings.js';
import type { Finding } from '../report/model.js';
import { caaPolicy, permittedIssuers } from './record.js';
import type { CaaLookup } from './lookup.js';

/**
 * caa.records: for every MX host and the MTA-STS policy host, which CAs their CAA records
 * (RFC 8659) allow to issue certificates, and whether the certificate each one presented
 * was issued by one of them. Informational: the match is a heuristic on the issuer's name
 * (a CAA record names a CA by a domain, a certificate by an organisation), and says so.
 */
export const CAA_FINDINGS = defineFindings('caa', {
  'caa.records': {
    title: 'CAA records',
    statuses: ['info', 'error'],
    meaning:
      'Per MX host and the MTA-STS policy host (informational): the CAA records that apply (RFC 8659 tree climbing) and the CAs they allow, and whether the certificate seen was issued by one of them, by a heuristic match of the issuer name; the CAA lookup failed (error).',
  },
});

/** CA domain names in CAA records and words that appear in their certificates' issuer names. */
const KNOWN_CAS: Record<string, string[]> = {
  'letsencrypt.org': ["let's encrypt", 'isrg'],
  'pki.goog': ['google trust services'],
  'digicert.com': ['digicert', 'geotrust', 'thawte', 'rapidssl', 'symantec'],
  'symantec.com': ['symantec', 'digicert'],
  'geotrust.com': ['geotrust', 'digicert'],
  'thawte.com': ['thawte', 'digicert'],
  'rapidssl.com': ['rapidssl', 'digicert'],
  'sectigo.com': ['sectigo', 'comodo', 'usertrust'],
  'comodoca.com': ['comodo', 'sectigo', 'usertrust'],
  'comodo.com': ['comodo', 'sectigo'],
  'usertrust.com': ['usertrust', 'sectigo'],
  'trust-provider.com': ['sectigo'],
  'zerossl.com': ['zerossl'],
  'globalsign.com': ['globalsign'],
  'amazon.com': ['amazon'],
  'amazontrust.com': ['amazon'],
  'awstrust.com': ['amazon'],
  'amazonaws.com': ['amazon'],
  'buypass.com': ['buypass'],
  'buypass.no': ['buypass'],
  'ssl.com': ['ssl.com', 'ssl corporation'],
  'entrust.net': ['entrust'],
  'affirmtrust.com': ['affirmtrust', 'entrust'],
  'godaddy.com': ['godaddy', 'go daddy', 'starfield'],
  'starfieldtech.com': ['starfield', 'godaddy'],
  'harica.gr': ['harica', 'hellenic academic'],
  'certum.pl': ['certum', 'unizeto', 'asseco'],
  'certum.eu': ['certum', 'asseco'],
  'microsoft.com': ['microsoft'],
  'actalis.it': ['actalis'],
  'swisssign.com': ['swisssign'],
  'telia.com': ['telia'],
  'identrust.com': ['identrust'],
};

/**
 * Whether the issuer DN plausibly belongs to the CA named by `caaDomain` (a heuristic): a
 * known CA's words in the issuer name, else the domain's first label (≥ 4 letters).
 */
export function issuerMatches(caaDomain: string, issuer: string): boolean {
  const text = issuer.toLowerCase();
  const known = KNOWN_CAS[caaDomain.toLowerCase()];
  if (known) return known.some((w) => text.includes(w));
  const label = caaDomain.toLowerCase().split('.')[0] ?? '';
  return label.length >= 4 && text.includes(label);
}

export const CaaDataSchema = z.object({
  hosts: z.array(
    z.object({
      host: z.string(),
      role: z.enum(['mx', 'mta_sts']),
      asked: z.array(z.string()),
      foundAt: z.string().optional().describe('Where the relevant CAA RRset was found'),
      rcode: z.string(),
      records: z.array(z.object({ flags: z.number().int(), tag: z.string(), value: z.string() })),
      error: z.string().optional(),
      certificates: z
        .array(
          z.object({
            issuer: z.string(),
            permitted: z
              .boolean()
              .nullable()
              .describe('Heuristic: issued by a CA the records allow (null: no CAA)'),
            matchedBy: z.string().optional().describe('The CAA issuer domain that matched'),
          }),
        )
        .describe('Issuers of the certificates this host presented'),
    }),
  ),
});
export type CaaData = z.infer<typeof CaaDataSchema>;
export type CaaHost = CaaData['hosts'][number];

/** Builds a host entry from a lookup and the issuers of the certificates seen for it. */
export function caaHost(lookup: CaaLookup, role: CaaHost['role'], issuers: readonly string[]): CaaHost {
  const policy = caaPolicy(lookup.records);
  const allowed = permittedIssuers(policy)
    .map((i) => i.domain)
    .filter(Boolean);
  const host: CaaHost = {
    host: lookup.host,
    role,
    asked: lookup.asked,
    rcode: lookup.rcode,
    records: lookup.records,
    certificates: [...new Set(issuers)].map((issuer) => {
      if (lookup.records.length === 0 || policy.issue.length === 0) return { issuer, permitted: null };
      const by = allowed.find((d) => issuerMatches(d, issuer));
      return by ? { issuer, permitted: true, matchedBy: by } : { issuer, permitted: false };
    }),
  };
  if (lookup.foundAt) host.foundAt = lookup.foundAt;
  if (lookup.error) host.error = lookup.error;
  return host;
}

const capitalize = (text: string): string => text.charAt(0).toUpperCase() + text.slice(1);

export function evaluateCaa(data: CaaData): Finding[] {
  const F = CAA_FINDINGS;
  return data.hosts.map((h) => {
    const subject = { host: h.host };
    const what = h.role === 'mx' ? 'MX host' : 'MTA-STS policy host';
    if (h.error)
      return F.make('caa.records', 'error', {
        summary: `Could not determine the CAA records of ${what} ${h.host}: ${h.error}.`,
        subject,
        details: { asked: h.asked },
      });
    const details = { foundAt: h.foundAt ?? null, records: h.records, certificates: h.certificates };
    if (h.records.length === 0)
      return F.make('caa.records', 'info', {
        summary: `No CAA records apply to ${what} ${h.host} (asked ${h.asked.join(', ')}): any CA may issue certificates for it.`,
        subject,
        details,
      });
    const policy = caaPolicy(h.records);
    const issue = policy.issue.map((i) => i.domain || '(none)');
    const wild = policy.issuewild.map((i) => i.domain || '(none)');
    const parts = [
      issue.length
        ? policy.issue.every((i) => i.domain === '')
          ? 'no CA may issue ("issue ;")'
          : `issue: ${issue.join(', ')}`
        : 'no "issue" property (any CA may issue for ordinary names)',
      ...(wild.length ? [`issuewild: ${wild.join(', ')}`] : []),
      ...(policy.iodef.length ? [`violations reported to ${policy.iodef.join(', ')}`] : []),
      ...(policy.unknownCritical.length
        ? [`unknown critical tags ${policy.unknownCritical.join(', ')} (CAs must refuse to issue)`]
        : []),
      ...(policy.problems.length ? [`malformed: ${policy.problems.join('; ')}`] : []),
    ];
    const certs = h.certificates.map((c) =>
      c.permitted === true
        ? `the certificate seen was issued by ${c.issuer}, which looks like ${c.matchedBy}`
        : c.permitted === false
          ? `the certificate seen was issued by ${c.issuer}, which does not look like any CA these records allow: a renewal from the same CA would be refused`
          : `the certificate seen was issued by ${c.issuer}`,
    );
    const heuristic = h.certificates.some((c) => c.permitted !== null)
      ? ' (matched by name, a heuristic: CAA names a CA by domain, the certificate by organisation)'
      : '';
    return F.make('caa.records', 'info', {
      summary: `CAA for ${what} ${h.host} (found at ${h.foundAt}): ${parts.join('; ')}.${certs.length ? ` ${capitalize(certs.join('; '))}${heuristic}.` : ' No certificate was seen for it.'}`,
      subject,
      details,
    });
  });
}
