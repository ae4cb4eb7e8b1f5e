import { defineFindings } from '../checks/findings.js';
import type { Finding } from '../report/model.js';
import {
  expiryOf,
  hostnameMatches,
  keyStrength,
  signatureStrength,
  EXPIRY_FAIL_DAYS,
  EXPIRY_WARN_DAYS,
} from '../tls/evaluate.js';
import type { CertFacts } from '../tls/model.js';
import { addressEmitter, stopReason } from './evaluate-facts.js';
import type { Emit, SmtpFacts } from './evaluate-facts.js';
import { legacyCounts, legacyJudged } from './probe.js';
import type { AddressProbe } from './probe.js';

/**
 * Findings about the TLS one MX address negotiated after STARTTLS: the version and cipher,
 * whether TLS 1.0/1.1 are still accepted, and the certificate (trust, name, validity, key,
 * signatures). Certificate problems are warnings unless senders' TLS libraries refuse them.
 */

const OPPORTUNISTIC =
  'Most sending servers use opportunistic TLS on port 25 and deliver anyway, without checking the certificate; it matters when the domain publishes an MTA-STS policy in enforce mode (senders then refuse to deliver) or DANE-TA TLSA records, and to senders configured to verify (e.g. REQUIRETLS).';

export const TLS_FINDINGS = defineFindings('smtp', {
  'tls.version': {
    title: 'TLS version',
    statuses: ['pass', 'warn', 'fail'],
    meaning:
      'TLS 1.3 or 1.2 with forward secrecy was negotiated (pass); TLS 1.2 without forward secrecy or with a legacy cipher (warn); TLS 1.0/1.1, or only those are supported (fail).',
  },
  'tls.legacy_protocols': {
    title: 'TLS 1.0 and 1.1',
    statuses: ['pass', 'warn', 'error'],
    meaning:
      'A separate handshake limited to TLS 1.0/1.1 was refused (pass) or accepted (warn: RFC 8996 deprecates them). error when the probe could not complete.',
  },
  'tls.certificate.trust': {
    title: 'Certificate trust',
    statuses: ['pass', 'warn'],
    meaning: `The presented chain leads to a root in the trust store (system roots, NODE_EXTRA_CA_CERTS, --ca-file) (pass), or does not: self-signed, unknown root, incomplete chain, expired intermediate, bad signature (warn). ${OPPORTUNISTIC}`,
  },
  'tls.certificate.hostname': {
    title: 'Certificate name',
    statuses: ['pass', 'warn'],
    meaning: `The certificate is valid for the MX host name under RFC 6125 (wildcards only as the whole left-most label) (pass), or not (warn). ${OPPORTUNISTIC}`,
  },
  'tls.certificate.expiry': {
    title: 'Certificate validity',
    statuses: ['pass', 'warn', 'fail'],
    meaning: `The certificate is valid for more than ${EXPIRY_WARN_DAYS} days (pass), expires within ${EXPIRY_WARN_DAYS} days (warn) or ${EXPIRY_FAIL_DAYS} days, has expired or is not yet valid (fail).`,
  },
  'tls.certificate.key': {
    title: 'Certificate key',
    statuses: ['pass', 'fail'],
    meaning:
      'Keys in the chain are strong enough (pass): RSA at least 2048 bits, EC at least 256 bits. RSA under 2048 bits or DSA fails (OpenSSL at security level 2 refuses them).',
  },
  'tls.certificate.signature': {
    title: 'Certificate signatures',
    statuses: ['pass', 'fail'],
    meaning:
      'The leaf and intermediates are signed with SHA-256 or better (pass); SHA-1 or MD5 fails (refused by current TLS libraries). The self-signature of a root does not count.',
  },
});

type Id = Parameters<typeof TLS_FINDINGS.make>[0];

export function tlsFindings(p: AddressProbe, facts: SmtpFacts): Finding[] {
  const out: Finding[] = [];
  const emit = addressEmitter(TLS_FINDINGS, p, out);
  versionFinding(p, emit);
  legacyFinding(p, facts, emit);
  const chain = p.tls.chain;
  const leaf = chain[0];
  if (!p.main.starttls?.handshake || !leaf) return out;
  trustFindings(p, leaf, chain, emit);
  expiryFinding(leaf, facts.now, emit);
  strengthFindings(leaf, chain, emit);
  return out;
}

