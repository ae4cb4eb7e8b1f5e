import { isDefiniteVerdict } from './classify.js';
import type { RcptVerdict } from './classify.js';
import type { CertFacts, TlsObservation } from '../tls/model.js';
import type { RcptResult, RcptVerdictRecord, SessionRecord, SmtpData, TransactionTest } from './model.js';
import { allDeferred, deferredSession, recipientSession } from './probe.js';
import type { AddressProbe, Skipped } from './probe.js';
import { quoteReply } from './reply.js';
import type { SmtpReply } from './reply.js';
import {
  expiryOf,
  hostnameMatches,
  keyStrength,
  signatureStrength,
  EXPIRY_FAIL_DAYS,
  EXPIRY_WARN_DAYS,
} from '../tls/evaluate.js';
import type { Finding, Status } from '../report/model.js';
import { defineFindings } from '../checks/findings.js';

/**
 * Turns what the SMTP sessions saw into findings. Pure: sessions, TLS observations and the
 * probe's identity in, findings out. The rule throughout: what could not be tested (a 421, a
 * silent server, a refusal of the probe itself, greylisting) is `error` with its cause, never
 * `fail`; STARTTLS is only "absent" when EHLO was answered without it.
 */

const OPPORTUNISTIC =
  'Most sending servers use opportunistic TLS on port 25 and deliver anyway, without checking the certificate; it matters when the domain publishes an MTA-STS policy in enforce mode (senders then refuse to deliver) or DANE-TA TLSA records, and to senders configured to verify (e.g. REQUIRETLS).';

