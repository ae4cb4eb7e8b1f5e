import { defineFindings, list } from '../../checks/findings.js';
import type { Finding } from '../../report/model.js';
import type { DeepTlsScan } from './model.js';
import { CLASS_NAMES, CLASS_ORDER, groupByName, suiteByName, worstClass } from './suites.js';
import type { CipherSuite, SuiteClass } from './suites.js';

/**
 * The findings of the TLS depth scan (`--tls deep`), one set per MX address: pure, from the
 * scan's facts. Classes and section numbers come from suites.ts (NCSC-NL TLS guidelines, as
 * internet.nl applies them).
 */
export const DEEP_TLS_FINDINGS = defineFindings('tls_deep', {
  'tls.ciphers': {
    title: 'Cipher suites',
    statuses: ['pass', 'warn', 'fail', 'info', 'error'],
    meaning:
      "Per MX address, every cipher suite accepted on TLS 1.0–1.3 (as far as Node's OpenSSL can offer them), classed after the NCSC-NL TLS guidelines: an Insufficient suite accepted, e.g. RSA key exchange, CBC with SHA-1, NULL or anonymous suites, or any TLS 1.0/1.1 suite (fail); a Phase-out suite accepted, e.g. DHE or CBC with SHA-256 (warn); only Good and Sufficient suites (pass); not scanned because the address offers no STARTTLS or may not be contacted (info); no handshake could be made (error).",
  },
  'tls.cipher_order': {
    title: 'Cipher preference',
    statuses: ['pass', 'warn', 'info', 'error'],
    meaning:
      'Per MX address, on the highest version up to TLS 1.2: the server chooses the suite itself and its first choice is of the best class it accepts, or it accepts suites of one class only, or speaks TLS 1.3 only (pass); it lets the client choose although it accepts weaker classes, or it prefers a weaker suite (warn, NCSC guideline B2-5); not tested (info).',
  },
  'tls.key_exchange': {
    title: 'Key exchange',
    statuses: ['pass', 'warn', 'fail', 'info', 'error'],
    meaning:
      'Per MX address: finite-field DH groups under 2048 bits or curves the guideline rates Insufficient (fail); 2048-bit DH groups, P-224, or RSA key exchange (no forward secrecy) accepted (warn); ECDHE with Good curves and DH groups of 3072 bits or more only (pass); nothing to judge (info).',
  },
  'tls.kex_hash': {
    title: 'Key-exchange signature hash',
    statuses: ['pass', 'warn', 'info', 'error'],
    meaning:
      'Per MX address, the hash the server signs the (EC)DHE key exchange with when a TLS 1.2 client restricts it: SHA-2 works and SHA-1 is refused (pass); the server signs with SHA-1 when asked, or cannot sign with SHA-2 (warn, SHA-1 is Phase-out); could not be determined, e.g. RSA key exchange only (info).',
  },
  'tls.renegotiation': {
    title: 'Client-initiated renegotiation',
    statuses: ['pass', 'warn', 'info', 'error'],
    meaning:
      'Per MX address: the server refuses a renegotiation the client starts, or speaks TLS 1.3 only, which has none (pass); it allows it, which lets one client make the server do many expensive handshakes (warn); the server did not answer (info).',
  },
  'tls.ocsp_stapling': {
    title: 'OCSP stapling',
    statuses: ['info', 'error'],
    meaning:
      'Per MX address, informational: whether the server staples an OCSP response (RFC 6066 §8) to its certificate when asked.',
  },
});
const F = DEEP_TLS_FINDINGS;

function describeSuite(s: CipherSuite): string {
  return `${s.iana} (${CLASS_NAMES[s.class]}${s.why ? `: ${s.why}` : ''})`;
}

/** Every accepted suite with the versions it was accepted on. */
function acceptedSuites(scan: DeepTlsScan): { suite: CipherSuite; versions: string[] }[] {
  const out = new Map<string, { suite: CipherSuite; versions: string[] }>();
  for (const v of scan.versions) {
    for (const name of v.accepted) {
      const suite = suiteByName(name);
      if (!suite) continue;
      const e = out.get(suite.iana) ?? { suite, versions: [] };
      e.versions.push(v.version);
      out.set(suite.iana, e);
    }
  }
  return [...out.values()].sort((a, b) => CLASS_ORDER[b.suite.class] - CLASS_ORDER[a.suite.class]);
}

