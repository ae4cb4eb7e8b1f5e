import { defineFindings } from '../checks/findings.js';
import type { Finding } from '../report/model.js';
import type { SubmissionData, SubmissionProbe } from './model.js';

/**
 * Findings about the ports mail clients submit through (RFC 6409, RFC 8314, RFC 6186): pure,
 * from the discovery and probe data.
 */
export const SUBMISSION_FINDINGS = defineFindings('submission', {
  'submission.hosts': {
    title: 'Submission service discovery',
    statuses: ['pass', 'info', 'error'],
    meaning:
      '_submissions._tcp / _submission._tcp SRV records (RFC 6186, RFC 8314 §5.1) let mail clients find the submission server (pass); none, so the smtp./mail. names clients guess were probed, or the domain declares with target "." that it offers no submission, or nothing was found (info); the SRV lookup failed (error).',
  },
  'submission.implicit_tls': {
    title: 'Submission with implicit TLS (port 465)',
    statuses: ['pass', 'warn', 'fail', 'info'],
    meaning:
      'Per host: port 465 speaks TLS from the first byte and then SMTP, as RFC 8314 §3 prefers (pass); TLS works but the SMTP greeting or EHLO fails (warn); an SRV record points at a port that does not answer, or the port answers without TLS (fail); nothing listens on 465 of a guessed host, or the address may not be contacted (info).',
  },
  'submission.starttls': {
    title: 'Submission with STARTTLS (port 587)',
    statuses: ['pass', 'fail', 'info'],
    meaning:
      'Per host: port 587 offers STARTTLS and the TLS handshake succeeds (pass); it offers no STARTTLS, or the upgrade fails, so passwords would cross the network in the clear, or an SRV record points at a port that does not answer (fail); nothing listens on 587 of a guessed host (info).',
  },
  'submission.auth_before_tls': {
    title: 'Authentication only after TLS',
    statuses: ['pass', 'fail', 'info'],
    meaning:
      'Per host on port 587: AUTH is offered only after STARTTLS (pass); AUTH (e.g. PLAIN or LOGIN, which send the password as is) is offered before TLS, inviting clients to send passwords in the clear (fail, RFC 8314 §3, RFC 4954 §4); no AUTH at all, even after TLS (info).',
  },
  'submission.certificate': {
    title: 'Submission certificate',
    statuses: ['pass', 'warn', 'fail'],
    meaning:
      'Per host and port: the certificate chains to a trusted root, is valid for the submission host name (RFC 6125) and is not about to expire (pass); it expires within 21 days (warn); it is untrusted, for another name or expired, which mail clients refuse or make users click through (fail).',
  },
});
const F = SUBMISSION_FINDINGS;

const where = (p: SubmissionProbe): string => `${p.host}:${p.port}${p.address ? ` [${p.address}]` : ''}`;
const subject = (p: SubmissionProbe) => ({
  host: p.host,
  ...(p.address ? { address: p.address } : {}),
  name: `${p.host}:${p.port}`,
});
const CLEAR = ['PLAIN', 'LOGIN'];

function hostsFinding(data: SubmissionData, domain: string): Finding {
  const failed = data.srv.rcodes.filter((r) => !/NOERROR|NXDOMAIN/.test(r));
  const details = { srv: data.srv, guessed: data.guessed };
  if (failed.length)
    return F.make('submission.hosts', 'error', {
      summary: `Could not look up the submission SRV records of ${domain} (${failed.join('; ')}).`,
      details,
    });
  const published = [
    ...data.srv.submissions.map((r) => `_submissions._tcp ${r}`),
    ...data.srv.submission.map((r) => `_submission._tcp ${r}`),
  ];
  if (data.srv.declined.length === 2)
    return F.make('submission.hosts', 'info', {
      summary: `${domain} declares with SRV target "." that it offers no mail submission (RFC 6186 §3.4).`,
      details,
    });
  if (published.length)
    return F.make('submission.hosts', 'pass', {
      summary: `${domain} publishes submission SRV records, so mail clients can find the server by themselves: ${published.join('; ')}.`,
      details,
    });
  return F.make('submission.hosts', 'info', {
    summary: data.guessed.length
      ? `${domain} publishes no _submissions._tcp or _submission._tcp SRV record (RFC 6186, RFC 8314 §5.1); probed the names mail clients guess: ${data.guessed.join(', ')}.`
      : `${domain} publishes no submission SRV record, and neither smtp.${domain} nor mail.${domain} exists: no submission server was found.`,
    remedy: `Publish "_submissions._tcp.${domain}. IN SRV 0 1 465 <server>." (and "_submission._tcp.${domain}. IN SRV 0 1 587 <server>." if you offer STARTTLS), so that mail clients configure themselves.`,
    details,
  });
}

