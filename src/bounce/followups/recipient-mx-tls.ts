import { probeMxTls } from '../../smtp/check.js';
import type { Finding } from '../../report/model.js';
import { list, quote, recipientDomainOf } from './common.js';
import { followupBase } from './types.js';
import type { FollowupDefinition } from './types.js';

/**
 * tls_required, and any refusal that names a STARTTLS or TLS handshake failure: does the
 * recipient's MX offer STARTTLS, complete the handshake with a current TLS version, and
 * present a certificate that is trusted, valid for its name and unexpired? (`probeMxTls`:
 * greeting, EHLO, STARTTLS, handshake, QUIT — no recipients.) A problem found there explains
 * a failed negotiation; a clean result puts the problem on the sending side.
 */

/** Findings that explain a failed or refused TLS negotiation, by the statuses that do. */
const CAUSES: Record<string, readonly Finding['status'][]> = {
  'smtp.starttls': ['fail'],
  'tls.version': ['fail'],
  'tls.certificate.trust': ['warn', 'fail'],
  'tls.certificate.hostname': ['warn', 'fail'],
  'tls.certificate.expiry': ['fail'],
  'tls.certificate.key': ['fail'],
  'tls.certificate.signature': ['fail'],
};

const TLS_TEXT =
  /starttls|\btls\b.{0,40}(?:handshake|negotiat|fail|required|error)|ssl (?:handshake|routines)|certificate (?:verif|expired|has expired|not trusted)|wrong version number|no shared cipher|requiretls/i;

export const recipientMxTlsFollowup: FollowupDefinition = {
  id: 'recipient_mx_tls',
  reasons: ['tls_required'],
  alsoFor: (record) => record.reason !== 'delivered' && TLS_TEXT.test(record.diagnostic),
  usesSmtp: true,
  description:
    'the STARTTLS and certificate probe of the recipient’s MX hosts (`probeMxTls`): STARTTLS offered, handshake and TLS version, certificate trust, name, expiry, key and signature',
  title: (target) =>
    target ? `STARTTLS of ${target.value}’s mail servers` : 'STARTTLS of the recipient’s mail servers',
  targets: (record) => {
    const d = recipientDomainOf(record);
    return [d.ok ? { ok: true, target: { value: d.ascii } } : { ok: false, why: d.why }];
  },
  run: async (target, deps) => {
    const domain = target.value;
    const base = followupBase(recipientMxTlsFollowup, target);
    const report = await deps.mxReport(domain);
    const mx = report.mx;
    if (mx.kind !== 'mx' && mx.kind !== 'implicit') {
      return {
        ...base,
        verdict: 'could_not_test',
        summary: `could not test: ${domain} has no mail server to probe (${mx.kind === 'nxdomain' ? 'the domain does not exist' : mx.kind === 'null' ? 'null MX' : mx.kind === 'error' ? 'the MX lookup failed' : 'no MX and no address'}).`,
        details: { mxKind: mx.kind },
      };
    }
    const result = await probeMxTls({
      domain,
      mx,
      config: deps.config,
      sharing: deps.services,
      signal: deps.signal,
      now: deps.now,
    });
    const where = (f: Finding): string =>
      f.subject?.host ? `${f.subject.host}${f.subject.address ? ` [${f.subject.address}]` : ''}` : domain;
    const causes = result.findings.filter((f) => CAUSES[f.id]?.includes(f.status));
    const details = {
      addresses: result.tls.map((t) => ({
        host: t.host,
        address: t.address,
        starttls: t.starttls,
        handshake: t.handshake,
        protocol: t.protocol ?? null,
        cipher: t.cipher ?? null,
        trusted: t.trusted ?? null,
        trustError: t.trustError ?? null,
        hostnameMatches: t.hostnameMatches ?? null,
        notAfter: t.chain[0]?.notAfter ?? null,
        error: t.error ?? null,
      })),
      findings: result.findings.map((f) => ({
        id: f.id,
        status: f.status,
        where: where(f),
        summary: f.summary,
      })),
    };
    if (causes.length > 0) {
      return {
        ...base,
        verdict: 'confirmed',
        summary: `confirmed: ${list(
          causes.map((f) => `${where(f)}: ${quote(f.summary, 200)}`),
          3,
        )}`,
        details,
      };
    }
    const good = result.tls.filter((t) => t.starttls === 'offered' && t.handshake === 'ok');
    if (good.length > 0 && good.length === result.tls.length) {
      const shown = good.map((t) => `${t.host} [${t.address}] ${t.protocol ?? 'TLS'}`);
      return {
        ...base,
        verdict: 'not_confirmed',
        summary: `not confirmed: every mail server of ${domain} offers STARTTLS and completes the handshake with a trusted certificate valid for its name (${list(shown, 3)}). The TLS problem is on the sending side: the sending MTA must use STARTTLS with TLS 1.2 or later.`,
        details,
      };
    }
    const errors = result.findings.filter(
      (f) => f.status === 'error' && /^smtp\.(connect|banner|starttls)$/.test(f.id),
    );
    return {
      ...base,
      verdict: 'could_not_test',
      summary: `could not test: ${
        errors.length
          ? list(
              errors.map((f) => `${where(f)}: ${quote(f.summary, 120)}`),
              2,
            )
          : 'no mail server of the domain could be probed'
      }`,
      details,
    };
  },
};