export const F = defineFindings('smtp', {
  'smtp.connect': {
    title: 'SMTP connection',
    statuses: ['pass', 'fail', 'error', 'info'],
    meaning:
      'A TCP connection to the MX address on the SMTP port succeeded (pass); was refused (fail); timed out, was unreachable or reset, or the address may not be contacted (error: could not test — often outbound port 25 is blocked where mxdoctor runs). info when there was nothing to connect to (null MX, no MX host).',
  },
  'smtp.banner': {
    title: 'SMTP greeting',
    statuses: ['pass', 'warn', 'fail', 'error'],
    meaning:
      'The server greeted with 220 (pass); greeted but sent more lines before the client spoke, or used bare LF line ends (warn); sent something that is not SMTP or an over-long line (fail); refused with 554 or 421, closed, or was too slow (tarpit) (error: could not test, with the reason quoted).',
  },
  'smtp.banner_hostname': {
    title: 'Greeting host name',
    statuses: ['pass', 'info', 'warn'],
    meaning:
      'The 220 greeting names the MX host (pass), another host name (info: common with hosted mail; the PTR check compares it with reverse DNS), or no fully qualified host name (warn: RFC 5321 §4.3.1 requires one).',
  },
  'smtp.ehlo': {
    title: 'EHLO',
    statuses: ['pass', 'warn', 'fail', 'error'],
    meaning:
      'EHLO was accepted (pass); refused so that HELO had to be used, leaving no ESMTP extensions (warn); the reply was malformed or too long, or HELO also failed (fail); never answered, answered 421, or refused by policy (error).',
  },
  'smtp.extensions': {
    title: 'ESMTP extensions',
    statuses: ['info', 'warn'],
    meaning:
      'The extensions offered (SIZE, PIPELINING, 8BITMIME, SMTPUTF8, STARTTLS, CHUNKING, DSN, ENHANCEDSTATUSCODES, REQUIRETLS) and what changed after STARTTLS (info). warn when AUTH is offered without TLS on the MX port, or the SIZE limit is under 10 MB.',
  },
  'smtp.starttls': {
    title: 'STARTTLS',
    statuses: ['pass', 'fail', 'error'],
    meaning:
      'STARTTLS is offered and the TLS handshake succeeds (pass; certificate problems are separate tls.certificate.* findings). fail when EHLO was answered without STARTTLS, or STARTTLS was refused or its handshake failed (the exact error is quoted). error when it could not be tested (no EHLO answer, 421, timeout).',
  },
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
  'smtp.postmaster': {
    title: 'postmaster address',
    statuses: ['pass', 'warn', 'fail', 'error'],
    meaning:
      'RCPT TO:<postmaster@domain> was accepted (pass; RFC 5321 §4.5.1 requires it); refused as unknown, or the server refused mail for the domain altogether (fail); mailbox full (warn); could not be tested (greylisted, probe refused, timeout) (error).',
  },
  'smtp.null_sender': {
    title: 'Null sender',
    statuses: ['pass', 'fail', 'error'],
    meaning:
      'MAIL FROM:<> with RCPT TO:<postmaster@domain> was accepted (pass). Refusing it (fail) rejects bounces and delivery reports (RFC 5321 §4.5.5). error when it could not be tested.',
  },
  'smtp.open_relay': {
    title: 'Open relay',
    statuses: ['pass', 'fail', 'error'],
    meaning:
      'A recipient in a foreign domain (example.net), from a foreign sender, was refused at RCPT (pass) or accepted (fail: the server relays for anyone). Nothing is ever sent: the test stops before DATA. error when it could not be tested.',
  },
  'rcpt.verify': {
    title: 'Recipient',
    statuses: ['pass', 'warn', 'fail', 'error'],
    meaning:
      'One finding per address given with --verify: deliverable (pass); accepted but the domain accepts any address, or mailbox full (warn: risky); undeliverable — user unknown, the server refuses mail for the domain (fail); greylisted, the probe refused by policy, a temporary error, a timeout (error: unknown, never "undeliverable"). Verified with RCPT TO only: nothing is sent.',
  },
  'rcpt.catch_all': {
    title: 'Catch-all',
    statuses: ['pass', 'warn', 'error'],
    meaning:
      'A random address that cannot exist was refused (pass), or accepted — the domain accepts every address, so recipient verification says nothing and mistyped mail is not bounced (warn; confidence high when a second random address was accepted too). error when it could not be tested.',
  },
  'smtp.greylisting': {
    title: 'Greylisting',
    statuses: ['info'],
    meaning:
      'The server greylists: it answered 450/451 "try again later" to a first attempt (info). With --greylist-retry the recipients are asked again after the delay and the answer says whether it was greylisting. Also info when the first session deferred every recipient and the server answered when mxdoctor reconnected at once (connection-level greylisting such as Postfix postscreen\'s after-greeting tests).',
  },
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

type Id = Parameters<typeof F.make>[0];

export interface SmtpFacts {
  domain: string;
  port: number;
  ehloName: string;
  mailFrom: string;
  probes: AddressProbe[];
  skipped: Skipped[];
  verify: string[];
  /** Random local parts (full addresses): the first, then the extra ones. */
  randoms: string[];
  relayTo?: string;
  greylistRetryMs: number;
  legacyTlsProbe: boolean;
  now: Date;
  /** The SOCKS5 egress proxy the sessions went through, and the addresses it connected from. */
  proxy?: string;
  proxyBound?: string[];
}

export interface SmtpEvaluation {
  findings: Finding[];
  recipients: RcptVerdictRecord[];
  catchAll: SmtpData['catchAll'];
}

const where = (p: AddressProbe): { host: string; address: string } => ({ host: p.host, address: p.address });

function secs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(ms % 1000 === 0 ? 0 : 1)} s` : `${ms} ms`;
}

function cachedNote(p: AddressProbe): string {
  return p.cachedAt ? ` (observed at ${p.cachedAt}, shared cache)` : '';
}

function q(reply: SmtpReply | undefined): string {
  return reply ? `"${quoteReply(reply)}"` : 'no reply';
}

/** The session that failed a phase, to quote in "could not test" summaries. */
function stopReason(s: SessionRecord): string {
  return s.error ? `${s.error.message} (during ${s.error.phase})` : 'the session ended early';
}

export function evaluateSmtp(facts: SmtpFacts): SmtpEvaluation {
  const perAddress: Finding[] = [];
  for (const p of facts.probes) perAddress.push(...addressFindings(p, facts));
  const findings = collapsePerHost(perAddress, facts.probes);
  const rcpt = recipientFindings(facts);
  findings.push(...rcpt.findings);
  findings.push(...greylistFindings(facts));
  findings.push(...consistencyFindings(facts, rcpt.perProbeCatchAll));
  findings.push(identityFinding(facts));
  return { findings, recipients: rcpt.recipients, catchAll: rcpt.catchAll };
}

// ---------------------------------------------------------------------------------------
// Per address

function addressFindings(p: AddressProbe, facts: SmtpFacts): Finding[] {
  const out: Finding[] = [];
  const m = p.main;
  const make = (
    id: Id,
    status: Status,
    summary: string,
    extra: { remedy?: string; details?: Record<string, unknown> } = {},
  ): void => {
    out.push(F.make(id, status, { summary, subject: where(p), ...extra }));
  };

  // Connection.
  if (!m.connect.ok) {
    const c = m.connect;
    const port = `port ${m.port}`;
    if (c.failure === 'forbidden')
      make('smtp.connect', 'error', `Not tested: ${c.error}.`, { details: { failure: c.failure } });
    else if (c.failure === 'refused')
      make(
        'smtp.connect',
        'fail',
        `Connection to ${port} refused: nothing accepts SMTP connections at this address, so senders cannot deliver here.`,
        {
          remedy: `Make sure the mail server listens on ${port} of ${p.address} and that no firewall rejects connections to it.`,
          details: { failure: c.failure, error: c.error },
        },
      );
    else if (c.failure === 'timeout')
      make(
        'smtp.connect',
        'error',
        `No answer to the TCP connection on ${port}: ${c.error}. Could not test: a firewall may drop connections at the server, or outbound port 25 may be blocked where mxdoctor runs (common on cloud and home networks).`,
        { details: { failure: c.failure, error: c.error } },
      );
    else if (c.failure === 'unreachable')
      make(
        'smtp.connect',
        'error',
        `Could not reach the address: ${c.error}. Could not test: ${m.family === 6 ? "mxdoctor's host may have no IPv6 connectivity" : 'there is no route from mxdoctor to it'}.`,
        { details: { failure: c.failure, error: c.error } },
      );
    else
      make('smtp.connect', 'error', `Could not connect: ${c.error}. Could not test.`, {
        details: { failure: c.failure, error: c.error },
      });
    return out;
  }
  make('smtp.connect', 'pass', `Connected to port ${m.port}${cachedNote(p)}.`, {
    details: { ms: m.connect.ms },
  });

  // Banner.
  const b = m.banner;
  if (!b) {
    const e = m.error;
    if (e?.code === 'ELIMIT')
      make(
        'smtp.banner',
        'fail',
        `The greeting broke the read limits: ${e.message}. RFC 5321 §4.5.3.1.5 limits reply lines to 512 octets; senders drop such servers.`,
        {
          remedy: 'Check what listens on the SMTP port: it does not behave like a mail server.',
          details: { error: e },
        },
      );
    else if (e?.code === 'EPROTOCOL')
      make('smtp.banner', 'fail', `The server does not speak SMTP: ${e.message}.`, {
        remedy: `Check what listens on port ${m.port} of ${p.address}: it is not a mail server (or a middlebox answers for it).`,
        details: { error: e },
      });
    else if (e?.code === 'ETIMEDOUT')
      make(
        'smtp.banner',
        'error',
        `No complete greeting: ${e.message}. Could not test: the server is a tarpit, overloaded, or delays greetings on purpose.`,
        { details: { error: e } },
      );
    else
      make('smtp.banner', 'error', `No greeting: ${e ? e.message : 'the session ended'}. Could not test.`, {
        details: { error: e ?? null },
      });
    return out;
  }
  if (b.reply.code === 421) {
    make(
      'smtp.banner',
      'error',
      `The server refused the session temporarily at connect: ${q(b.reply)}. Could not test (rate limit, too many connections, or maintenance).`,
      {
        details: { reply: b.reply },
      },
    );
    return out;
  }
  if (b.reply.code === 554 || b.reply.code >= 500) {
    make(
      'smtp.banner',
      'error',
      `The server refused the session at connect: ${q(b.reply)}. Could not test: this is usually a policy decision about mxdoctor's address (a blocklist or reputation), not a fault of the server; if it refuses every client, nobody can deliver to it.`,
      { details: { reply: b.reply } },
    );
    return out;
  }
  if (b.reply.code !== 220) {
    make('smtp.banner', 'fail', `Unexpected greeting ${q(b.reply)}; RFC 5321 §4.3.1 requires 220 (or 554).`, {
      remedy: 'Fix the mail server so that it greets with 220.',
      details: { reply: b.reply },
    });
    return out;
  }
  const bannerIssues: string[] = [];
  if (b.unsolicited?.length)
    bannerIssues.push(
      `it sent ${b.unsolicited.length} more line${b.unsolicited.length > 1 ? 's' : ''} before mxdoctor spoke (${JSON.stringify(b.unsolicited[0]!.slice(0, 60))}), which breaks the command/reply order of RFC 5321 §4.2`,
    );
  if (m.bareLineFeeds > 0)
    bannerIssues.push(
      `${m.bareLineFeeds} line${m.bareLineFeeds > 1 ? 's' : ''} ended with a bare LF instead of CRLF (RFC 5321 §2.3.8)`,
    );
  const greeting = `Greeted with ${q(b.reply)}${cachedNote(p)}`;
  if (bannerIssues.length)
    make('smtp.banner', 'warn', `${greeting}; but ${bannerIssues.join('; ')}.`, {
      remedy:
        'Fix the server (or the middlebox in front of it) so that it sends exactly one greeting, with CRLF line ends.',
      details: { reply: b.reply, ms: b.ms, unsolicited: b.unsolicited ?? [], bareLineFeeds: m.bareLineFeeds },
    });
  else make('smtp.banner', 'pass', `${greeting}.`, { details: { reply: b.reply, ms: b.ms } });

  // Greeting host name.
  const announced = m.bannerHostname;
  if (!announced || announced === 'localhost' || !announced.includes('.')) {
    make(
      'smtp.banner_hostname',
      'warn',
      `The greeting ${q(b.reply)} does not start with a fully qualified host name${announced ? ` ("${announced}")` : ''}; RFC 5321 §4.3.1 requires the server's domain there.`,
      {
        remedy: `Configure the server's host name (e.g. Postfix "myhostname = ${p.host}", Exim "primary_hostname").`,
        details: { announced: announced ?? null },
      },
    );
  } else if (announced === p.host)
    make('smtp.banner_hostname', 'pass', `The greeting names the MX host, ${announced}.`, {
      details: { announced },
    });
  else
    make(
      'smtp.banner_hostname',
      'info',
      `The greeting names ${announced}, not the MX name ${p.host}. This is normal for hosted mail and shared servers; the PTR check compares it with the address's reverse DNS.`,
      {
        details: { announced },
      },
    );

  // EHLO.
  const eh = m.ehlo;
  if (!eh) {
    const e = m.error;
    if (e?.code === 'ELIMIT' || e?.code === 'EPROTOCOL')
      make('smtp.ehlo', 'fail', `The reply to EHLO broke the protocol: ${e.message}.`, {
        remedy: 'Senders give up on such replies; check the server (or middlebox) software.',
        details: { error: e },
      });
    else
      make(
        'smtp.ehlo',
        'error',
        `EHLO was not answered: ${e ? e.message : 'the session ended'}. Could not test, so STARTTLS and the extensions are unknown.`,
        { details: { error: e ?? null } },
      );
    if (m.error)
      make('smtp.starttls', 'error', `Could not test STARTTLS: ${stopReason(m)}.`, {
        details: { error: m.error },
      });
    return out;
  }
  if (eh.verb === 'EHLO')
    make(
      'smtp.ehlo',
      'pass',
      `EHLO ${facts.ehloName} accepted${m.ehloHostname ? ` by ${m.ehloHostname}` : ''}.`,
      { details: { reply: eh.reply } },
    );
  else {
    const refused = eh.ehloRefused!;
    const policy =
      refused.code === 421 ||
      refused.code === 554 ||
      refused.enhanced?.startsWith('5.7') ||
      refused.enhanced?.startsWith('4.7');
    if (eh.reply.code !== 250) {
      if (policy || eh.reply.code === 421 || eh.reply.enhanced?.split('.')[1] === '7')
        make(
          'smtp.ehlo',
          'error',
          `EHLO and HELO were refused: ${q(refused)}, then ${q(eh.reply)}. Could not test: the server refuses mxdoctor's name or address by policy.`,
          {
            details: { ehlo: refused, helo: eh.reply },
          },
        );
      else
        make('smtp.ehlo', 'fail', `EHLO and HELO were both refused: ${q(refused)}, then ${q(eh.reply)}.`, {
          remedy: 'The server must accept EHLO (RFC 5321 §4.1.1.1) from any client with a valid name.',
          details: { ehlo: refused, helo: eh.reply },
        });
      return out;
    }
    if (policy)
      make(
        'smtp.ehlo',
        'error',
        `EHLO was refused by policy (${q(refused)}); HELO was accepted. The server may treat mxdoctor specially, so its ESMTP extensions could not be seen.`,
        {
          details: { ehlo: refused, helo: eh.reply },
        },
      );
    else
      make(
        'smtp.ehlo',
        'warn',
        `EHLO was refused (${q(refused)}); only HELO works, so the server offers no ESMTP extensions: no STARTTLS, no SIZE, no 8BITMIME.`,
        {
          remedy: 'Upgrade or reconfigure the server to support ESMTP (RFC 5321, EHLO).',
          details: { ehlo: refused, helo: eh.reply },
        },
      );
  }

  // Extensions.
  const caps = eh.capabilities;
  if (caps) {
    const after = m.ehloTls?.capabilities;
    const shown = caps.keywords.map((k) =>
      k === 'SIZE' && caps.size !== undefined
        ? `SIZE ${caps.size}`
        : k === 'AUTH'
          ? `AUTH ${caps.auth.join(' ')}`
          : k,
    );
    const issues: string[] = [];
    const remedies: string[] = [];
    if (caps.auth.length > 0) {
      issues.push(
        `AUTH (${caps.auth.join(', ')}) is offered before STARTTLS on the MX port ${m.port}: passwords could be sent in clear text, and the MX invites password guessing`,
      );
      remedies.push(
        'Offer AUTH only on the submission ports (587, 465) or only after STARTTLS (Postfix: smtpd_tls_auth_only = yes; on port 25, smtpd_sasl_auth_enable = no).',
      );
    }
    if (caps.size !== undefined && caps.size > 0 && caps.size < 10 * 1024 * 1024) {
      issues.push(
        `the SIZE limit is ${(caps.size / 1048576).toFixed(1)} MiB, so ordinary messages with attachments bounce`,
      );
      remedies.push('Raise the message size limit to at least 25 MiB (Postfix: message_size_limit).');
    }
    const changes = m.ehloTls
      ? [
          ...m.ehloTls.added.map((k) => `+${k}`),
          ...m.ehloTls.removed.map((k) => `-${k}`),
          ...m.ehloTls.changed.map((k) => `~${k}`),
        ]
      : [];
    const summary = `Offers ${shown.join(', ') || 'no extensions'}${m.ehloTls ? `; after STARTTLS: ${changes.length ? changes.join(', ') : 'unchanged'}` : ''}${after?.auth.length && !caps.auth.length ? ` (AUTH ${after.auth.join(' ')} only after TLS)` : ''}.`;
    make(
      'smtp.extensions',
      issues.length ? 'warn' : 'info',
      issues.length ? `${summary} But ${issues.join('; ')}.` : summary,
      {
        ...(remedies.length ? { remedy: remedies.join(' ') } : {}),
        details: {
          before: caps,
          after: after ?? null,
          added: m.ehloTls?.added ?? [],
          removed: m.ehloTls?.removed ?? [],
          changed: m.ehloTls?.changed ?? [],
        },
      },
    );
  }

  // STARTTLS.
  const tls = p.tls;
  if (tls.starttls === 'not_offered') {
    make(
      'smtp.starttls',
      'fail',
      caps
        ? 'EHLO was answered without STARTTLS: mail to this server travels unencrypted and can be read or changed on the way.'
        : `The server does not support EHLO (${q(eh.ehloRefused)}), so it cannot offer STARTTLS: mail travels unencrypted.`,
      {
        remedy:
          'Enable STARTTLS with a certificate for the MX name (Postfix: smtpd_tls_security_level = may, smtpd_tls_chain_files; Exim: tls_advertise_hosts = *).',
        details: { keywords: caps?.keywords ?? [] },
      },
    );
  } else if (tls.starttls === 'offered') {
    const st = m.starttls;
    if (st?.handshake)
      make(
        'smtp.starttls',
        'pass',
        `STARTTLS offered and the handshake succeeded (${st.handshake.protocol})${cachedNote(p)}.`,
        {
          details: { reply: st.reply ?? null, handshake: st.handshake },
        },
      );
    else if (st?.reply && st.reply.code !== 220) {
      if (st.reply.code === 421)
        make(
          'smtp.starttls',
          'error',
          `Could not test: the server closed the session in answer to STARTTLS: ${q(st.reply)}.`,
          { details: { reply: st.reply } },
        );
      else
        make(
          'smtp.starttls',
          'fail',
          `STARTTLS is offered but refused: ${q(st.reply)}. Senders that try it fall back to plain text or defer the mail.`,
          {
            remedy:
              'Fix the TLS configuration (certificate and key files readable by the server, TLS library available), or stop advertising STARTTLS.',
            details: { reply: st.reply },
          },
        );
    } else if (st?.reply)
      make(
        'smtp.starttls',
        'fail',
        `STARTTLS is offered but the TLS handshake failed: ${st.error ?? 'unknown error'}.`,
        {
          remedy: `Test with "openssl s_client -starttls smtp -connect ${p.host}:${m.port} -servername ${p.host}" and fix the server's TLS settings (protocols, ciphers, certificate and key).`,
          details: { reply: st.reply, error: st.error ?? null },
        },
      );
    else
      make('smtp.starttls', 'error', `STARTTLS is offered, but could not be tested: ${stopReason(m)}.`, {
        details: { error: m.error ?? null },
      });
  } else if (m.error) {
    make('smtp.starttls', 'error', `Could not test STARTTLS: ${stopReason(m)}.`, {
      details: { error: m.error },
    });
  }

  out.push(...tlsFindings(p, facts));
  out.push(...transactionFindings(p, facts));
  return out;
}

