import { X509Certificate } from 'node:crypto';
import { certificateNameKey } from './der.js';
import { pemDer } from './pem.js';
import type { CertFacts } from './model.js';

/**
 * Judging a presented certificate chain: path to a trusted root, host name (RFC 6125),
 * validity dates, key strength and signature algorithms. Pure: certificates and a trust
 * store in, judgements out. Signature checks use node:crypto's X509Certificate (OpenSSL),
 * which handles RSA, ECDSA and EdDSA alike.
 */

/** Days before expiry at which a certificate is a warning / a failure. */
export const EXPIRY_WARN_DAYS = 21;
export const EXPIRY_FAIL_DAYS = 7;
export const MIN_RSA_BITS = 2048;

interface Anchor {
  pem: string;
  /** Parsed (from the PEM, as always) on first need; null when OpenSSL cannot read it. */
  cert?: X509Certificate | null;
}

/**
 * Trusted root certificates, indexed without parsing them: a chain needs one or two of some
 * 150, and parsing each costs a third of a millisecond or more (X509Certificate, OpenSSL 3).
 */
export interface TrustAnchors {
  /** Anchors by the nameKey (der.ts) of their subject. */
  bySubjectKey: Map<string, Anchor[]>;
  /** Anchors whose subject has no nameKey (an unusual encoding): candidates for any name. */
  unkeyed: Anchor[];
  all: Anchor[];
  /** How many of the PEMs are indexed so far (indexTrustAnchors spreads the work). */
  indexed: number;
}

const anchorCache = new WeakMap<readonly string[], TrustAnchors>();

function parsed(anchor: Anchor): X509Certificate | null {
  if (anchor.cert === undefined) {
    try {
      anchor.cert = new X509Certificate(anchor.pem);
    } catch {
      anchor.cert = null;
    }
  }
  return anchor.cert;
}

/** nameKey of one of a DER certificate's names; undefined when the name has none. */
function keyOf(der: Buffer, which: 'issuer' | 'subject'): string | undefined {
  try {
    return certificateNameKey(der, which);
  } catch {
    return undefined;
  }
}

/**
 * Indexes trusted root certificates (PEM) by a key of their subject, read from the DER
 * without parsing the certificate (der.ts). Cached per array. A PEM whose subject cannot be
 * keyed is parsed at once (and dropped if OpenSSL cannot read it, as every PEM used to be).
 */
export function trustAnchors(pems: readonly string[]): TrustAnchors {
  const anchors = anchorsOf(pems);
  indexAnchors(anchors, pems, pems.length);
  return anchors;
}

/**
 * Indexes up to `count` more of the PEMs into their (cached) anchors; true once all are.
 * For spreading the work over turns of the event loop (smtp/prepare.ts); trustAnchors
 * indexes whatever is left.
 */
export function indexTrustAnchors(pems: readonly string[], count: number): boolean {
  return indexAnchors(anchorsOf(pems), pems, count);
}

function anchorsOf(pems: readonly string[]): TrustAnchors {
  let anchors = anchorCache.get(pems);
  if (!anchors) {
    anchors = { bySubjectKey: new Map(), unkeyed: [], all: [], indexed: 0 };
    anchorCache.set(pems, anchors);
  }
  return anchors;
}

function indexAnchors(anchors: TrustAnchors, pems: readonly string[], count: number): boolean {
  let next = anchors.indexed;
  for (const end = Math.min(pems.length, next + count); next < end; next++) {
    const pem = pems[next]!;
    const anchor: Anchor = { pem };
    const der = pemDer(pem);
    const key = der && keyOf(der, 'subject');
    if (key !== undefined) {
      const same = anchors.bySubjectKey.get(key);
      if (same) same.push(anchor);
      else anchors.bySubjectKey.set(key, [anchor]);
    } else {
      if (!parsed(anchor)) continue;
      anchors.unkeyed.push(anchor);
    }
    anchors.all.push(anchor);
  }
  anchors.indexed = next;
  return next >= pems.length;
}