const VERSION_LABEL: Record<string, string> = {
  TLSv1: 'TLS 1.0',
  'TLSv1.1': 'TLS 1.1',
  'TLSv1.2': 'TLS 1.2',
  'TLSv1.3': 'TLS 1.3',
};

function scope(scan: DeepTlsScan): string {
  return `${scan.host} [${scan.address}]`;
}

function incompleteNote(scan: DeepTlsScan): string {
  const open = scan.versions
    .filter((v) => v.supported !== false && !v.complete)
    .map((v) => VERSION_LABEL[v.version]);
  if (open.length === 0) return '';
  const why = scan.capReached
    ? `the scan stopped at its cap of ${scan.cap} handshakes`
    : scan.stopped
      ? scan.stopped
      : 'not every suite could be tried';
  return ` The list may be incomplete for ${open.join(', ')}: ${why}.`;
}

function cipherFindings(scan: DeepTlsScan): Finding {
  const subject = { host: scan.host, address: scan.address };
  const accepted = acceptedSuites(scan);
  const versions = scan.versions.map((v) => ({
    version: v.version,
    supported: v.supported,
    complete: v.complete,
    suites: v.accepted.map((n) => ({ name: n, class: suiteByName(n)?.class ?? 'insufficient' })),
    ...(v.note ? { note: v.note } : {}),
  }));
  const details = {
    versions,
    handshakes: scan.handshakes.length,
    cap: scan.cap,
    capReached: scan.capReached,
    untestable: scan.untestable,
  };
  const worst = worstClass(accepted.map((a) => a.suite.class));
  const of = (cls: SuiteClass) => accepted.filter((a) => a.suite.class === cls);
  const shown = (items: { suite: CipherSuite; versions: string[] }[]) =>
    list(
      items.map((a) => `${describeSuite(a.suite)} on ${a.versions.map((v) => VERSION_LABEL[v]).join('/')}`),
      6,
    );
  const legacy = scan.versions.filter(
    (v) => (v.version === 'TLSv1' || v.version === 'TLSv1.1') && v.supported,
  );
  const legacyNote = legacy.length
    ? ` ${legacy.map((v) => VERSION_LABEL[v.version]).join(' and ')} ${legacy.length > 1 ? 'are' : 'is'} accepted, and every suite those versions can use is Insufficient.`
    : '';
  const note = incompleteNote(scan);
  const handshakes = `${scan.handshakes.length} handshake${scan.handshakes.length === 1 ? '' : 's'}`;
  if (accepted.length === 0) {
    return F.make('tls.ciphers', 'error', {
      summary: `${scope(scan)}: no cipher suite was accepted in ${handshakes}${scan.stopped ? ` (${scan.stopped})` : ''}, so the suites could not be judged.`,
      subject,
      details,
    });
  }
  if (worst === 'insufficient') {
    return F.make('tls.ciphers', 'fail', {
      summary: `${scope(scan)} accepts ${of('insufficient').length} cipher suite${of('insufficient').length > 1 ? 's' : ''} the NCSC-NL TLS guidelines rate Insufficient: ${shown(of('insufficient'))}.${legacyNote} A sender (or an attacker in the path who can make both sides fall back) can end up with a connection that offers little protection.${note}`,
      remedy:
        'Offer only ECDHE with AES-GCM or ChaCha20-Poly1305 on TLS 1.2, plus TLS 1.3 — e.g. Postfix: "smtpd_tls_protocols = >=TLSv1.2", "smtpd_tls_ciphers = high", "tls_high_cipherlist = ECDHE+AESGCM:ECDHE+CHACHA20", "smtpd_tls_exclude_ciphers = aNULL, eNULL, kRSA, SHA1". For an MX this is a trade-off: a very old sender that shares no suite falls back to plaintext.',
      subject,
      details,
    });
  }
  if (worst === 'phase_out') {
    return F.make('tls.ciphers', 'warn', {
      summary: `${scope(scan)} accepts ${of('phase_out').length} cipher suite${of('phase_out').length > 1 ? 's' : ''} the NCSC-NL TLS guidelines rate Phase-out: ${shown(of('phase_out'))}. They are safe today but on their way out.${note}`,
      remedy:
        'Drop finite-field DHE and CBC suites when the senders you care about support ECDHE with AES-GCM (all current MTAs do), e.g. Postfix "tls_high_cipherlist = ECDHE+AESGCM:ECDHE+CHACHA20".',
      subject,
      details,
    });
  }
  return F.make('tls.ciphers', 'pass', {
    summary: `${scope(scan)} accepts only Good and Sufficient cipher suites (${accepted.length}: ${list(
      accepted.map((a) => a.suite.iana),
      6,
    )}), found in ${handshakes}.${note}`,
    subject,
    details,
  });
}