function tlsFindings(p: AddressProbe, facts: SmtpFacts): Finding[] {
  const out: Finding[] = [];
  const make = (
    id: Id,
    status: Status,
    summary: string,
    extra: { remedy?: string; details?: Record<string, unknown> } = {},
  ): void => {
    out.push(F.make(id, status, { summary, subject: where(p), ...extra }));
  };
  const hs = p.main.starttls?.handshake;
  const legacy = p.legacy?.legacy;
  const legacyProtocol = legacy?.accepted ? legacy.protocol : undefined;

  if (hs) {
    const fs = hs.protocol === 'TLSv1.3' || /^(ECDHE|DHE|EDH)-/.test(hs.cipher);
    const weakCipher = /(^|-)(RC4|DES|3DES|NULL|EXPORT|MD5)(-|$)|CBC3/i.test(hs.cipher);
    const desc = `${hs.protocol} with ${hs.cipher}${hs.group ? ` (${hs.group})` : ''}${hs.sessionTicket ? ', session resumption offered' : ''}`;
    if (hs.protocol === 'TLSv1' || hs.protocol === 'TLSv1.1')
      make('tls.version', 'fail', `Negotiated ${desc}; TLS 1.0 and 1.1 are deprecated (RFC 8996).`, {
        remedy: 'Enable TLS 1.2 and 1.3 on the server (and update its TLS library).',
        details: { ...hs },
      });
    else if (!fs || weakCipher)
      make(
        'tls.version',
        'warn',
        `Negotiated ${desc}: ${!fs ? 'no forward secrecy (RSA key exchange)' : 'a legacy cipher'}.`,
        {
          remedy:
            'Prefer ECDHE key exchange with AES-GCM or ChaCha20 ciphers (e.g. Mozilla "intermediate" settings).',
          details: { ...hs },
        },
      );
    else make('tls.version', 'pass', `Negotiated ${desc}.`, { details: { ...hs } });
  } else if (legacyProtocol && p.main.starttls?.reply?.code === 220) {
    make(
      'tls.version',
      'fail',
      `The TLS handshake with TLS 1.2/1.3 failed, but a handshake limited to TLS 1.0/1.1 succeeded (${legacyProtocol}): the server only supports deprecated TLS versions.`,
      {
        remedy: 'Enable TLS 1.2 and 1.3 on the server (and update its TLS library).',
        details: { legacy },
      },
    );
  }

  if (p.legacy && facts.legacyTlsProbe) {
    if (legacy?.accepted)
      make(
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
      make(
        'tls.legacy_protocols',
        'pass',
        `Refuses TLS 1.0 and 1.1 (${legacy.error ?? 'handshake refused'}).`,
        { details: { legacy } },
      );
    else if (p.main.starttls?.reply?.code === 220)
      make(
        'tls.legacy_protocols',
        'error',
        `Could not test TLS 1.0/1.1: ${legacy?.error ?? (p.legacy.error ? stopReason(p.legacy) : 'the probe did not reach the handshake')}.`,
        {
          details: { legacy: legacy ?? null, error: p.legacy.error ?? null },
        },
      );
  }

  const chain = p.tls.chain;
  if (!hs || chain.length === 0) return out;
  const leaf = chain[0]!;
  const names = hostnameMatches(leaf, p.host);
  const describe = (c: CertFacts): string => `${c.commonName ?? c.subject} (issued by ${issuerName(c)})`;

  if (p.tls.trusted)
    make('tls.certificate.trust', 'pass', `The certificate ${describe(leaf)} chains to a trusted root.`, {
      details: { chain: chainSummary(chain) },
    });
  else
    make(
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
    make(
      'tls.certificate.hostname',
      'pass',
      `The certificate is valid for ${p.host} (${names.matched}${names.via === 'cn' ? ', from the subject CN: the certificate has no DNS subjectAltName' : ''}).`,
      {
        details: { names: names.names, via: names.via },
      },
    );
  else
    make(
      'tls.certificate.hostname',
      'warn',
      `The certificate is not valid for the MX name ${p.host}: it names ${names.names.length ? names.names.slice(0, 6).join(', ') : 'no host'}. ${OPPORTUNISTIC}`,
      {
        remedy: `Get a certificate whose subjectAltName includes ${p.host}, or point the MX record at a name the certificate covers.`,
        details: { names: names.names, via: names.via },
      },
    );

  const exp = expiryOf(leaf, facts.now);
  const dateText = leaf.notAfter.slice(0, 10);
  if (exp.state === 'expired')
    make(
      'tls.certificate.expiry',
      'fail',
      `The certificate expired on ${dateText} (${-exp.daysLeft} days ago).`,
      {
        remedy: 'Renew the certificate and reload the mail server; automate renewal (ACME) and monitor it.',
        details: { notBefore: leaf.notBefore, notAfter: leaf.notAfter, daysLeft: exp.daysLeft },
      },
    );
  else if (exp.state === 'not_yet_valid')
    make(
      'tls.certificate.expiry',
      'fail',
      `The certificate is not valid before ${leaf.notBefore}: the server's clock or the certificate is wrong.`,
      {
        remedy: "Check the server's clock (NTP) and the certificate's dates.",
        details: { notBefore: leaf.notBefore, notAfter: leaf.notAfter },
      },
    );
  else if (exp.state === 'expires_very_soon' || exp.state === 'expires_soon')
    make(
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
    make('tls.certificate.expiry', 'pass', `Valid until ${dateText} (${exp.daysLeft} days).`, {
      details: { notBefore: leaf.notBefore, notAfter: leaf.notAfter, daysLeft: exp.daysLeft },
    });

  const keys = keyStrength(chain);
  const keyText = `${leaf.keyAlgorithm.toUpperCase()} ${leaf.keyBits}-bit${leaf.curve ? ` (${leaf.curve})` : ''}`;
  if (keys.ok)
    make('tls.certificate.key', 'pass', `The certificate key is ${keyText}.`, {
      details: { keyAlgorithm: leaf.keyAlgorithm, keyBits: leaf.keyBits },
    });
  else
    make(
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
    make('tls.certificate.signature', 'pass', `Signed with ${leaf.signatureAlgorithm}.`, {
      details: { algorithms: chain.map((c) => c.signatureAlgorithm) },
    });
  else
    make(
      'tls.certificate.signature',
      'fail',
      `Weak signature${sigs.weak.length > 1 ? 's' : ''}: ${sigs.weak.map((w) => `${w.subject} (${w.algorithm})`).join('; ')}. SHA-1 and MD5 signatures are refused by current TLS libraries.`,
      {
        remedy: 'Replace the certificate (and intermediates) with SHA-256-signed ones.',
        details: { weak: sigs.weak },
      },
    );
  return out;
}

function issuerName(c: CertFacts): string {
  const cn = /(?:^|,)CN=((?:\\,|[^,])+)/.exec(c.issuer);
  return cn ? cn[1]!.replace(/\\(.)/g, '$1') : c.issuer;
}

function chainSummary(
  chain: CertFacts[],
): { subject: string; issuer: string; notAfter: string; sha256: string }[] {
  return chain.map((c) => ({ subject: c.subject, issuer: c.issuer, notAfter: c.notAfter, sha256: c.sha256 }));
}

/** The answer for one recipient at one address: the retry's answer when there was one. */
function answerFor(p: AddressProbe, to: string): RcptResult | undefined {
  const retry = p.retry?.rcpts.find((r) => r.to === to);
  if (retry && retry.verdict !== 'unknown') return retry;
  return recipientSession(p)?.rcpts.find((r) => r.to === to);
}

function verdictWhy(r: RcptResult, s?: SessionRecord): string {
  if (r.reply) return `${r.at === 'mail' ? 'MAIL FROM was answered' : 'answered'} ${q(r.reply)}`;
  return s?.error ? s.error.message : r.reason;
}

function transactionFindings(p: AddressProbe, facts: SmtpFacts): Finding[] {
  const out: Finding[] = [];
  const s = recipientSession(p);
  if (!s) return out;
  const make = (
    id: Id,
    status: Status,
    summary: string,
    extra: { remedy?: string; details?: Record<string, unknown> } = {},
  ): void => {
    out.push(F.make(id, status, { summary, subject: where(p), ...extra }));
  };
  const via = s.kind === 'plain_fallback' ? ' (asked without TLS after the handshake failed)' : '';
  const postmaster = `postmaster@${facts.domain}`;
  const pm = answerFor(p, postmaster);
  if (pm) {
    const why = verdictWhy(pm, s);
    if (pm.verdict === 'deliverable')
      make('smtp.postmaster', 'pass', `${postmaster} is accepted${via}: ${why}.`, {
        details: { reply: pm.reply },
      });
    else if (pm.verdict === 'undeliverable')
      make(
        'smtp.postmaster',
        'fail',
        pm.reason === 'relay_denied'
          ? `The server refuses mail for ${facts.domain} (${why}): it does not consider itself responsible for the domain, so mail to ${facts.domain} through this MX bounces.`
          : `${postmaster} is refused: ${why}. RFC 5321 §4.5.1 requires every domain to accept mail for postmaster.`,
        {
          remedy:
            pm.reason === 'relay_denied'
              ? `Add ${facts.domain} to the server's local or relay domains (Postfix: mydestination, virtual_mailbox_domains or relay_domains), or fix the MX record.`
              : `Create postmaster@${facts.domain} (an alias to the administrator is enough).`,
          details: { reply: pm.reply, reason: pm.reason },
        },
      );
    else if (pm.verdict === 'mailbox_full')
      make('smtp.postmaster', 'warn', `${postmaster}'s mailbox is full: ${why}.`, {
        remedy: 'Empty or enlarge the postmaster mailbox.',
        details: { reply: pm.reply },
      });
    else
      make('smtp.postmaster', 'error', `Could not test ${postmaster}: ${verdictText(pm.verdict)} — ${why}.`, {
        details: { reply: pm.reply ?? null, verdict: pm.verdict, reason: pm.reason },
      });
  }

  const ns = s.nullSender;
  if (ns) out.push(...nullSenderFinding(ns, p, facts, s));
  const relay = s.relay;
  if (relay) out.push(...relayFinding(relay, p, s));
  // The session ended during the recipients: the transactions after them never ran.
  const domainTests = s.rcpts.some((r) => r.role === 'postmaster');
  if (domainTests && s.error && !ns)
    make('smtp.null_sender', 'error', `Could not test the null sender: ${stopReason(s)}.`, {
      details: { error: s.error },
    });
  if (domainTests && s.error && !relay)
    make('smtp.open_relay', 'error', `Could not test relaying: ${stopReason(s)}.`, {
      details: { error: s.error },
    });
  return out;
}

function nullSenderFinding(
  t: TransactionTest,
  p: AddressProbe,
  facts: SmtpFacts,
  s: SessionRecord,
): Finding[] {
  const subject = where(p);
  const details = { mailReply: t.mailReply ?? null, rcptReply: t.rcptReply ?? null, error: t.error ?? null };
  if (!t.mailReply || (t.mailReply.code === 250 && !t.rcptReply))
    return [
      F.make('smtp.null_sender', 'error', {
        summary: `Could not test the null sender: ${t.error ?? stopReason(s)}.`,
        subject,
        details,
      }),
    ];
  const rejectedAt =
    t.mailReply.code !== 250 ? t.mailReply : t.rcptReply!.code >= 400 ? t.rcptReply! : undefined;
  if (!rejectedAt)
    return [
      F.make('smtp.null_sender', 'pass', {
        summary: `MAIL FROM:<> to postmaster@${facts.domain} is accepted: bounces and delivery reports can be delivered.`,
        subject,
        details,
      }),
    ];
  const temporary = rejectedAt.code < 500 || rejectedAt.code === 421;
  if (temporary)
    return [
      F.make('smtp.null_sender', 'error', {
        summary: `Could not test the null sender: ${q(rejectedAt)} (temporary).`,
        subject,
        details,
      }),
    ];
  return [
    F.make('smtp.null_sender', 'fail', {
      summary: `The null sender is refused: MAIL FROM:<> ${t.mailReply.code !== 250 ? 'was' : 'then RCPT TO:<postmaster> was'} answered ${q(rejectedAt)}. Bounces and delivery status notifications to ${facts.domain} are lost (RFC 5321 §4.5.5 requires accepting them).`,
      remedy:
        'Accept the null reverse-path "<>"; filter bounce spam by other means (e.g. BATV, or accept <> only for existing users).',
      subject,
      details,
    }),
  ];
}

function relayFinding(t: TransactionTest, p: AddressProbe, s: SessionRecord): Finding[] {
  const subject = where(p);
  const details = {
    from: t.from,
    to: t.to,
    mailReply: t.mailReply ?? null,
    rcptReply: t.rcptReply ?? null,
    error: t.error ?? null,
  };
  if (!t.mailReply || (t.mailReply.code === 250 && !t.rcptReply))
    return [
      F.make('smtp.open_relay', 'error', {
        summary: `Could not test relaying: ${t.error ?? stopReason(s)}.`,
        subject,
        details,
      }),
    ];
  if (t.mailReply.code !== 250)
    return [
      F.make('smtp.open_relay', 'error', {
        summary: `Could not test relaying: the probe sender was refused (${q(t.mailReply)}).`,
        subject,
        details,
      }),
    ];
  const r = t.rcptReply!;
  if (r.code === 250 || r.code === 251)
    return [
      F.make('smtp.open_relay', 'fail', {
        summary: `Open relay: RCPT TO:<${t.to}> (a foreign domain) from <${t.from}> was accepted with ${q(r)}. Spammers can send through this server. (mxdoctor stopped before DATA; nothing was relayed.)`,
        remedy:
          'Restrict relaying to your own networks and authenticated users (Postfix: smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination).',
        subject,
        details,
      }),
    ];
  if (r.code >= 500 || /relay/i.test(r.text))
    return [
      F.make('smtp.open_relay', 'pass', {
        summary: `Relaying to ${t.to.split('@')[1]} is refused: ${q(r)}.`,
        subject,
        details,
      }),
    ];
  return [
    F.make('smtp.open_relay', 'error', {
      summary: `Could not test relaying: ${q(r)} (temporary).`,
      subject,
      details,
    }),
  ];
}

function verdictText(v: RcptVerdict | 'risky'): string {
  switch (v) {
    case 'greylisted':
      return 'greylisted (asked to try again later)';
    case 'blocked_probe':
      return 'the server refused the probe itself, not the address';
    case 'temporary':
      return 'a temporary error';
    case 'unknown':
      return 'no usable answer';
    default:
      return v;
  }
}

// ---------------------------------------------------------------------------------------
// Domain level: recipients, catch-all

interface RankedAnswer {
  probe: AddressProbe;
  result: RcptResult;
}

const VERDICT_PREFERENCE: RcptVerdict[] = ['greylisted', 'blocked_probe', 'temporary', 'unknown'];

/** The answer that counts: the most preferred MX address with a definite one, else the most telling failure. */
function bestAnswer(facts: SmtpFacts, to: string): RankedAnswer | undefined {
  const answers: RankedAnswer[] = [];
  for (const probe of facts.probes) {
    const result = answerFor(probe, to);
    if (result) answers.push({ probe, result });
  }
  const definite = answers.find((a) => isDefiniteVerdict(a.result.verdict));
  if (definite) return definite;
  for (const v of VERDICT_PREFERENCE) {
    const a = answers.find((x) => x.result.verdict === v);
    if (a) return a;
  }
  return undefined;
}

interface CatchAllState {
  state: 'yes' | 'no' | 'unknown';
  confidence?: 'high' | 'medium' | 'low';
}

function catchAllAt(p: AddressProbe, randoms: string[]): CatchAllState {
  const answers = randoms.map((r) => answerFor(p, r)).filter((a): a is RcptResult => a !== undefined);
  const first = answers[0];
  if (!first || !isDefiniteVerdict(first.verdict)) return { state: 'unknown' };
  if (first.verdict !== 'deliverable')
    return { state: 'no', confidence: first.reason === 'user_unknown' ? 'high' : 'medium' };
  const more = answers.slice(1);
  if (more.length === 0) return { state: 'yes', confidence: 'medium' };
  return more.every((a) => a.verdict === 'deliverable')
    ? { state: 'yes', confidence: 'high' }
    : { state: 'yes', confidence: 'low' };
}

function recipientFindings(facts: SmtpFacts): {
  findings: Finding[];
  recipients: RcptVerdictRecord[];
  catchAll: SmtpData['catchAll'];
  perProbeCatchAll: Map<AddressProbe, CatchAllState>;
} {
  const findings: Finding[] = [];
  const perProbeCatchAll = new Map<AddressProbe, CatchAllState>();
  // Only sessions that got as far as the envelope count (a 554 greeting says nothing here).
  for (const p of facts.probes) {
    const s = recipientSession(p);
    if (s && (s.mail || s.rcpts.length > 0)) perProbeCatchAll.set(p, catchAllAt(p, facts.randoms));
  }
  // The domain's catch-all state: the most preferred address with a definite answer.
  const decided = [...perProbeCatchAll].find(([, s]) => s.state !== 'unknown');
  const catchAll: SmtpData['catchAll'] = { state: decided?.[1].state ?? 'unknown', probes: facts.randoms };
  if (decided?.[1].confidence) catchAll.confidence = decided[1].confidence;
  const first = facts.randoms[0];
  if (first && perProbeCatchAll.size > 0) {
    if (decided) {
      const [p, s] = decided;
      const answer = answerFor(p, first)!;
      if (s.state === 'yes')
        findings.push(
          F.make('rcpt.catch_all', 'warn', {
            summary: `${facts.domain} accepts mail for any address: the random address ${first} was accepted (${q(answer.reply)}; confidence ${s.confidence}${s.confidence === 'high' ? ': a second random address was accepted too' : s.confidence === 'low' ? ': a second random address was refused, so the server may be counting or rate-limiting' : ''}). Accepted recipients can only be called risky, and mistyped mail is never bounced (or bounced later, as backscatter).`,
            remedy:
              'Reject unknown recipients at RCPT time (Postfix: reject_unlisted_recipient, local_recipient_maps; Exchange: recipient filtering). If the catch-all is deliberate, keep it but expect more spam.',
            subject: where(p),
            details: { probes: facts.randoms, reply: answer.reply, confidence: s.confidence },
          }),
        );
      else
        findings.push(
          F.make('rcpt.catch_all', 'pass', {
            summary: `Unknown recipients are refused: the random address ${first} got ${q(answer.reply)}.`,
            subject: where(p),
            details: { probes: facts.randoms, reply: answer.reply },
          }),
        );
    } else {
      const any = facts.probes.map((p) => ({ p, a: answerFor(p, first) })).find((x) => x.a);
      findings.push(
        F.make('rcpt.catch_all', 'error', {
          summary: `Could not tell whether ${facts.domain} accepts any address: ${any?.a ? `${verdictText(any.a.verdict)} — ${verdictWhy(any.a, recipientSession(any.p))}` : 'no MX answered RCPT TO'}.`,
          ...(any ? { subject: where(any.p) } : {}),
          details: { probes: facts.randoms },
        }),
      );
    }
  }

  const recipients: RcptVerdictRecord[] = [];
  for (const address of [`postmaster@${facts.domain}`, ...facts.verify]) {
    const best = bestAnswer(facts, address);
    const isVerify = address !== `postmaster@${facts.domain}` || facts.verify.includes(address);
    if (!best) {
      recipients.push({ address, verdict: 'unknown', reason: 'not_asked' });
      if (isVerify)
        findings.push(
          F.make('rcpt.verify', 'error', {
            title: `Recipient ${address}`,
            summary: `Could not verify ${address}: no MX server answered (see the SMTP connection findings).`,
            subject: { name: address },
            details: { address, verdict: 'unknown' },
          }),
        );
      continue;
    }
    const { probe, result } = best;
    const risky = result.verdict === 'deliverable' && catchAll.state === 'yes';
    const record: RcptVerdictRecord = {
      address,
      verdict: risky ? 'risky' : result.verdict,
      reason: result.reason,
      host: probe.host,
      ipAddress: probe.address,
      ...(result.reply ? { reply: result.reply } : {}),
      ...(probe.retry?.rcpts.some((r) => r.to === address) ? { retried: true } : {}),
    };
    recipients.push(record);
    if (!isVerify) continue;
    const subject = { host: probe.host, address: probe.address, name: address };
    const title = `Recipient ${address}`;
    const why = verdictWhy(result, recipientSession(probe));
    const details = { ...record };
    const verify = (status: Status, summary: string, remedy?: string): void => {
      findings.push(
        F.make('rcpt.verify', status, { title, summary, subject, details, ...(remedy ? { remedy } : {}) }),
      );
    };
    if (risky)
      verify(
        'warn',
        `${address}: risky — accepted (${why}), but ${facts.domain} accepts every address, so this does not show that the mailbox exists.`,
      );
    else if (result.verdict === 'deliverable') verify('pass', `${address} is deliverable: ${why}.`);
    else if (result.verdict === 'undeliverable' && result.reason === 'relay_denied')
      verify(
        'fail',
        `${address} is undeliverable through ${probe.host}: the server refuses mail for ${facts.domain} (${why}).`,
        `Configure ${probe.host} to accept mail for ${facts.domain}.`,
      );
    else if (result.verdict === 'undeliverable')
      verify(
        'fail',
        `${address} is undeliverable: ${why}.`,
        'Check the spelling of the address; if it should exist, create the mailbox or alias.',
      );
    else if (result.verdict === 'mailbox_full')
      verify(
        result.reply && result.reply.code >= 500 ? 'fail' : 'warn',
        `${address} exists but its mailbox is full: ${why}.`,
        'The mailbox owner must make room (or the quota be raised).',
      );
    else
      verify(
        'error',
        `Could not verify ${address}: ${verdictText(result.verdict)} — ${why}.${result.verdict === 'greylisted' && facts.greylistRetryMs === 0 ? ' Run again with --greylist-retry 5m to ask again after the greylisting delay.' : ''}`,
      );
  }
  return { findings, recipients, catchAll, perProbeCatchAll };
}

function reconnectFinding(p: AddressProbe): Finding | undefined {
  const first = deferredSession(p);
  const again = p.reconnect;
  if (!first || !again) return undefined;
  const reply = first.rcpts[0]!.reply;
  const n = first.rcpts.length;
  const answered = !allDeferred(again);
  const deferred = `The server deferred all ${n} recipient${n > 1 ? 's' : ''} of mxdoctor's first session with ${q(reply)}`;
  return F.make('smtp.greylisting', 'info', {
    summary: answered
      ? `${deferred}, and answered normally when mxdoctor reconnected at once — connection-level greylisting, such as Postfix postscreen's after-greeting tests. Senders that retry get through (their first message from a new IP waits for their retry interval, often several minutes); senders that never retry lose that message. The answers shown are from the second session.`
      : `${deferred}, and again when mxdoctor reconnected at once: it defers this client for now (greylisting or a temporary policy), so the recipient answers could not be tested.`,
    subject: where(p),
    details: { deferred: first.rcpts.map((r) => r.to), reply: reply ?? null, reconnected: true, answered },
  });
}

function greylistFindings(facts: SmtpFacts): Finding[] {
  const out: Finding[] = [];
  for (const p of facts.probes) {
    const reconnect = reconnectFinding(p);
    if (reconnect) out.push(reconnect);
    const s = recipientSession(p);
    const grey = (s?.rcpts ?? []).filter((r) => r.verdict === 'greylisted');
    if (grey.length === 0) continue;
    const first = grey[0]!;
    let outcome: string;
    if (p.retry) {
      const after = p.retry.rcpts.map(
        (r) => `${r.to}: ${r.reply ? `"${quoteReply(r.reply, 80)}"` : r.reason}`,
      );
      const still = p.retry.rcpts.filter((r) => r.verdict === 'greylisted').length;
      outcome = still
        ? ` Asked again after ${secs(facts.greylistRetryMs)}: still greylisted (${after.join('; ')}); its greylisting delay is longer.`
        : ` Asked again after ${secs(facts.greylistRetryMs)}: ${after.join('; ')}.`;
    } else
      outcome =
        facts.greylistRetryMs > 0
          ? ' It was not asked again (the session could not be repeated).'
          : ' Not asked again (use --greylist-retry to do so).';
    out.push(
      F.make('smtp.greylisting', 'info', {
        summary: `The server greylists: ${grey.length} recipient${grey.length > 1 ? 's were' : ' was'} answered ${q(first.reply)}. Legitimate mail is delayed until the sender retries (usually minutes).${outcome}`,
        subject: where(p),
        details: {
          greylisted: grey.map((r) => r.to),
          reply: first.reply ?? null,
          retried: Boolean(p.retry),
          retryMs: facts.greylistRetryMs,
        },
      }),
    );
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Consistency and identity

function tlsRank(o: TlsObservation): number {
  if (o.starttls !== 'offered') return 0;
  if (o.handshake !== 'ok') return 1;
  if (!o.trusted || o.hostnameMatches === false) return 2;
  return 3;
}

function consistencyFindings(facts: SmtpFacts, catchAll: Map<AddressProbe, CatchAllState>): Finding[] {
  const reached = facts.probes.filter((p) => p.main.ehlo);
  if (reached.length < 2) {
    return [
      F.make('smtp.consistency', 'info', {
        summary:
          reached.length === 1
            ? `Only one MX address (${reached[0]!.host} ${reached[0]!.address}) answered SMTP; nothing to compare.`
            : 'No MX address answered SMTP; nothing to compare.',
        details: { reached: reached.length },
      }),
    ];
  }
  const problems: string[] = [];
  const notes: string[] = [];
  const label = (p: AddressProbe): string => `${p.host} ${p.address}`;
  // STARTTLS on some but not all.
  const withTls = reached.filter((p) => p.tls.starttls === 'offered' && p.tls.handshake === 'ok');
  if (withTls.length > 0 && withTls.length < reached.length) {
    const without = reached.filter((p) => !withTls.includes(p));
    problems.push(
      `STARTTLS works on ${withTls.map(label).join(', ')} but not on ${without.map(label).join(', ')}`,
    );
  }
  // Trust / name on some but not all.
  const good = withTls.filter((p) => p.tls.trusted && p.tls.hostnameMatches);
  if (good.length > 0 && good.length < withTls.length) {
    problems.push(
      `the certificate is trusted and matches on ${good.map(label).join(', ')} but not on ${withTls
        .filter((p) => !good.includes(p))
        .map(label)
        .join(', ')}`,
    );
  }
  // TLS versions.
  const versions = new Set(withTls.map((p) => p.tls.protocol));
  if (versions.size > 1)
    problems.push(`TLS versions differ: ${withTls.map((p) => `${label(p)} ${p.tls.protocol}`).join(', ')}`);
  // Legacy protocols.
  const legacyOn = reached.filter((p) => p.legacy?.legacy?.accepted);
  const legacyOff = reached.filter((p) => p.legacy?.legacy && !p.legacy.legacy.accepted);
  if (legacyOn.length && legacyOff.length)
    problems.push(
      `TLS 1.0/1.1 are accepted by ${legacyOn.map(label).join(', ')} but refused by ${legacyOff.map(label).join(', ')}`,
    );
  // IPv6 weaker than IPv4 on one host.
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
  // Different certificates behind one name.
  for (const host of new Set(withTls.map((p) => p.host))) {
    const certs = new Set(withTls.filter((p) => p.host === host).map((p) => p.tls.chain[0]?.sha256));
    if (certs.size > 1) notes.push(`${host} presents ${certs.size} different certificates on its addresses`);
  }
  // Backup MX weaker than the primary.
  const prefs = [...new Set(reached.map((p) => p.preference))].sort((a, b) => a - b);
  if (prefs.length > 1) {
    const primary = reached.filter((p) => p.preference === prefs[0]);
    const backups = reached.filter((p) => p.preference !== prefs[0]);
    const best = Math.min(...primary.map((p) => tlsRank(p.tls)));
    const weaker = backups.filter((p) => tlsRank(p.tls) < best);
    if (weaker.length)
      problems.push(
        `backup MX ${[...new Set(weaker.map((p) => p.host))].join(', ')} ha${weaker.length > 1 ? 've' : 's'} weaker TLS than the primary (attackers can force mail onto it)`,
      );
    const primaryCatchAll = primary.map((p) => catchAll.get(p)).filter((s) => s && s.state !== 'unknown');
    const backupAll = backups.filter((p) => catchAll.get(p)?.state === 'yes');
    if (primaryCatchAll.length && primaryCatchAll.every((s) => s!.state === 'no') && backupAll.length) {
      problems.push(
        `backup MX ${[...new Set(backupAll.map((p) => p.host))].join(', ')} accepts every address while the primary rejects unknown ones: mail to mistyped addresses is accepted there and bounced later (backscatter), and spammers can use it to bypass the primary's filters`,
      );
    }
  }
  // Open relay on some.
  const relays = reached.filter((p) => {
    const r = recipientSession(p)?.relay?.rcptReply;
    return r && (r.code === 250 || r.code === 251);
  });
  if (relays.length && relays.length < reached.length)
    problems.push(
      `${relays.map(label).join(', ')} relay${relays.length === 1 ? 's' : ''} for foreign domains while the others refuse`,
    );

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
    return [
      F.make('smtp.consistency', 'warn', {
        summary: `The MX servers of ${facts.domain} differ: ${problems.join('; ')}.${notes.length ? ` Also: ${notes.join('; ')}.` : ''}`,
        remedy:
          'Configure every MX host and address alike; a sender may use any of them, and an attacker can steer mail to the weakest.',
        details,
      }),
    ];
  if (notes.length)
    return [F.make('smtp.consistency', 'info', { summary: `${notes.join('; ')} (all valid).`, details })];
  return [
    F.make('smtp.consistency', 'pass', {
      summary: `All ${reached.length} MX addresses that answered behave alike.`,
      details,
    }),
  ];
}

function identityFinding(facts: SmtpFacts): Finding {
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

// ---------------------------------------------------------------------------------------

/**
 * Findings that say the same about every address of one MX host become one finding for the
 * host ("on both addresses …"); findings that differ stay per address.
 */
function collapsePerHost(findings: Finding[], probes: AddressProbe[]): Finding[] {
  const addressesOf = new Map<string, string[]>();
  for (const p of probes) addressesOf.set(p.host, [...(addressesOf.get(p.host) ?? []), p.address]);
  const groups = new Map<string, Finding[]>();
  const order: string[] = [];
  for (const f of findings) {
    const key = `${f.id}|${f.status}|${f.subject?.host ?? ''}|${f.summary}`;
    if (!groups.has(key)) order.push(key);
    groups.set(key, [...(groups.get(key) ?? []), f]);
  }
  return order.map((key) => {
    const group = groups.get(key)!;
    const first = group[0]!;
    const host = first.subject?.host;
    const all = host ? (addressesOf.get(host) ?? []) : [];
    if (group.length < 2 || !host || group.length !== all.length) return first;
    return {
      ...first,
      subject: { host },
      summary: `${first.summary} (all ${all.length} addresses: ${all.join(', ')})`,
      details: {
        ...first.details,
        addresses: all,
        perAddress: Object.fromEntries(group.map((f) => [f.subject?.address ?? '', f.details])),
      },
    };
  });
}