/** tls.version: what the handshake negotiated, or that only TLS 1.0/1.1 works. */
function versionFinding(p: AddressProbe, emit: Emit<Id>): void {
  const hs = p.main.starttls?.handshake;
  const legacy = legacyJudged(p);
  const legacyProtocol = legacy?.accepted ? legacy.protocol : undefined;
  if (hs) {
    const fs = hs.protocol === 'TLSv1.3' || /^(ECDHE|DHE|EDH)-/.test(hs.cipher);
    const weakCipher = /(^|-)(RC4|DES|3DES|NULL|EXPORT|MD5)(-|$)|CBC3/i.test(hs.cipher);
    const desc = `${hs.protocol} with ${hs.cipher}${hs.group ? ` (${hs.group})` : ''}${hs.sessionTicket ? ', session resumption offered' : ''}`;
    if (hs.protocol === 'TLSv1' || hs.protocol === 'TLSv1.1')
      emit('tls.version', 'fail', `Negotiated ${desc}; TLS 1.0 and 1.1 are deprecated (RFC 8996).`, {
        remedy: 'Enable TLS 1.2 and 1.3 on the server (and update its TLS library).',
        details: { ...hs },
      });
    else if (!fs || weakCipher)
      emit(
        'tls.version',
        'warn',
        `Negotiated ${desc}: ${!fs ? 'no forward secrecy (RSA key exchange)' : 'a legacy cipher'}.`,
        {
          remedy:
            'Prefer ECDHE key exchange with AES-GCM or ChaCha20 ciphers (e.g. Mozilla "intermediate" settings).',
          details: { ...hs },
        },
      );
    else emit('tls.version', 'pass', `Negotiated ${desc}.`, { details: { ...hs } });
  } else if (legacyProtocol && p.main.starttls?.reply?.code === 220) {
    emit(
      'tls.version',
      'fail',
      `The TLS handshake with TLS 1.2/1.3 failed, but a handshake limited to TLS 1.0/1.1 succeeded (${legacyProtocol}): the server only supports deprecated TLS versions.`,
      {
        remedy: 'Enable TLS 1.2 and 1.3 on the server (and update its TLS library).',
        details: { legacy },
      },
    );
  }
}

/**
 * tls.legacy_protocols: the separate handshake limited to TLS 1.0/1.1, judged only where the
 * main session saw STARTTLS offered (the legacy session starts before that is known).
 */
function legacyFinding(p: AddressProbe, facts: SmtpFacts, emit: Emit<Id>): void {
  const hs = p.main.starttls?.handshake;
  const legacy = legacyJudged(p);
  if (p.legacy && facts.legacyTlsProbe && legacyCounts(p)) {
    if (legacy?.accepted)
      emit(
        'tls.legacy_protocols',
        'warn',
        `Still accepts ${legacy.protocol} (${legacy.cipher}) in a handshake limited to TLS 1.0/1.1. RFC 8996 deprecates both; no current sender needs them.`,
        {
          remedy:
            'Disable TLS 1.0 and 1.1 (Postfix: smtpd_tls_protocols = >=TLSv1.2; Exim: openssl_options = +no_tlsv1 +no_tlsv1_1).',
          details: { legacy },
        },
      );
    else if (!hs && legacy) {
      // TLS does not work at all here (smtp.starttls says why): a refused legacy handshake proves nothing.
    } else if (legacy && legacy.errorCode !== 'ETIMEDOUT' && legacy.errorCode !== 'EABORTED')
      emit(
        'tls.legacy_protocols',
        'pass',
        `Refuses TLS 1.0 and 1.1 (${legacy.error ?? 'handshake refused'}).`,
        { details: { legacy } },
      );
    else if (p.main.starttls?.reply?.code === 220)
      emit(
        'tls.legacy_protocols',
        'error',
        `Could not test TLS 1.0/1.1: ${legacy?.error ?? (p.legacy.error ? stopReason(p.legacy) : 'the probe did not reach the handshake')}.`,
        {
          details: { legacy: legacy ?? null, error: p.legacy.error ?? null },
        },
      );
  }
}

/** tls.certificate.trust and tls.certificate.hostname. */
function trustFindings(p: AddressProbe, leaf: CertFacts, chain: CertFacts[], emit: Emit<Id>): void {
  const names = hostnameMatches(leaf, p.host);
  const describe = (c: CertFacts): string => `${c.commonName ?? c.subject} (issued by ${issuerName(c)})`;

  if (p.tls.trusted)
    emit('tls.certificate.trust', 'pass', `The certificate ${describe(leaf)} chains to a trusted root.`, {
      details: { chain: chainSummary(chain) },
    });
  else
    emit(
      'tls.certificate.trust',
      'warn',
      `The certificate ${describe(leaf)} is not trusted: ${p.tls.trustError ?? 'no path to a trusted root'}. ${OPPORTUNISTIC}`,
      {
        remedy: /missing|incomplete/i.test(p.tls.trustError ?? '')
          ? 'Configure the server with the full chain: the leaf certificate followed by the intermediate certificates (e.g. Let\'s Encrypt "fullchain.pem").'
          : `Use a certificate from a public CA (e.g. Let's Encrypt) for ${p.host}, with its intermediate certificates. If you rely on DANE (TLSA "3 1 1"), a self-signed certificate is fine for DANE-aware senders.`,
        details: { chain: chainSummary(chain), error: p.tls.trustError ?? null },
      },
    );

  if (names.matches)
    emit(
      'tls.certificate.hostname',
      'pass',
      `The certificate is valid for ${p.host} (${names.matched}${names.via === 'cn' ? ', from the subject CN: the certificate has no DNS subjectAltName' : ''}).`,
      {
        details: { names: names.names, via: names.via },
      },
    );
  else
    emit(
      'tls.certificate.hostname',
      'warn',
      `The certificate is not valid for the MX name ${p.host}: it names ${names.names.length ? names.names.slice(0, 6).join(', ') : 'no host'}. ${OPPORTUNISTIC}`,
      {
        remedy: `Get a certificate whose subjectAltName includes ${p.host}, or point the MX record at a name the certificate covers.`,
        details: { names: names.names, via: names.via },
      },
    );
}