function orderFinding(scan: DeepTlsScan): Finding {
  const subject = { host: scan.host, address: scan.address };
  const o = scan.order;
  const details = { ...o };
  if (o.result === 'not_applicable')
    return F.make('tls.cipher_order', 'pass', {
      summary: `${scope(scan)}: the order of cipher suites does not matter here (${o.note ?? 'one class only'}).`,
      subject,
      details,
    });
  if (o.result === 'not_tested')
    return F.make('tls.cipher_order', 'info', {
      summary: `${scope(scan)}: the cipher preference was not tested${o.note ? ` (${o.note})` : scan.capReached ? ' (handshake cap reached)' : ''}.`,
      subject,
      details,
    });
  const version = scan.versions.find((v) => v.version === o.version);
  const accepted = (version?.accepted ?? []).map((n) => suiteByName(n)).filter((s): s is CipherSuite => !!s);
  const best = accepted.reduce<SuiteClass>(
    (b, s) => (CLASS_ORDER[s.class] < CLASS_ORDER[b] ? s.class : b),
    'insufficient',
  );
  const label = VERSION_LABEL[o.version ?? ''] ?? o.version;
  if (o.result === 'client')
    return F.make('tls.cipher_order', 'warn', {
      summary: `${scope(scan)} lets the client choose the cipher suite on ${label} (it picked ${o.picks[0]} when offered the weakest first and ${o.picks[1]} when offered the best first), although it accepts suites from ${CLASS_NAMES[best]} down to ${CLASS_NAMES[worstClass(accepted.map((s) => s.class)) ?? best]}: a sender that lists weak suites first gets one.`,
      remedy:
        'Make the server choose, best class first (NCSC guideline B2-5): Postfix "tls_preempt_cipherlist = yes"; OpenSSL-based servers: SSL_OP_CIPHER_SERVER_PREFERENCE / "SSLHonorCipherOrder on".',
      subject,
      details,
    });
  const chosen = suiteByName(o.picks[0] ?? '');
  if (chosen && CLASS_ORDER[chosen.class] > CLASS_ORDER[best])
    return F.make('tls.cipher_order', 'warn', {
      summary: `${scope(scan)} chooses the cipher suite itself on ${label}, but its first choice is ${chosen.iana} (${CLASS_NAMES[chosen.class]}) although it also accepts ${CLASS_NAMES[best]} suites.`,
      remedy:
        "Put the best suites first in the server's cipher list (ECDHE with AES-GCM or ChaCha20-Poly1305).",
      subject,
      details,
    });
  return F.make('tls.cipher_order', 'pass', {
    summary: `${scope(scan)} chooses the cipher suite itself on ${label} and prefers its best class (${chosen ? `${chosen.iana}, ${CLASS_NAMES[chosen.class]}` : o.picks[0]}). Only the first choice is checked, not the whole order.`,
    subject,
    details,
  });
}

