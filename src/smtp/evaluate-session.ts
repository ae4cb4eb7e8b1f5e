import { defineFindings } from '../checks/findings.js';
import type { Finding } from '../report/model.js';
import { addressEmitter, cachedNote, q, stopReason, where } from './evaluate-facts.js';
import type { Emit, SmtpFacts } from './evaluate-facts.js';
import { starttlsInDoubt } from './observe-tls.js';
import { OUT_OF_STEP } from './pairing.js';
import type { AddressProbe } from './probe.js';
import type { OutOfStep, SessionRecord } from './model.js';
import type { SmtpReply } from './reply.js';

/**
 * Findings about one MX address up to the encryption: the TCP connection, the greeting and
 * the host name it announces, EHLO (or HELO), the ESMTP extensions and STARTTLS.
 */

export const SESSION_FINDINGS = defineFindings('smtp', {
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
      'STARTTLS is offered and the TLS handshake succeeds (pass; certificate problems are separate tls.certificate.* findings). fail when EHLO was answered without STARTTLS, or STARTTLS was refused or its handshake failed (the exact error is quoted). error when it could not be tested (no EHLO answer, 421, timeout, or replies out of step: see smtp.protocol_sync).',
  },
  'smtp.protocol_sync': {
    title: 'Replies in step',
    statuses: ['warn'],
    meaning:
      'The server sent reply lines when none was due — an extra line after a reply, a line of another reply inside a multi-line one, or a reply that cannot answer its command (RFC 5321 §4.2: exactly one reply per command, in order). Every later reply then answers the wrong command, so mxdoctor quotes the lines, discards them, and draws no verdict on STARTTLS, recipients, catch-all, the null sender or relaying from the replies after them (those findings are error). Only reported when it happens (warn).',
  },
});

type Id = Parameters<typeof SESSION_FINDINGS.make>[0];

/**
 * The session findings of one address, in the order the session ran. `complete` is false
 * when the session stopped before a usable EHLO or HELO (refused, silent, not SMTP): then
 * there is nothing to say about TLS or the envelope either.
 */
export function sessionFindings(
  p: AddressProbe,
  facts: SmtpFacts,
): { findings: Finding[]; complete: boolean } {
  const findings: Finding[] = [];
  const emit = addressEmitter(SESSION_FINDINGS, p, findings);
  const complete = connectFinding(p, emit) && bannerFindings(p, emit) && ehloFinding(p, facts, emit);
  if (complete) {
    extensionsFinding(p, emit);
    starttlsFinding(p, emit);
  }
  return { findings, complete };
}

/** How a line out of turn is quoted: the bytes as received (escaped), and where they came. */
function quoteOutOfStep(o: OutOfStep): string {
  const shown = o.lines.slice(0, 3).map((l) => JSON.stringify(l.slice(0, 120)));
  const more =
    o.lines.length > 3 ? ` and ${o.lines.length - 3} more line${o.lines.length > 4 ? 's' : ''}` : '';
  return `${shown.join(', ')}${more} ${o.where}${o.kind === 'unexpected' ? ' (a reply that command cannot get)' : ''}`;
}

/** smtp.protocol_sync: what the sessions with this address received out of turn; undefined when nothing. */
export function protocolSyncFinding(p: AddressProbe): Finding | undefined {
  const sessions = [p.main, p.legacy, p.fallback, p.rcpt, p.reconnect, p.retry].filter(
    (s): s is SessionRecord => s !== undefined,
  );
  const found = sessions.flatMap((s) => (s.outOfStep ?? []).map((o) => ({ session: s.kind, ...o })));
  if (found.length === 0) return undefined;
  const shown = found.slice(0, 3).map(quoteOutOfStep);
  const more = found.length > 3 ? `; and ${found.length - 3} more time${found.length > 4 ? 's' : ''}` : '';
  return SESSION_FINDINGS.make('smtp.protocol_sync', 'warn', {
    summary: `The server spoke out of turn: ${shown.join('; ')}${more}. SMTP pairs every command with exactly one reply, in order (RFC 5321 §4.2); after an extra reply, each later reply answers the wrong command, so a refused recipient can look accepted. mxdoctor discarded the extra lines and draws no verdict on STARTTLS, recipients, catch-all, the null sender or relaying from the replies after them.`,
    remedy:
      'Find what adds the extra lines: often a firewall or proxy that inspects SMTP (e.g. Cisco ASA "inspect esmtp"), a filtering front end, or a greeting or EHLO text with a line break in it. The mail server must send exactly one reply per command.',
    subject: where(p),
    details: { outOfStep: found },
  });
}