/** The anchors that may have this name key (all of them when there is no key). */
function candidates(anchors: TrustAnchors, key: string | undefined): Anchor[] {
  if (key === undefined) return anchors.all;
  return [...(anchors.bySubjectKey.get(key) ?? []), ...anchors.unkeyed];
}

/**
 * Whether a certificate (DER) is itself one of the anchors: the same bytes as OpenSSL encodes
 * the anchor (what X509Certificate.fingerprint256 hashes), so the same subject key; only the
 * anchors with that key are parsed.
 */
export function isTrustAnchor(anchors: TrustAnchors, der: Uint8Array): boolean {
  const bytes = Buffer.from(der.buffer, der.byteOffset, der.byteLength);
  return candidates(anchors, keyOf(bytes, 'subject')).some((a) => parsed(a)?.raw.equals(bytes) ?? false);
}

/**
 * Whether `issuer`'s subject is the name `cert` gives as its issuer, compared as OpenSSL's
 * X509_NAME_cmp does (and so every MTA that verifies with OpenSSL): by nameKey, which decodes
 * each value, folds case and collapses white space (RFC 5280 §7.1). "CN=Example Root CA" issues
 * a certificate whose issuer reads "CN=EXAMPLE ROOT CA". A name that cannot be keyed (not a
 * directory string) is compared as text.
 */
function namesIssuer(issuer: X509Certificate, cert: X509Certificate): boolean {
  const subject = keyOf(issuer.raw, 'subject');
  const named = keyOf(cert.raw, 'issuer');
  return subject !== undefined && named !== undefined ? subject === named : issuer.subject === cert.issuer;
}

/**
 * The anchors whose subject is the certificate's issuer (namesIssuer), parsing only those
 * whose subject key matches the issuer's.
 */
function anchorsNamed(anchors: TrustAnchors, cert: X509Certificate): X509Certificate[] {
  const named: X509Certificate[] = [];
  for (const anchor of candidates(anchors, keyOf(cert.raw, 'issuer'))) {
    const a = parsed(anchor);
    if (a && namesIssuer(a, cert)) named.push(a);
  }
  return named;
}

export type TrustProblem =
  | 'self_signed'
  | 'untrusted_root'
  | 'incomplete_chain'
  | 'expired_intermediate'
  | 'not_a_ca'
  | 'bad_signature'
  | 'no_certificate'
  | 'unparseable';

export interface TrustResult {
  trusted: boolean;
  problem?: TrustProblem;
  /** Plain description of why the chain is not trusted. */
  error?: string;
  /** Subjects from the leaf to the trusted root. */
  path: string[];
  /** Subject of the trusted root the chain ends at. */
  anchor?: string;
  /** The server also sent the root certificate (harmless, wasted bytes). */
  sentRoot?: boolean;
}

function issues(child: X509Certificate, parent: X509Certificate): boolean {
  try {
    return child.checkIssued(parent) && child.verify(parent.publicKey);
  } catch {
    return false;
  }
}

/** Subject names the issuer and the signature verifies with the certificate's own key (keyUsage aside). */
function isSelfSigned(cert: X509Certificate): boolean {
  try {
    return namesIssuer(cert, cert) && cert.verify(cert.publicKey);
  } catch {
    return false;
  }
}

function oneLine(subject: string): string {
  return subject.split('\n').join(', ');
}

/**
 * Builds a path from the leaf through the presented certificates to a trust anchor,
 * checking each signature, that issuers are CAs and that intermediates are within their
 * validity. The leaf's own dates are judged separately (expiry), not here.
 */