function keyExchangeFinding(scan: DeepTlsScan): Finding {
  const subject = { host: scan.host, address: scan.address };
  const rsaKex = acceptedSuites(scan)
    .filter((a) => a.suite.kx === 'RSA')
    .map((a) => a.suite.iana);
  const groups = scan.groups.accepted.map((g) => ({
    name: g,
    class: groupByName(g)?.class ?? 'insufficient',
  }));
  const preferred = scan.handshakes.find(
    (h) => h.purpose === 'ciphers' && h.outcome === 'accepted' && h.group,
  )?.group;
  const details = {
    dhBits: scan.dhBits,
    groups: scan.groups,
    rsaKeyExchange: rsaKex,
    preferredGroup: preferred ?? null,
  };
  const smallDh = scan.dhBits.filter((b) => b < 2048);
  const badCurves = groups.filter((g) => g.class === 'insufficient').map((g) => g.name);
  if (smallDh.length || badCurves.length) {
    const parts = [
      ...(smallDh.length
        ? [
            `finite-field DH group${smallDh.length > 1 ? 's' : ''} of ${smallDh.join(', ')} bits (Logjam-class attacks break groups under 2048 bits)`,
          ]
        : []),
      ...(badCurves.length
        ? [
            `curve${badCurves.length > 1 ? 's' : ''} ${badCurves.join(', ')}, which the guideline rates Insufficient (§3.3.2.1)`,
          ]
        : []),
    ];
    return F.make('tls.key_exchange', 'fail', {
      summary: `${scope(scan)} uses ${parts.join(' and ')} for the key exchange.`,
      remedy: smallDh.length
        ? 'Use a DH group of at least 3072 bits (an RFC 7919 group, e.g. Postfix "smtpd_tls_dh1024_param_file" pointing at ffdhe3072.pem), or drop DHE suites and keep ECDHE.'
        : 'Restrict the groups to X25519, P-256 and P-384 (OpenSSL "Groups = X25519:P-256:P-384"; Postfix "tls_eecdh_auto_curves = X25519 prime256v1 secp384r1").',
      subject,
      details,
    });
  }
  const warnings = [
    ...scan.dhBits.filter((b) => b < 3072).map((b) => `a ${b}-bit DH group (Phase-out, §3.3.3.1)`),
    ...groups
      .filter((g) => g.class === 'phase_out' && groupByName(g.name)?.kind === 'ecdh')
      .map((g) => `curve ${g.name} (Phase-out)`),
    ...(rsaKex.length
      ? [
          `RSA key exchange (${list(rsaKex, 3)}): without forward secrecy, anyone who later obtains the server's private key can decrypt recorded mail`,
        ]
      : []),
  ];
  if (warnings.length)
    return F.make('tls.key_exchange', 'warn', {
      summary: `${scope(scan)} accepts ${warnings.join('; ')}.`,
      remedy:
        'Prefer ECDHE (X25519, P-256, P-384); if DHE stays, use a 3072-bit RFC 7919 group; remove RSA key exchange suites (Postfix "smtpd_tls_exclude_ciphers = kRSA").',
      subject,
      details,
    });
  const kinds = [
    ...(scan.groups.accepted.length
      ? [`curves ${scan.groups.accepted.join(', ')}`]
      : preferred
        ? [preferred]
        : []),
    ...(scan.dhBits.length ? [`DH groups of ${scan.dhBits.join(', ')} bits`] : []),
  ];
  if (kinds.length === 0)
    return F.make('tls.key_exchange', 'info', {
      summary: `${scope(scan)}: no ephemeral key exchange was seen, so there is nothing to judge.`,
      subject,
      details,
    });
  return F.make('tls.key_exchange', 'pass', {
    summary: `${scope(scan)} uses forward-secret key exchange only: ${kinds.join('; ')}${scan.groups.complete ? '' : ' (not every curve was tried)'}.`,
    subject,
    details,
  });
}