/** smtp.connect; false when there is no connection. */
function connectFinding(p: AddressProbe, emit: Emit<Id>): boolean {
  const m = p.main;
  if (!m.connect.ok) {
    const c = m.connect;
    const port = `port ${m.port}`;
    if (c.failure === 'forbidden')
      emit('smtp.connect', 'error', `Not tested: ${c.error}.`, { details: { failure: c.failure } });
    else if (c.failure === 'refused')
      emit(
        'smtp.connect',
        'fail',
        `Connection to ${port} refused: nothing accepts SMTP connections at this address, so senders cannot deliver here.`,
        {
          remedy: `Make sure the mail server listens on ${port} of ${p.address} and that no firewall rejects connections to it.`,
          details: { failure: c.failure, error: c.error },
        },
      );
    else if (c.failure === 'timeout')
      emit(
        'smtp.connect',
        'error',
        `No answer to the TCP connection on ${port}: ${c.error}. Could not test: a firewall may drop connections at the server, or outbound port 25 may be blocked where mxdoctor runs (common on cloud and home networks).`,
        { details: { failure: c.failure, error: c.error } },
      );
    else if (c.failure === 'unreachable')
      emit(
        'smtp.connect',
        'error',
        `Could not reach the address: ${c.error}. Could not test: ${m.family === 6 ? "mxdoctor's host may have no IPv6 connectivity" : 'there is no route from mxdoctor to it'}.`,
        { details: { failure: c.failure, error: c.error } },
      );
    else
      emit('smtp.connect', 'error', `Could not connect: ${c.error}. Could not test.`, {
        details: { failure: c.failure, error: c.error },
      });
    return false;
  }
  emit('smtp.connect', 'pass', `Connected to port ${m.port}${cachedNote(p)}.`, {
    details: { ms: m.connect.ms },
  });
  return true;
}

/** smtp.banner, then smtp.banner_hostname; false when there is no usable 220 greeting. */
function bannerFindings(p: AddressProbe, emit: Emit<Id>): boolean {
  const m = p.main;
  const b = m.banner;
  if (!b) {
    const e = m.error;
    if (e?.code === 'ELIMIT')
      emit(
        'smtp.banner',
        'fail',
        `The greeting broke the read limits: ${e.message}. RFC 5321 §4.5.3.1.5 limits reply lines to 512 octets; senders drop such servers.`,
        {
          remedy: 'Check what listens on the SMTP port: it does not behave like a mail server.',
          details: { error: e },
        },
      );
    else if (e?.code === 'EPROTOCOL')
      emit('smtp.banner', 'fail', `The server does not speak SMTP: ${e.message}.`, {
        remedy: `Check what listens on port ${m.port} of ${p.address}: it is not a mail server (or a middlebox answers for it).`,
        details: { error: e },
      });
    else if (e?.code === 'ETIMEDOUT')
      emit(
        'smtp.banner',
        'error',
        `No complete greeting: ${e.message}. Could not test: the server is a tarpit, overloaded, or delays greetings on purpose.`,
        { details: { error: e } },
      );
    else
      emit('smtp.banner', 'error', `No greeting: ${e ? e.message : 'the session ended'}. Could not test.`, {
        details: { error: e ?? null },
      });
    return false;
  }
  if (b.reply.code === 421) {
    emit(
      'smtp.banner',
      'error',
      `The server refused the session temporarily at connect: ${q(b.reply)}. Could not test (rate limit, too many connections, or maintenance).`,
      {
        details: { reply: b.reply },
      },
    );
    return false;
  }
  if (b.reply.code === 554 || b.reply.code >= 500) {
    emit(
      'smtp.banner',
      'error',
      `The server refused the session at connect: ${q(b.reply)}. Could not test: this is usually a policy decision about mxdoctor's address (a blocklist or reputation), not a fault of the server; if it refuses every client, nobody can deliver to it.`,
      { details: { reply: b.reply } },
    );
    return false;
  }
  if (b.reply.code !== 220) {
    emit('smtp.banner', 'fail', `Unexpected greeting ${q(b.reply)}; RFC 5321 §4.3.1 requires 220 (or 554).`, {
      remedy: 'Fix the mail server so that it greets with 220.',
      details: { reply: b.reply },
    });
    return false;
  }
  const bannerIssues: string[] = [];
  const [firstExtra, ...moreExtra] = b.unsolicited ?? [];
  if (firstExtra !== undefined)
    bannerIssues.push(
      `it sent ${moreExtra.length + 1} more line${moreExtra.length > 0 ? 's' : ''} before mxdoctor spoke (${JSON.stringify(firstExtra.slice(0, 60))}), which breaks the command/reply order of RFC 5321 §4.2`,
    );
  if (m.bareLineFeeds > 0)
    bannerIssues.push(
      `${m.bareLineFeeds} line${m.bareLineFeeds > 1 ? 's' : ''} ended with a bare LF instead of CRLF (RFC 5321 §2.3.8)`,
    );
  const greeting = `Greeted with ${q(b.reply)}${cachedNote(p)}`;
  if (bannerIssues.length)
    emit('smtp.banner', 'warn', `${greeting}; but ${bannerIssues.join('; ')}.`, {
      remedy:
        'Fix the server (or the middlebox in front of it) so that it sends exactly one greeting, with CRLF line ends.',
      details: { reply: b.reply, ms: b.ms, unsolicited: b.unsolicited ?? [], bareLineFeeds: m.bareLineFeeds },
    });
  else emit('smtp.banner', 'pass', `${greeting}.`, { details: { reply: b.reply, ms: b.ms } });
  bannerHostnameFinding(p, b.reply, emit);
  return true;
}