export function verifyChain(chainDer: readonly Uint8Array[], anchors: TrustAnchors, now: Date): TrustResult {
  if (chainDer.length === 0)
    return { trusted: false, problem: 'no_certificate', error: 'the server sent no certificate', path: [] };
  let certs: X509Certificate[];
  try {
    certs = chainDer.map((der) => new X509Certificate(Buffer.from(der)));
  } catch (err) {
    return {
      trusted: false,
      problem: 'unparseable',
      error: `a certificate could not be parsed: ${(err as Error).message}`,
      path: [],
    };
  }
  const leaf = certs[0]!;
  const path: X509Certificate[] = [leaf];
  const names = (): string[] => path.map((c) => oneLine(c.subject));
  let current = leaf;
  for (let depth = 0; depth < 10; depth++) {
    if (isTrustAnchor(anchors, current.raw)) {
      return { trusted: true, path: names(), anchor: oneLine(current.subject), sentRoot: current !== leaf };
    }
    const anchor = anchorsNamed(anchors, current).find((a) => issues(current, a));
    if (anchor) {
      path.push(anchor);
      const sentRoot = certs.some((c) => c.fingerprint256 === anchor.fingerprint256);
      return { trusted: true, path: names(), anchor: oneLine(anchor.subject), sentRoot };
    }
    const next = certs.find((c) => !path.includes(c) && issues(current, c));
    if (next) {
      if (!next.ca) {
        return {
          trusted: false,
          problem: 'not_a_ca',
          error: `${oneLine(next.subject)} signed ${oneLine(current.subject)} but is not a CA certificate (basicConstraints)`,
          path: names(),
        };
      }
      const from = new Date(next.validFrom);
      const to = new Date(next.validTo);
      if (now < from || now > to) {
        return {
          trusted: false,
          problem: 'expired_intermediate',
          error: `the intermediate certificate ${oneLine(next.subject)} is ${now > to ? `expired since ${to.toISOString()}` : `not valid before ${from.toISOString()}`}`,
          path: [...names(), oneLine(next.subject)],
        };
      }
      path.push(next);
      current = next;
      continue;
    }
    const selfIssued = isSelfSigned(current);
    if (selfIssued) {
      return current === leaf
        ? { trusted: false, problem: 'self_signed', error: 'the certificate is self-signed', path: names() }
        : {
            trusted: false,
            problem: 'untrusted_root',
            error: `the chain ends at ${oneLine(current.subject)}, a root that is not in the trust store`,
            path: names(),
          };
    }
    const claimed = certs.find((c) => c !== current && namesIssuer(c, current));
    if (claimed) {
      return {
        trusted: false,
        problem: 'bad_signature',
        error: `${oneLine(current.subject)} names ${oneLine(claimed.subject)} as issuer, but its signature does not verify with that certificate's key`,
        path: names(),
      };
    }
    return {
      trusted: false,
      problem: 'incomplete_chain',
      error: `the issuer of ${oneLine(current.subject)} (${oneLine(current.issuer)}) was not sent by the server and is not a trusted root: the intermediate certificate is missing from the chain, or the certificate comes from a private CA`,
      path: names(),
    };
  }
  return {
    trusted: false,
    problem: 'incomplete_chain',
    error: 'chain longer than 10 certificates',
    path: names(),
  };
}

/** Lower-case ASCII, no trailing dot. */
function normalizeName(name: string): string {
  return name.trim().toLowerCase().replace(/\.$/, '');
}

/**
 * RFC 6125 §6.4 matching of a reference identity (the MX host name) against one presented
 * DNS identifier. A wildcard is only honoured as the complete left-most label ("*.example.com"
 * matches "mx.example.com", not "a.mx.example.com" nor "example.com"), never in other labels,
 * never as a partial label, and never directly under a single-label (top-level) domain.
 */
export function dnsNameMatches(presented: string, reference: string): boolean {
  const p = normalizeName(presented);
  const r = normalizeName(reference);
  if (!p || !r) return false;
  if (!p.includes('*')) return p === r;
  const pLabels = p.split('.');
  if (pLabels[0] !== '*' || pLabels.slice(1).some((l) => l.includes('*')) || pLabels.length < 3) return false;
  const rLabels = r.split('.');
  if (rLabels.length !== pLabels.length) return false;
  // Wildcards never match A-labels that are IDNs in the first position (RFC 6125 §6.4.3).
  if (rLabels[0]!.startsWith('xn--')) return false;
  return rLabels.slice(1).join('.') === pLabels.slice(1).join('.');
}