function unreachable(p: SubmissionProbe, id: 'submission.implicit_tls' | 'submission.starttls'): Finding {
  if (p.outcome === 'forbidden' || p.outcome === 'no_address')
    return F.make(id, 'info', {
      summary: `${where(p)} was not probed: ${p.error ?? 'no address'}.`,
      subject: subject(p),
      details: { outcome: p.outcome },
    });
  if (p.from === 'srv')
    return F.make(id, 'fail', {
      summary: `An SRV record points mail clients at ${where(p)}, but it could not be reached: ${p.error ?? 'connection failed'}.`,
      remedy: `Open port ${p.port} on ${p.host}, or correct the SRV record.`,
      subject: subject(p),
      details: { outcome: p.outcome, error: p.error ?? null },
    });
  return F.make(id, 'info', {
    summary: `Nothing answers on ${where(p)} (${p.error ?? 'connection failed'})${p.port === 465 ? '; RFC 8314 §3.3 recommends offering submission with implicit TLS on port 465' : ''}.`,
    subject: subject(p),
    details: { outcome: p.outcome, error: p.error ?? null },
  });
}

function implicitFinding(p: SubmissionProbe): Finding {
  if (p.outcome === 'connect_failed' || p.outcome === 'forbidden' || p.outcome === 'no_address')
    return unreachable(p, 'submission.implicit_tls');
  if (p.outcome === 'tls_failed')
    return F.make('submission.implicit_tls', 'fail', {
      summary: `${where(p)} accepts connections but does not speak TLS from the first byte (${p.error}). Mail clients configured for port 465 cannot connect.`,
      remedy: `Configure implicit TLS on port ${p.port} (Postfix: the "submissions" service in master.cf with "-o smtpd_tls_wrappermode=yes").`,
      subject: subject(p),
      details: { error: p.error ?? null },
    });
  if (p.outcome === 'smtp_failed')
    return F.make('submission.implicit_tls', 'warn', {
      summary: `${where(p)} completes a TLS handshake (${p.tls?.protocol ?? 'TLS'}) but then fails as SMTP: ${p.error}.`,
      subject: subject(p),
      details: { error: p.error ?? null, banner: p.banner ?? null },
    });
  return F.make('submission.implicit_tls', 'pass', {
    summary: `${where(p)} offers submission with implicit TLS (${p.tls?.protocol}, ${p.tls?.cipher})${p.secure?.auth.length ? `, AUTH ${p.secure.auth.join(' ')}` : ''}.`,
    subject: subject(p),
    details: { tls: p.tls?.protocol ?? null, auth: p.secure?.auth ?? [] },
  });
}