function kexHashFinding(scan: DeepTlsScan): Finding {
  const subject = { host: scan.host, address: scan.address };
  const k = scan.kexHash;
  const details = {
    ...k,
    caveat:
      'Node does not expose which hash the server picks by itself; only what it accepts when the client insists.',
  };
  const note = k.note ? ` (${k.note})` : '';
  if (k.sha1 === true)
    return F.make('tls.kex_hash', 'warn', {
      summary: `${scope(scan)} signs its key exchange with SHA-1 when a client offers only SHA-1${k.sha2 === false ? ', and does not sign with SHA-2 at all' : ''}${note}. SHA-1 is Phase-out for this purpose (NCSC §3.3.5): collisions are practical.`,
      remedy:
        'Remove SHA-1 from the server\'s signature algorithms (OpenSSL "SignatureAlgorithms" without RSA+SHA1/ECDSA+SHA1) and make sure TLS 1.2 is enabled.',
      subject,
      details,
    });
  if (k.sha2 === false)
    return F.make('tls.kex_hash', 'warn', {
      summary: `${scope(scan)} does not sign its key exchange with SHA-2 when a TLS 1.2 client offers only SHA-2${note}.`,
      remedy: 'Enable SHA-256 signatures (RSA-PSS or PKCS#1 with SHA-256, ECDSA with SHA-256).',
      subject,
      details,
    });
  if (k.sha2 === true)
    return F.make('tls.kex_hash', 'pass', {
      summary: `${scope(scan)} signs its key exchange with SHA-2${k.sha1 === false ? ' and refuses SHA-1' : ''}${note}.`,
      subject,
      details,
    });
  return F.make('tls.kex_hash', 'info', {
    summary: `${scope(scan)}: the key-exchange signature hash could not be determined${note}.`,
    subject,
    details,
  });
}

function renegotiationFinding(scan: DeepTlsScan): Finding {
  const subject = { host: scan.host, address: scan.address };
  const details = { renegotiation: scan.renegotiation };
  switch (scan.renegotiation) {
    case 'allowed':
      return F.make('tls.renegotiation', 'warn', {
        summary: `${scope(scan)} allows client-initiated renegotiation: one client can make the server repeat expensive handshakes on a single connection (a cheap denial of service).`,
        remedy:
          'Disable client-initiated renegotiation (OpenSSL SSL_OP_NO_RENEGOTIATION, Postfix ≥ 3.4 "tls_ssl_options = NO_RENEGOTIATION"), or enable TLS 1.3.',
        subject,
        details,
      });
    case 'refused':
      return F.make('tls.renegotiation', 'pass', {
        summary: `${scope(scan)} refuses client-initiated renegotiation.`,
        subject,
        details,
      });
    case 'not_applicable':
      return F.make('tls.renegotiation', 'pass', {
        summary: `${scope(scan)} speaks TLS 1.3 only, which has no renegotiation.`,
        subject,
        details,
      });
    default:
      return F.make('tls.renegotiation', 'info', {
        summary: `${scope(scan)}: client-initiated renegotiation was ${scan.renegotiation === 'no_answer' ? 'neither completed nor refused (no answer in time)' : 'not tested'}.`,
        subject,
        details,
      });
  }
}

function ocspFinding(scan: DeepTlsScan): Finding {
  const subject = { host: scan.host, address: scan.address };
  return F.make('tls.ocsp_stapling', 'info', {
    summary: scan.ocsp.stapled
      ? `${scope(scan)} staples an OCSP response to its certificate (status ${scan.ocsp.status ?? 'unknown'}, ${scan.ocsp.bytes ?? 0} bytes).`
      : `${scope(scan)} does not staple an OCSP response. Few sending MTAs check revocation, so this matters little for mail; the NCSC guidelines recommend stapling.`,
    subject,
    details: { ...scan.ocsp },
  });
}

/** The findings for one scanned address. */
export function evaluateDeepTls(scan: DeepTlsScan): Finding[] {
  const subject = { host: scan.host, address: scan.address };
  if (scan.status !== 'scanned') {
    const why: Record<string, string> = {
      no_starttls: 'it does not offer STARTTLS (see smtp.starttls)',
      forbidden: scan.error ?? 'the address guard forbids connecting to it',
      unreachable: `it could not be reached: ${scan.error ?? 'connection failed'}`,
      error: `no handshake could be made: ${scan.error ?? 'unknown error'}`,
    };
    const status = scan.status === 'no_starttls' || scan.status === 'forbidden' ? 'info' : 'error';
    return [
      F.make('tls.ciphers', status, {
        summary: `${scope(scan)} was not scanned in depth: ${why[scan.status]}.`,
        subject,
        details: { status: scan.status, handshakes: scan.handshakes.length },
      }),
    ];
  }
  return [
    cipherFindings(scan),
    orderFinding(scan),
    keyExchangeFinding(scan),
    kexHashFinding(scan),
    renegotiationFinding(scan),
    ocspFinding(scan),
  ];
}
