import { X509Certificate, createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { chainFacts } from '../tls/certificate.js';
import { DerError, certificateExtension, extendedKeyUsages, ia5Strings, parseDer } from '../tls/der.js';
import { expiryOf, trustAnchors, verifyChain } from '../tls/evaluate.js';
import { pemBlocks } from '../tls/pem.js';

/**
 * The BIMI evidence document (the a= URL): a Verified Mark Certificate or Common Mark
 * Certificate chain in PEM. Pure: the PEM text, the published SVG and the mark-certificate
 * trust anchors in, plain facts out — whether the chain reaches a configured mark issuer,
 * its dates, whether the BIMI domain is among its names, and whether the logo it embeds
 * (RFC 3709 logotype extension, a data: URL with gzip'ed SVG) is the published one.
 */

/** id-kp-BrandIndicatorforMessageIdentification (RFC 9600 / BIMI group). */
export const BIMI_EKU = '1.3.6.1.5.5.7.3.31';
/** id-pe-logotype (RFC 3709 §4.1). */
export const LOGOTYPE_OID = '1.3.6.1.5.5.7.1.12';
/** The largest embedded logo we inflate. */
const MAX_LOGO_BYTES = 1024 * 1024;

export interface EvidenceCheck {
  certificates: number;
  leaf?: { subject: string; issuer: string; notBefore: string; notAfter: string; sans: string[] };
  markEku: boolean;
  trust: { checked: boolean; trusted?: boolean; error?: string; anchor?: string };
  validity?: 'valid' | 'expired' | 'not_yet_valid' | 'expires_soon' | 'expires_very_soon';
  daysLeft?: number;
  domainListed: boolean;
  logo: { embedded: boolean; matches?: boolean; note?: string; sha256?: string };
  problems: string[];
}

/** The SVG a logotype extension embeds as a data: URL (gzip'ed or not), or why there is none. */
export function embeddedLogo(certDer: Buffer): { svg?: Buffer; note?: string } {
  let ext: Buffer | undefined;
  try {
    ext = certificateExtension(certDer, LOGOTYPE_OID);
  } catch (err) {
    return { note: `the certificate could not be read: ${(err as Error).message}` };
  }
  if (!ext) return { note: 'the certificate has no logotype extension (RFC 3709)' };
  let uris: string[];
  try {
    uris = ia5Strings(parseDer(ext));
  } catch (err) {
    return {
      note: `the logotype extension is malformed: ${err instanceof DerError ? err.message : String(err)}`,
    };
  }
  const data = uris.find((u) => u.startsWith('data:'));
  if (!data) return { note: 'the logotype extension has no data: URL' };
  const comma = data.indexOf(',');
  const meta = data.slice(5, comma < 0 ? data.length : comma);
  if (comma < 0 || !/;base64$/i.test(meta)) return { note: `the logotype data: URL is not base64 (${meta})` };
  let bytes = Buffer.from(data.slice(comma + 1), 'base64');
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = gunzipSync(bytes, { maxOutputLength: MAX_LOGO_BYTES });
    } catch (err) {
      return { note: `the embedded logo does not inflate: ${(err as Error).message}` };
    }
  }
  return { svg: bytes };
}

const squash = (b: Buffer): string => b.toString('utf8').replace(/\s+/g, ' ').trim();

export function checkEvidence(
  pem: string,
  domain: string,
  publishedSvg: Buffer | undefined,
  markAnchors: readonly string[],
  now: Date,
): EvidenceCheck {
  const blocks = pemBlocks(pem, 16);
  const out: EvidenceCheck = {
    certificates: blocks.length,
    markEku: false,
    trust: { checked: false },
    domainListed: false,
    logo: { embedded: false },
    problems: [],
  };
  if (blocks.length === 0) {
    out.problems.push('the document contains no PEM certificate');
    return out;
  }
  let ders: Buffer[];
  try {
    ders = blocks.map((b) => new X509Certificate(b).raw);
  } catch (err) {
    out.problems.push(`a certificate could not be parsed: ${(err as Error).message}`);
    return out;
  }
  const { chain, errors } = chainFacts(ders);
  out.problems.push(...errors);
  const leaf = chain[0];
  if (!leaf) return out;
  out.leaf = {
    subject: leaf.subject,
    issuer: leaf.issuer,
    notBefore: leaf.notBefore,
    notAfter: leaf.notAfter,
    sans: leaf.sans,
  };
  try {
    out.markEku = extendedKeyUsages(ders[0]!).includes(BIMI_EKU);
  } catch {
    out.markEku = false;
  }
  if (!out.markEku)
    out.problems.push(
      'the certificate is not a mark certificate (no BIMI extended key usage 1.3.6.1.5.5.7.3.31)',
    );
  const expiry = expiryOf(leaf, now);
  out.validity = expiry.state;
  out.daysLeft = expiry.daysLeft;
  if (expiry.state === 'expired') out.problems.push(`it expired on ${leaf.notAfter.slice(0, 10)}`);
  if (expiry.state === 'not_yet_valid')
    out.problems.push(`it is not valid before ${leaf.notBefore.slice(0, 10)}`);
  const d = domain.toLowerCase();
  out.domainListed = leaf.sans.some((n) => {
    const name = n.toLowerCase().replace(/\.$/, '');
    return name === d || d.endsWith(`.${name}`);
  });
  if (!out.domainListed)
    out.problems.push(`${domain} is not among its names (${leaf.sans.join(', ') || 'none'})`);
  if (markAnchors.length > 0) {
    const trust = verifyChain(ders, trustAnchors(markAnchors as string[]), now);
    out.trust = { checked: true, trusted: trust.trusted };
    if (trust.anchor) out.trust.anchor = trust.anchor;
    if (!trust.trusted) {
      out.trust.error = trust.error ?? 'untrusted';
      out.problems.push(`it does not chain to a known mark-certificate issuer: ${out.trust.error}`);
    }
  }
  const logo = embeddedLogo(ders[0]!);
  if (logo.svg) {
    out.logo = { embedded: true, sha256: createHash('sha256').update(logo.svg).digest('hex') };
    if (publishedSvg) {
      if (logo.svg.equals(publishedSvg)) out.logo.matches = true;
      else if (squash(logo.svg) === squash(publishedSvg)) {
        out.logo.matches = true;
        out.logo.note = 'identical apart from white space';
      } else {
        out.logo.matches = false;
        out.problems.push('the logo embedded in the certificate is not the SVG published at l=');
      }
    }
  } else {
    out.logo.note = logo.note ?? 'no embedded logo';
    out.problems.push(out.logo.note);
  }
  return out;
}