function starttlsFindings(p: SubmissionProbe): Finding[] {
  if (p.outcome === 'connect_failed' || p.outcome === 'forbidden' || p.outcome === 'no_address')
    return [unreachable(p, 'submission.starttls')];
  const out: Finding[] = [];
  if (p.plain) {
    const clear = p.plain.auth.filter((m) => CLEAR.includes(m));
    if (p.plain.authOffered)
      out.push(
        F.make('submission.auth_before_tls', 'fail', {
          summary: `${where(p)} offers AUTH (${p.plain.auth.join(' ') || 'no mechanisms listed'}) before STARTTLS${clear.length ? `: ${clear.join(' and ')} send the password as it is, readable by anyone on the path` : ''}. A misconfigured or downgraded client logs in without encryption.`,
          remedy:
            'Offer AUTH only after STARTTLS (Postfix: "smtpd_tls_auth_only = yes"; Exim: "auth_advertise_hosts = ${if eq{$tls_in_cipher}{}{}{*}}"), or move users to port 465 with implicit TLS.',
          subject: subject(p),
          details: { before: p.plain.auth, after: p.secure?.auth ?? [] },
        }),
      );
    if (!p.plain.starttls)
      out.push(
        F.make('submission.starttls', 'fail', {
          summary: `${where(p)} does not offer STARTTLS: mail clients would send passwords and mail unencrypted.`,
          remedy: 'Enable STARTTLS with a certificate for this host name, and require it before AUTH.',
          subject: subject(p),
          details: { keywords: p.plain.keywords },
        }),
      );
  }
  if (p.outcome === 'tls_failed' || (p.outcome === 'smtp_failed' && p.plain?.starttls))
    out.push(
      F.make('submission.starttls', 'fail', {
        summary: `${where(p)} offers STARTTLS, but the upgrade fails: ${p.error}.`,
        remedy: 'Fix the TLS configuration of the submission service (certificate, key, protocol versions).',
        subject: subject(p),
        details: { error: p.error ?? null },
      }),
    );
  else if (p.outcome === 'smtp_failed' && !p.plain)
    out.push(
      F.make('submission.starttls', 'fail', {
        summary: `${where(p)} answers, but not as an SMTP submission server: ${p.error}.`,
        subject: subject(p),
        details: { error: p.error ?? null },
      }),
    );
  else if (p.outcome === 'ok' && p.plain?.starttls)
    out.push(
      F.make('submission.starttls', 'pass', {
        summary: `${where(p)} offers STARTTLS (${p.tls?.protocol}, ${p.tls?.cipher}).`,
        subject: subject(p),
        details: { tls: p.tls?.protocol ?? null },
      }),
    );
  if (p.plain && !p.plain.authOffered && p.outcome === 'ok' && p.plain.starttls)
    out.push(
      p.secure?.auth.length
        ? F.make('submission.auth_before_tls', 'pass', {
            summary: `${where(p)} offers AUTH (${p.secure.auth.join(' ')}) only after STARTTLS.`,
            subject: subject(p),
            details: { before: [], after: p.secure.auth },
          })
        : F.make('submission.auth_before_tls', 'info', {
            summary: `${where(p)} offers no AUTH, neither before nor after STARTTLS: mail clients cannot log in here.`,
            subject: subject(p),
            details: { before: [], after: [] },
          }),
    );
  return out;
}

function certificateFinding(p: SubmissionProbe): Finding | undefined {
  const t = p.tls;
  if (!t) return undefined;
  const details = {
    trusted: t.trusted,
    trustError: t.trustError ?? null,
    names: t.names,
    daysLeft: t.daysLeft,
    subject: t.chain[0]?.subject ?? null,
    issuer: t.chain[0]?.issuer ?? null,
  };
  const problems = [
    ...(t.trusted ? [] : [`it is not trusted (${t.trustError ?? 'unknown reason'})`]),
    ...(t.hostnameMatches
      ? []
      : [`it is not valid for ${p.host} (it names ${t.names.join(', ') || 'nothing'})`]),
    ...(t.expiry === 'expired' ? [`it expired ${-t.daysLeft} days ago`] : []),
    ...(t.expiry === 'not_yet_valid' ? ['it is not valid yet'] : []),
  ];
  if (problems.length)
    return F.make('submission.certificate', 'fail', {
      summary: `The certificate of ${where(p)}: ${problems.join('; ')}. Mail clients refuse it or make users click through a warning.`,
      remedy: `Install a certificate from a public CA for ${p.host} with its intermediate certificates.`,
      subject: subject(p),
      details,
    });
  if (t.expiry === 'expires_soon' || t.expiry === 'expires_very_soon')
    return F.make('submission.certificate', 'warn', {
      summary: `The certificate of ${where(p)} expires in ${t.daysLeft} days.`,
      remedy: 'Renew it (and check that automatic renewal reloads the mail server).',
      subject: subject(p),
      details,
    });
  return F.make('submission.certificate', 'pass', {
    summary: `The certificate of ${where(p)} is trusted, valid for ${p.host} and good for ${t.daysLeft} more days.`,
    subject: subject(p),
    details,
  });
}

export function evaluateSubmission(data: SubmissionData, domain: string): Finding[] {
  const findings: Finding[] = [hostsFinding(data, domain)];
  for (const p of data.probes) {
    if (p.mode === 'implicit') findings.push(implicitFinding(p));
    else findings.push(...starttlsFindings(p));
    const cert = certificateFinding(p);
    if (cert) findings.push(cert);
  }
  return findings;
}
