import { X509Certificate } from 'node:crypto';
import type { TlsaRecord } from '../dns/types.js';
import type { CertFacts, TlsObservation } from '../tls/model.js';

/**
 * DANE for SMTP (RFC 7671, RFC 7672): which TLSA records are usable, and whether they match
 * the certificate chain a server presented. Pure: takes TLSA records and the SMTP check's
 * TlsObservation, returns plain data.
 */

export const USAGE_NAMES: Record<number, string> = {
  0: 'PKIX-TA',
  1: 'PKIX-EE',
  2: 'DANE-TA',
  3: 'DANE-EE',
};
const DIGEST_HEX: Record<number, number> = { 1: 64, 2: 128 };

/** Why a TLSA record is unusable for SMTP, or undefined when it is usable (RFC 7672 §3.1). */
export function tlsaUnusable(
  r: Pick<TlsaRecord, 'usage' | 'selector' | 'matchingType' | 'data'>,
): string | undefined {
  if (r.usage === 0 || r.usage === 1) {
    return `usage ${r.usage} (${USAGE_NAMES[r.usage]}) is not used for SMTP: senders ignore it because MX certificates are not checked against public CAs with DANE (RFC 7672 §3.1.3); use 3 (DANE-EE) or 2 (DANE-TA)`;
  }
  if (r.usage > 3) return `usage ${r.usage} is not defined (0–3)`;
  if (r.selector > 1) return `selector ${r.selector} is not defined (0 full certificate, 1 public key)`;
  if (r.matchingType > 2)
    return `matching type ${r.matchingType} is not defined (0 exact, 1 SHA-256, 2 SHA-512)`;
  const want = DIGEST_HEX[r.matchingType];
  if (want !== undefined && r.data.length !== want) {
    return `the ${r.matchingType === 1 ? 'SHA-256' : 'SHA-512'} digest has ${r.data.length / 2} bytes instead of ${want / 2}`;
  }
  if (r.matchingType === 0 && r.data.length === 0) return 'the association data is empty';
  return undefined;
}

/**
 * Whether `issuer` issued `cert`, as a sender's OpenSSL decides when it builds the chain to a
 * DANE-TA trust anchor: the names (compared as X509_NAME_cmp does) and key identifiers agree,
 * and `cert`'s signature verifies with `issuer`'s key. Names alone are not enough: a chain
 * file that still holds the intermediate of before a CA re-keyed names the right issuer, and
 * every DANE sender rejects it.
 */
function issuedBy(cert: CertFacts, issuer: CertFacts): boolean {
  try {
    const child = new X509Certificate(Buffer.from(cert.der, 'base64'));
    const parent = new X509Certificate(Buffer.from(issuer.der, 'base64'));
    return child.checkIssued(parent) && child.verify(parent.publicKey);
  } catch {
    return false;
  }
}

/** The DER SubjectPublicKeyInfo of a certificate, hex; undefined if it cannot be parsed. */
function spkiHex(cert: CertFacts): string | undefined {
  try {
    const x = new X509Certificate(Buffer.from(cert.der, 'base64'));
    return x.publicKey.export({ type: 'spki', format: 'der' }).toString('hex');
  } catch {
    return undefined;
  }
}

/** Whether one TLSA record's association data matches a certificate. */
export function tlsaMatchesCert(
  r: Pick<TlsaRecord, 'selector' | 'matchingType' | 'data'>,
  cert: CertFacts,
): boolean {
  const data = r.data.toLowerCase();
  if (r.selector === 0) {
    if (r.matchingType === 1) return cert.sha256 === data;
    if (r.matchingType === 2) return cert.sha512 === data;
    return Buffer.from(cert.der, 'base64').toString('hex') === data;
  }
  if (r.matchingType === 1) return cert.spkiSha256 === data;
  if (r.matchingType === 2) return cert.spkiSha512 === data;
  return spkiHex(cert) === data;
}

export interface TlsaMatch {
  record: string;
  usage: number;
  matched: boolean;
  /** Position in the presented chain of the certificate that matched (0 = leaf). */
  depth?: number;
  note?: string;
}

export interface DaneVerdict {
  /** 'match': a usable record matches (and for DANE-TA the name and chain check out). */
  outcome: 'match' | 'mismatch' | 'no_tls' | 'no_usable_records';
  matches: TlsaMatch[];
  reason: string;
}