/** smtp.banner_hostname: the host name the 220 greeting announces. */
function bannerHostnameFinding(p: AddressProbe, reply: SmtpReply, emit: Emit<Id>): void {
  const announced = p.main.bannerHostname;
  if (!announced || announced === 'localhost' || !announced.includes('.')) {
    emit(
      'smtp.banner_hostname',
      'warn',
      `The greeting ${q(reply)} does not start with a fully qualified host name${announced ? ` ("${announced}")` : ''}; RFC 5321 §4.3.1 requires the server's domain there.`,
      {
        remedy: `Configure the server's host name (e.g. Postfix "myhostname = ${p.host}", Exim "primary_hostname").`,
        details: { announced: announced ?? null },
      },
    );
  } else if (announced === p.host)
    emit('smtp.banner_hostname', 'pass', `The greeting names the MX host, ${announced}.`, {
      details: { announced },
    });
  else
    emit(
      'smtp.banner_hostname',
      'info',
      `The greeting names ${announced}, not the MX name ${p.host}. This is normal for hosted mail and shared servers; the PTR check compares it with the address's reverse DNS.`,
      {
        details: { announced },
      },
    );
}

/** smtp.ehlo (and smtp.starttls when EHLO went unanswered); false when neither EHLO nor HELO was accepted. */
function ehloFinding(p: AddressProbe, facts: SmtpFacts, emit: Emit<Id>): boolean {
  const m = p.main;
  const eh = m.ehlo;
  if (!eh) {
    const e = m.error;
    if (e?.code === 'ELIMIT' || e?.code === 'EPROTOCOL')
      emit('smtp.ehlo', 'fail', `The reply to EHLO broke the protocol: ${e.message}.`, {
        remedy: 'Senders give up on such replies; check the server (or middlebox) software.',
        details: { error: e },
      });
    else
      emit(
        'smtp.ehlo',
        'error',
        `EHLO was not answered: ${e ? e.message : 'the session ended'}. Could not test, so STARTTLS and the extensions are unknown.`,
        { details: { error: e ?? null } },
      );
    if (m.error)
      emit('smtp.starttls', 'error', `Could not test STARTTLS: ${stopReason(m)}.`, {
        details: { error: m.error },
      });
    return false;
  }
  if (eh.verb === 'EHLO')
    emit(
      'smtp.ehlo',
      'pass',
      `EHLO ${facts.ehloName} accepted${m.ehloHostname ? ` by ${m.ehloHostname}` : ''}.`,
      { details: { reply: eh.reply } },
    );
  else {
    const refused = eh.ehloRefused ?? eh.reply;
    const policy =
      refused.code === 421 ||
      refused.code === 554 ||
      refused.enhanced?.startsWith('5.7') ||
      refused.enhanced?.startsWith('4.7');
    if (eh.reply.code !== 250) {
      if (policy || eh.reply.code === 421 || eh.reply.enhanced?.split('.')[1] === '7')
        emit(
          'smtp.ehlo',
          'error',
          `EHLO and HELO were refused: ${q(refused)}, then ${q(eh.reply)}. Could not test: the server refuses mxdoctor's name or address by policy.`,
          {
            details: { ehlo: refused, helo: eh.reply },
          },
        );
      else
        emit('smtp.ehlo', 'fail', `EHLO and HELO were both refused: ${q(refused)}, then ${q(eh.reply)}.`, {
          remedy: 'The server must accept EHLO (RFC 5321 §4.1.1.1) from any client with a valid name.',
          details: { ehlo: refused, helo: eh.reply },
        });
      return false;
    }
    if (policy)
      emit(
        'smtp.ehlo',
        'error',
        `EHLO was refused by policy (${q(refused)}); HELO was accepted. The server may treat mxdoctor specially, so its ESMTP extensions could not be seen.`,
        {
          details: { ehlo: refused, helo: eh.reply },
        },
      );
    else
      emit(
        'smtp.ehlo',
        'warn',
        `EHLO was refused (${q(refused)}); only HELO works, so the server offers no ESMTP extensions: no STARTTLS, no SIZE, no 8BITMIME.`,
        {
          remedy: 'Upgrade or reconfigure the server to support ESMTP (RFC 5321, EHLO).',
          details: { ehlo: refused, helo: eh.reply },
        },
      );
  }
  return true;
}