/** tls.certificate.expiry. */
function expiryFinding(leaf: CertFacts, now: Date, emit: Emit<Id>): void {
  const exp = expiryOf(leaf, now);
  const dateText = leaf.notAfter.slice(0, 10);
  if (exp.state === 'expired')
    emit(
      'tls.certificate.expiry',
      'fail',
      `The certificate expired on ${dateText} (${-exp.daysLeft} days ago).`,
      {
        remedy: 'Renew the certificate and reload the mail server; automate renewal (ACME) and monitor it.',
        details: { notBefore: leaf.notBefore, notAfter: leaf.notAfter, daysLeft: exp.daysLeft },
      },
    );
  else if (exp.state === 'not_yet_valid')
    emit(
      'tls.certificate.expiry',
      'fail',
      `The certificate is not valid before ${leaf.notBefore}: the server's clock or the certificate is wrong.`,
      {
        remedy: "Check the server's clock (NTP) and the certificate's dates.",
        details: { notBefore: leaf.notBefore, notAfter: leaf.notAfter },
      },
    );
  else if (exp.state === 'expires_very_soon' || exp.state === 'expires_soon')
    emit(
      'tls.certificate.expiry',
      exp.state === 'expires_very_soon' ? 'fail' : 'warn',
      `The certificate expires on ${dateText}, in ${exp.daysLeft} day${exp.daysLeft === 1 ? '' : 's'}.`,
      {
        remedy:
          'Renew the certificate now and reload the mail server (a renewed certificate on disk does not help until the server re-reads it).',
        details: { notBefore: leaf.notBefore, notAfter: leaf.notAfter, daysLeft: exp.daysLeft },
      },
    );
  else
    emit('tls.certificate.expiry', 'pass', `Valid until ${dateText} (${exp.daysLeft} days).`, {
      details: { notBefore: leaf.notBefore, notAfter: leaf.notAfter, daysLeft: exp.daysLeft },
    });
}

/** tls.certificate.key and tls.certificate.signature. */
function strengthFindings(leaf: CertFacts, chain: CertFacts[], emit: Emit<Id>): void {
  const keys = keyStrength(chain);
  const keyText = `${leaf.keyAlgorithm.toUpperCase()} ${leaf.keyBits}-bit${leaf.curve ? ` (${leaf.curve})` : ''}`;
  if (keys.ok)
    emit('tls.certificate.key', 'pass', `The certificate key is ${keyText}.`, {
      details: { keyAlgorithm: leaf.keyAlgorithm, keyBits: leaf.keyBits },
    });
  else
    emit(
      'tls.certificate.key',
      'fail',
      `Weak key${keys.weak.length > 1 ? 's' : ''}: ${keys.weak.map((w) => `${w.reason} in ${w.subject}`).join('; ')}. Current TLS libraries refuse them, so senders fail the handshake.`,
      {
        remedy: 'Issue a new certificate with an RSA 2048+ bit or an ECDSA P-256 key.',
        details: { weak: keys.weak },
      },
    );

  const sigs = signatureStrength(chain);
  if (sigs.ok)
    emit('tls.certificate.signature', 'pass', `Signed with ${leaf.signatureAlgorithm}.`, {
      details: { algorithms: chain.map((c) => c.signatureAlgorithm) },
    });
  else
    emit(
      'tls.certificate.signature',
      'fail',
      `Weak signature${sigs.weak.length > 1 ? 's' : ''}: ${sigs.weak.map((w) => `${w.subject} (${w.algorithm})`).join('; ')}. SHA-1 and MD5 signatures are refused by current TLS libraries.`,
      {
        remedy: 'Replace the certificate (and intermediates) with SHA-256-signed ones.',
        details: { weak: sigs.weak },
      },
    );
}

function issuerName(c: CertFacts): string {
  const cn = /(?:^|,)CN=((?:\\,|[^,])+)/.exec(c.issuer);
  return cn?.[1] ? cn[1].replace(/\\(.)/g, '$1') : c.issuer;
}

function chainSummary(
  chain: CertFacts[],
): { subject: string; issuer: string; notAfter: string; sha256: string }[] {
  return chain.map((c) => ({ subject: c.subject, issuer: c.issuer, notAfter: c.notAfter, sha256: c.sha256 }));
}