export function formatTlsa(r: Pick<TlsaRecord, 'usage' | 'selector' | 'matchingType' | 'data'>): string {
  return `${r.usage} ${r.selector} ${r.matchingType} ${r.data.length > 24 ? `${r.data.slice(0, 24)}…` : r.data}`;
}

/** The fields of a TLSA record that matching reads (a record from DNS, or one stored in a report). */
type TlsaFields = Pick<TlsaRecord, 'usage' | 'selector' | 'matchingType' | 'data'>;

/**
 * Matches TLSA records against what a server presented (RFC 7671 §5): DANE-EE against the
 * leaf only, with no name or expiry checks; DANE-TA against an issuer certificate in the
 * presented chain, which must chain from the leaf, with the leaf valid for the MX name.
 */
export function matchTlsa(records: readonly TlsaFields[], obs: TlsObservation): DaneVerdict {
  const usable = records.filter((r) => tlsaUnusable(r) === undefined);
  if (usable.length === 0) {
    return { outcome: 'no_usable_records', matches: [], reason: 'no TLSA record is usable for SMTP' };
  }
  if (obs.starttls !== 'offered') {
    return {
      outcome: 'no_tls',
      matches: [],
      reason:
        obs.starttls === 'not_offered'
          ? 'the server does not offer STARTTLS, which DANE makes mandatory'
          : `STARTTLS could not be tested${obs.error ? ` (${obs.error})` : ''}`,
    };
  }
  if (obs.handshake !== 'ok' || obs.chain.length === 0) {
    return {
      outcome: 'no_tls',
      matches: [],
      reason: `the TLS handshake failed${obs.error ? `: ${obs.error}` : ''}`,
    };
  }
  const chain = obs.chain;
  const matches: TlsaMatch[] = usable
    .map((r) => {
      const record = formatTlsa(r);
      if (r.usage === 3) {
        const matched = tlsaMatchesCert(r, chain[0]!);
        return { record, usage: 3, matched, ...(matched ? { depth: 0 } : {}) };
      }
      // DANE-TA: an issuer in the presented chain (RFC 7671 §5.2.2 requires servers to send it).
      for (let i = 1; i < chain.length; i++) {
        if (!tlsaMatchesCert(r, chain[i]!)) continue;
        const broken = chain.slice(0, i).findIndex((c, j) => !issuedBy(c, chain[j + 1]!));
        if (broken >= 0) {
          return {
            record,
            usage: 2,
            matched: false,
            note: `certificate ${i} matches, but the chain does not lead from the leaf to it: certificate ${broken} (${chain[broken]!.subject}) is not signed by certificate ${broken + 1} (${chain[broken + 1]!.subject})`,
          };
        }
        if (obs.hostnameMatches === false) {
          return {
            record,
            usage: 2,
            matched: false,
            note: `the trust anchor matches, but the leaf certificate is not valid for ${obs.host} (DANE-TA requires the name check, RFC 7672 §3.2.3)`,
          };
        }
        return { record, usage: 2, matched: true, depth: i };
      }
      // A DANE-TA 2 1 x record may match a public key the server does not send.
      return {
        record,
        usage: 2,
        matched: false,
        note:
          chain.length === 1
            ? 'the server sends only its leaf certificate; DANE-TA needs the trust anchor in the chain'
            : undefined,
      };
    })
    .map((m) => (m.note === undefined ? (({ note: _n, ...rest }) => rest)(m) : m));
  const hit = matches.find((m) => m.matched);
  if (hit) {
    return {
      outcome: 'match',
      matches,
      reason: `TLSA "${hit.record}" matches the ${hit.depth === 0 ? 'server certificate' : `issuer certificate at depth ${hit.depth}`}`,
    };
  }
  const leaf = chain[0]!;
  return {
    outcome: 'mismatch',
    matches,
    reason: `no usable TLSA record matches the presented chain (leaf ${leaf.subject}, SHA-256 ${leaf.sha256.slice(0, 16)}…, SPKI SHA-256 ${leaf.spkiSha256.slice(0, 16)}…)${matches.find((m) => m.note)?.note ? `; ${matches.find((m) => m.note)!.note}` : ''}`,
  };
}

/** The TLSA record that would match the presented leaf: "3 1 1 <spki sha256>". */
export function suggestedTlsa(obs: TlsObservation): string | undefined {
  const leaf = obs.chain[0];
  return leaf ? `3 1 1 ${leaf.spkiSha256}` : undefined;
}
