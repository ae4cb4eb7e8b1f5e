import type { CaaRecord } from '../dns/types.js';

/**
 * CAA (RFC 8659): which certificate authorities a domain allows to issue certificates for
 * it. A pure parser of the property values of one relevant RRset (the one the tree climb in
 * lookup.ts found); matching against the certificates seen is in evaluate.ts.
 */

export interface CaaIssuer {
  /** Issuer domain name, lower case; "" when the value names none (";" forbids issuance). */
  domain: string;
  /** Parameters after ";", as written. */
  params: string;
}

export interface CaaPolicy {
  issue: CaaIssuer[];
  issuewild: CaaIssuer[];
  iodef: string[];
  /** Unknown tags with the critical flag set: a CA must refuse to issue (RFC 8659 §4.1). */
  unknownCritical: string[];
  problems: string[];
}

/** A domain name written with letters, digits and hyphens only; checked label by label. */
function isIssuerDomain(text: string): boolean {
  if (text.length === 0 || text.length > 253) return false;
  return text.split('.').every((label) => {
    if (label.length === 0 || label.length > 63) return false;
    if (label.startsWith('-') || label.endsWith('-')) return false;
    for (const ch of label) {
      const c = ch.charCodeAt(0);
      const ok = (c >= 48 && c <= 57) || (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || ch === '-';
      if (!ok) return false;
    }
    return true;
  });
}

/** "issue" and "issuewild" values (RFC 8659 §4.2): [issuer-domain-name] [";" parameters]. */
export function parseIssueValue(value: string): CaaIssuer | { error: string } {
  const semi = value.indexOf(';');
  const domain = (semi < 0 ? value : value.slice(0, semi)).trim().toLowerCase().replace(/\.$/, '');
  const params = semi < 0 ? '' : value.slice(semi + 1).trim();
  if (domain !== '' && !isIssuerDomain(domain))
    return { error: `"${value}" does not start with an issuer domain name` };
  return { domain, params };
}

export function caaPolicy(records: readonly Pick<CaaRecord, 'flags' | 'tag' | 'value'>[]): CaaPolicy {
  const policy: CaaPolicy = { issue: [], issuewild: [], iodef: [], unknownCritical: [], problems: [] };
  for (const r of records) {
    const tag = r.tag.toLowerCase();
    if (tag === 'issue' || tag === 'issuewild') {
      const parsed = parseIssueValue(r.value);
      if ('error' in parsed) policy.problems.push(`${tag}: ${parsed.error}`);
      else policy[tag].push(parsed);
    } else if (tag === 'iodef') policy.iodef.push(r.value);
    else if (r.flags & 0x80) policy.unknownCritical.push(r.tag);
  }
  return policy;
}

/** The issuers allowed for ordinary (non-wildcard) names: issuewild does not apply to them. */
export function permittedIssuers(policy: CaaPolicy, wildcard = false): CaaIssuer[] {
  // RFC 8659 §4.3: issuewild, when present, replaces issue for wildcard certificates.
  return wildcard && policy.issuewild.length > 0 ? policy.issuewild : policy.issue;
}