export interface HostnameResult {
  matches: boolean;
  /** Which identifiers were used: SAN dNSNames, or the subject CN when the certificate has none. */
  via: 'san' | 'cn' | 'none';
  /** The names the certificate is valid for. */
  names: string[];
  matched?: string;
}

export function hostnameMatches(leaf: CertFacts, host: string): HostnameResult {
  const dnsSans = leaf.sans.filter((s) => !s.startsWith('IP:'));
  // RFC 6125 §6.4.4: the CN is only consulted when there are no DNS-ID SANs.
  const names = dnsSans.length > 0 ? dnsSans : leaf.commonName ? [leaf.commonName] : [];
  const via = dnsSans.length > 0 ? 'san' : leaf.commonName ? 'cn' : 'none';
  const matched = names.find((n) => dnsNameMatches(n, host));
  const result: HostnameResult = { matches: matched !== undefined, via, names };
  if (matched !== undefined) result.matched = matched;
  return result;
}

export interface ExpiryResult {
  state: 'valid' | 'expired' | 'not_yet_valid' | 'expires_soon' | 'expires_very_soon';
  /** Whole days until notAfter (negative when expired). */
  daysLeft: number;
}

export function expiryOf(leaf: CertFacts, now: Date): ExpiryResult {
  const notAfter = new Date(leaf.notAfter).getTime();
  const notBefore = new Date(leaf.notBefore).getTime();
  const daysLeft = Math.floor((notAfter - now.getTime()) / 86_400_000);
  if (now.getTime() < notBefore) return { state: 'not_yet_valid', daysLeft };
  if (now.getTime() > notAfter) return { state: 'expired', daysLeft };
  if (daysLeft < EXPIRY_FAIL_DAYS) return { state: 'expires_very_soon', daysLeft };
  if (daysLeft < EXPIRY_WARN_DAYS) return { state: 'expires_soon', daysLeft };
  return { state: 'valid', daysLeft };
}

export interface KeyResult {
  ok: boolean;
  /** Certificates whose key is too weak, with a reason. */
  weak: { subject: string; reason: string }[];
}

/** RSA under 2048 bits, DSA, and EC curves under 256 bits are weak (NIST SP 800-57, BSI TR-02102). */
export function keyStrength(chain: readonly CertFacts[], anchors?: TrustAnchors): KeyResult {
  const weak: { subject: string; reason: string }[] = [];
  for (const [i, cert] of chain.entries()) {
    if (i > 0 && isAnchor(cert, anchors)) continue;
    if (cert.keyAlgorithm === 'rsa' && cert.keyBits < MIN_RSA_BITS)
      weak.push({ subject: cert.subject, reason: `RSA ${cert.keyBits}-bit key` });
    else if (cert.keyAlgorithm === 'dsa')
      weak.push({ subject: cert.subject, reason: `DSA ${cert.keyBits}-bit key` });
    else if (cert.keyAlgorithm === 'ec' && cert.keyBits < 256)
      weak.push({
        subject: cert.subject,
        reason: `EC ${cert.curve ?? ''} ${cert.keyBits}-bit key`.replace('  ', ' '),
      });
  }
  return { ok: weak.length === 0, weak };
}

function isAnchor(cert: CertFacts, anchors: TrustAnchors | undefined): boolean {
  if (!anchors) return cert.selfSigned;
  return isTrustAnchor(anchors, Buffer.from(cert.der, 'base64'));
}

export interface SignatureResult {
  ok: boolean;
  weak: { subject: string; algorithm: string }[];
}

/**
 * SHA-1 and MD5 signatures on the leaf or intermediates. A trust anchor's signature on
 * itself is not checked by anyone and is ignored.
 */
export function signatureStrength(chain: readonly CertFacts[], anchors?: TrustAnchors): SignatureResult {
  const weak = chain
    .filter((c, i) => i === 0 || !(c.selfSigned || isAnchor(c, anchors)))
    .filter((c) => /sha1|md5|md2/i.test(c.signatureAlgorithm) && !/sha1\d/i.test(c.signatureAlgorithm))
    .map((c) => ({ subject: c.subject, algorithm: c.signatureAlgorithm }));
  return { ok: weak.length === 0, weak };
}