/** smtp.extensions: what EHLO offered, and what changed after STARTTLS. */
function extensionsFinding(p: AddressProbe, emit: Emit<Id>): void {
  const m = p.main;
  const caps = m.ehlo?.capabilities;
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
    emit(
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
}

/** smtp.starttls: offered or not, refused, a failed handshake, or one that worked. */
function starttlsFinding(p: AddressProbe, emit: Emit<Id>): void {
  const m = p.main;
  const eh = m.ehlo;
  const caps = eh?.capabilities;
  const tls = p.tls;
  if (starttlsInDoubt(m)) {
    const answer = m.starttls?.reply
      ? ` (STARTTLS was answered ${q(m.starttls.reply)})`
      : ' (the EHLO reply did not offer STARTTLS, but it may not have been the whole EHLO reply)';
    emit('smtp.starttls', 'error', `Could not test STARTTLS: ${OUT_OF_STEP}${answer}.`, {
      details: { reply: m.starttls?.reply ?? null, outOfStep: true },
    });
  } else if (tls.starttls === 'not_offered') {
    emit(
      'smtp.starttls',
      'fail',
      caps
        ? 'EHLO was answered without STARTTLS: mail to this server travels unencrypted and can be read or changed on the way.'
        : `The server does not support EHLO (${q(eh?.ehloRefused)}), so it cannot offer STARTTLS: mail travels unencrypted.`,
      {
        remedy:
          'Enable STARTTLS with a certificate for the MX name (Postfix: smtpd_tls_security_level = may, smtpd_tls_chain_files; Exim: tls_advertise_hosts = *).',
        details: { keywords: caps?.keywords ?? [] },
      },
    );
  } else if (tls.starttls === 'offered') {
    const st = m.starttls;
    if (st?.handshake)
      emit(
        'smtp.starttls',
        'pass',
        `STARTTLS offered and the handshake succeeded (${st.handshake.protocol})${cachedNote(p)}.`,
        {
          details: { reply: st.reply ?? null, handshake: st.handshake },
        },
      );
    else if (st?.reply && st.reply.code !== 220) {
      if (st.reply.code === 421)
        emit(
          'smtp.starttls',
          'error',
          `Could not test: the server closed the session in answer to STARTTLS: ${q(st.reply)}.`,
          { details: { reply: st.reply } },
        );
      else
        emit(
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
      emit(
        'smtp.starttls',
        'fail',
        `STARTTLS is offered but the TLS handshake failed: ${st.error ?? 'unknown error'}.`,
        {
          remedy: `Test with "openssl s_client -starttls smtp -connect ${p.host}:${m.port} -servername ${p.host}" and fix the server's TLS settings (protocols, ciphers, certificate and key).`,
          details: { reply: st.reply, error: st.error ?? null },
        },
      );
    else
      emit('smtp.starttls', 'error', `STARTTLS is offered, but could not be tested: ${stopReason(m)}.`, {
        details: { error: m.error ?? null },
      });
  } else if (m.error) {
    emit('smtp.starttls', 'error', `Could not test STARTTLS: ${stopReason(m)}.`, {
      details: { error: m.error },
    });
  }
}
