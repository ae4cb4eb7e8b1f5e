import { defineFindings } from '../checks/findings.js';
import { organisationalDomain } from '../dmarc/lookup.js';
import type { DmarcLookup } from '../dmarc/lookup.js';
import type { BimiRecord } from '../bimi/record.js';
import type { Finding } from '../report/model.js';
import { verdictOf } from '../report/score.js';
import type { CheckHostResult } from '../spf/evaluate.js';
import type { AuthResultsHeader } from './headers.js';
import type { AuthDkim, AuthReport, Envelope } from './model.js';

/**
 * The judgement of a received message's authentication, from facts gathered by run.ts. Pure.
 * Findings have stable IDs (`auth.*`), documented in docs/checks.md.
 */

export const AUTH = defineFindings('auth', {
  'auth.envelope': {
    title: 'Envelope',
    statuses: ['info', 'error'],
    meaning:
      'Which client IP, MAIL FROM and HELO the receiving server saw, and which header each came from: the options --ip/--mail-from/--helo, else the receiving system’s own Received-SPF, Authentication-Results, entry-hop Received and Return-Path headers (info); error when the client IP or the sender could not be found, so SPF could not be evaluated.',
  },
  'auth.spf': {
    title: 'SPF',
    statuses: ['pass', 'warn', 'fail', 'error'],
    meaning:
      'RFC 7208 check_host() for the client IP and the MAIL FROM domain (the HELO name for the null sender): pass; softfail, neutral or none (warn: the domain does not vouch for the client); fail or permerror (fail); temperror, or not evaluated for want of an IP or a sender (error).',
  },
  'auth.spf_helo': {
    title: 'SPF for HELO',
    statuses: ['pass', 'warn', 'fail', 'info', 'error'],
    meaning:
      'RFC 7208 check_host() for the client IP and its HELO name (§2.3), evaluated when the session is known (the inbound test): pass; softfail or neutral (warn); fail or permerror (fail); none (info: few host names publish SPF, though RFC 7208 recommends it); temperror (error).',
  },
  'auth.dkim': {
    title: 'DKIM signature',
    statuses: ['pass', 'warn', 'fail', 'error'],
    meaning:
      'One per DKIM-Signature (verified by mailauth with keys from our resolver): the body hash, the header signature and the key at <s>._domainkey.<d> verify (pass); they do, but with a 1024-bit key or an l= tag that leaves room to append content (warn); the body or the signed headers changed, the key is missing, revoked, shorter than 1024 bits, or the signature expired (fail); the key lookup failed (error). warn when the message carries no signature at all.',
  },
  'auth.arc': {
    title: 'ARC chain',
    statuses: ['pass', 'info', 'warn'],
    meaning:
      'The ARC chain (RFC 8617) of intermediaries that handled the message validates (pass), is absent (info), or is broken (warn: receivers cannot rely on what forwarders say they saw).',
  },
  'auth.dmarc': {
    title: 'DMARC',
    statuses: ['pass', 'warn', 'fail', 'error'],
    meaning:
      'The From domain’s DMARC policy (RFC 7489) applied to this message: an aligned SPF or DKIM pass (pass); no DMARC record, or the message fails under p=none (warn); it fails and the policy says quarantine or reject, or the From header is missing or has several addresses (fail); the policy lookup failed (error). The finding says what a receiver does with the message (its disposition).',
  },
  'auth.bimi': {
    title: 'BIMI',
    statuses: ['pass', 'info', 'warn'],
    meaning:
      'Whether a mailbox provider could show the sender’s logo (BIMI): DMARC passes at enforcement and a BIMI record with a logo exists (pass; warn without a=, the certificate most providers require); otherwise info with the reasons.',
  },
  'auth.receiver': {
    title: 'Receiver’s verdict',
    statuses: ['pass', 'warn', 'info'],
    meaning:
      'The Authentication-Results written by the receiving system compared with ours: the same results (pass); a receiver that decided differently (warn: the message may have been changed after delivery, a key rotated, DNS changed, or the receiver applies its own rules); none written, or only by earlier hops, which prove nothing (info).',
  },
});

export interface DkimFact extends Omit<AuthDkim, 'result' | 'aligned'> {
  /** mailauth's status.result: pass, fail, neutral, policy, temperror… */
  mailauthResult: string;
}

export interface AuthFacts {
  envelope: Envelope;
  hasReceived: boolean;
  from: string[];
  fromDomain?: string;
  spf?: CheckHostResult;
  /** SPF for the HELO name, when asked for. */
  spfHelo?: CheckHostResult;
  dkim: DkimFact[];
  dkimError?: string;
  arc: {
    result: 'pass' | 'fail' | 'none';
    instances: number;
    comment?: string;
    sealer?: string;
    sealedResults?: Record<string, string>;
  };
  dmarc?: DmarcLookup;
  bimi: { selector: string; record?: string; parsed?: BimiRecord; error?: string };
  authResults: (AuthResultsHeader & { trusted: boolean })[];
}

type Evaluated = Omit<AuthReport, 'checkedAt' | 'durationMs' | 'message' | 'envelope'>;

export function aligned(a: string, b: string, mode: 'r' | 's'): boolean {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  return mode === 's' ? x === y : organisationalDomain(x) === organisationalDomain(y);
}

/** Our DKIM result from mailauth's, with our own rules on key size. */
function dkimResult(f: DkimFact): { result: AuthDkim['result']; comment?: string } {
  const comment = f.comment;
  switch (f.mailauthResult) {
    case 'pass':
      if (f.keyType === 'rsa' && f.keyBits !== undefined && f.keyBits < 1024)
        return {
          result: 'policy',
          comment: `the RSA key has ${f.keyBits} bits; receivers ignore keys under 1024`,
        };
      return { result: 'pass' };
    case 'fail':
      return { result: 'fail', comment: comment ?? 'bad signature' };
    case 'temperror':
      return { result: 'temperror', ...(comment ? { comment } : {}) };
    case 'policy':
      return { result: 'policy', ...(comment ? { comment } : {}) };
    case 'permerror':
      return { result: 'permerror', ...(comment ? { comment } : {}) };
    default:
      if (comment === 'body hash did not verify')
        return {
          result: 'fail',
          comment: 'the body hash does not match: the body was changed after signing',
        };
      if (comment && /no key|unknown key|invalid public key/.test(comment))
        return { result: 'permerror', comment };
      return { result: 'neutral', ...(comment ? { comment } : {}) };
  }
}

export function evaluateAuth(facts: AuthFacts): Evaluated {
  const findings: Finding[] = [];
  const env = facts.envelope;
  const record = facts.dmarc?.record;
  const adkim = record?.adkim ?? 'r';
  const aspf = record?.aspf ?? 'r';

  // Envelope.
  const src = (k: 'ip' | 'mailFrom' | 'helo') => {
    const s = env.sources[k];
    return s ? `${s.header}${s.index ? ` (header ${s.index})` : ''}: ${s.why}` : 'not found';
  };
  const missing = [
    !env.ip ? 'the client IP (--ip)' : '',
    env.mailFrom === undefined ? 'the envelope sender (--mail-from)' : '',
  ]
    .filter(Boolean)
    .join(' and ');
  findings.push(
    AUTH.make('auth.envelope', missing ? 'error' : 'info', {
      summary: missing
        ? `${missing} could not be found in headers written by the receiving system${facts.hasReceived ? '' : ' (the message has no Received header: it was never received over SMTP)'}, so SPF ${env.ip && env.mailFrom === undefined ? (facts.spf ? `was evaluated for the HELO name ${env.helo} only` : 'could not be evaluated') : 'could not be evaluated'}.`
        : `Client ${env.ip}, MAIL FROM <${env.mailFrom}>${env.helo ? `, HELO ${env.helo}` : ''}. IP from ${src('ip')}. MAIL FROM from ${src('mailFrom')}.${env.helo ? ` HELO from ${src('helo')}.` : ''}`,
      ...(missing
        ? {
            remedy:
              'Give the values the receiving server saw with --ip, --mail-from and --helo (API: ip, mailFrom, helo).',
          }
        : {}),
      details: { envelope: env },
    }),
  );

  // SPF.
  const spf = facts.spf;
  // DMARC aligns the MAIL FROM domain, or the HELO name for the null sender (RFC 7489 §3.1.2);
  // with the sender unknown, SPF (of the HELO) does not count towards alignment.
  const spfDomain = env.mailFrom
    ? env.mailFrom.slice(env.mailFrom.lastIndexOf('@') + 1).toLowerCase()
    : env.mailFrom === ''
      ? env.helo
      : undefined;
  if (!spf) {
    findings.push(
      AUTH.make('auth.spf', 'error', {
        summary: `SPF was not evaluated: ${!env.ip ? 'the client IP is unknown' : 'neither the MAIL FROM nor a HELO domain is known'}.`,
        remedy: 'Give the client IP and the envelope sender with --ip and --mail-from.',
      }),
    );
  } else {
    const status =
      spf.result === 'pass'
        ? 'pass'
        : spf.result === 'fail' || spf.result === 'permerror'
          ? 'fail'
          : spf.result === 'temperror'
            ? 'error'
            : 'warn';
    findings.push(
      AUTH.make('auth.spf', status, {
        summary: `spf=${spf.result} for ${env.ip} sending as ${spf.domain}${env.mailFrom === '' ? ' (the HELO identity: the sender is <>)' : env.mailFrom === undefined ? ' (the HELO identity: the envelope sender is unknown)' : ''}: ${spf.reason}.`,
        ...(status === 'fail' || status === 'warn'
          ? {
              remedy:
                spf.result === 'permerror'
                  ? `Fix the SPF record of ${spf.domain}: receivers treat a broken record as a failure.`
                  : `If ${env.ip} sends mail for ${spf.domain}, authorise it in ${spf.domain}'s SPF record (an ip4:/ip6: term or the provider's include:); if it does not, this message was not sent by the domain's servers.`,
            }
          : {}),
        details: {
          result: spf.result,
          domain: spf.domain,
          lookups: spf.lookups,
          record: spf.record ?? null,
          matched: spf.matched ?? null,
        },
      }),
    );
  }
  if (facts.spfHelo) findings.push(heloSpfFinding(facts.spfHelo, env.ip ?? ''));
  const spfAligned = Boolean(
    spf &&
    spf.result === 'pass' &&
    facts.fromDomain &&
    spfDomain &&
    aligned(spfDomain, facts.fromDomain, aspf),
  );

  // DKIM.
  const dkim: AuthDkim[] = facts.dkim.map((f) => {
    const { mailauthResult: _m, ...rest } = f;
    void _m;
    const r = dkimResult(f);
    return {
      ...rest,
      result: r.result,
      ...(r.comment ? { comment: r.comment } : {}),
      aligned: Boolean(facts.fromDomain && aligned(f.domain, facts.fromDomain, adkim)),
    };
  });
  if (facts.dkimError) {
    findings.push(
      AUTH.make('auth.dkim', 'error', {
        summary: `DKIM could not be verified: ${facts.dkimError}.`,
        details: {},
      }),
    );
  } else if (dkim.length === 0) {
    findings.push(
      AUTH.make('auth.dkim', 'warn', {
        summary:
          'The message carries no DKIM signature: only SPF can authenticate it, and SPF breaks on forwarding.',
        remedy: `Sign outgoing mail with DKIM${facts.fromDomain ? ` under ${facts.fromDomain} (aligned with the From domain)` : ''}.`,
      }),
    );
  }
  for (const s of dkim) {
    const name = `${s.selector}._domainkey.${s.domain}`;
    const notes: string[] = [];
    if (s.keyType === 'rsa' && s.keyBits !== undefined && s.keyBits < 2048 && s.keyBits >= 1024)
      notes.push(`the ${s.keyBits}-bit RSA key is weak (use 2048 bits)`);
    if (s.bodyLengthLimit !== undefined)
      notes.push(
        s.unsignedBodyBytes
          ? `l=${s.bodyLengthLimit} leaves ${s.unsignedBodyBytes} octets of the body unsigned: anyone can append content and keep the signature valid`
          : `l=${s.bodyLengthLimit} limits the signed body: anyone can append content and keep the signature valid`,
      );
    const status =
      s.result === 'pass' ? (notes.length ? 'warn' : 'pass') : s.result === 'temperror' ? 'error' : 'fail';
    findings.push(
      AUTH.make('auth.dkim', status, {
        title: `DKIM signature d=${s.domain} s=${s.selector}`,
        summary:
          s.result === 'pass'
            ? `dkim=pass: d=${s.domain}, key ${name} (${s.keyType ?? 'unknown'}${s.keyBits ? ` ${s.keyBits} bits` : ''})${s.aligned ? ', aligned with the From domain' : facts.fromDomain ? `, not aligned with the From domain ${facts.fromDomain}` : ''}${notes.length ? `; but ${notes.join('; ')}` : ''}.`
            : `dkim=${s.result} for d=${s.domain} (key ${name}): ${s.comment ?? 'the signature does not verify'}.`,
        ...(status !== 'pass' && status !== 'error'
          ? {
              remedy:
                s.result === 'pass'
                  ? 'Sign with a 2048-bit RSA (or Ed25519) key and without l=.'
                  : s.result === 'permerror'
                    ? `Publish the public key at ${name} (TXT "v=DKIM1; k=rsa; p=…"), or sign with a selector whose key is published.`
                    : s.result === 'policy'
                      ? 'Replace the key with a 2048-bit RSA key.'
                      : 'The message was changed after it was signed (a mailing list footer, a forwarder rewriting headers, a gateway re-encoding), or it was not signed by the domain’s key. Sign after the last change, and with relaxed canonicalisation (c=relaxed/relaxed).',
            }
          : {}),
        subject: { name },
        details: { ...s },
      }),
    );
  }

  // ARC.
  const a = facts.arc;
  findings.push(
    AUTH.make('auth.arc', a.result === 'pass' ? 'pass' : a.result === 'none' ? 'info' : 'warn', {
      summary:
        a.result === 'pass'
          ? `arc=pass: ${a.instances} ARC set${a.instances === 1 ? '' : 's'}; the last sealer${a.sealer ? ` (${a.sealer})` : ''} recorded ${
              Object.entries(a.sealedResults ?? {})
                .map(([k, v]) => `${k}=${v}`)
                .join(', ') || 'no results'
            }.`
          : a.result === 'none'
            ? 'No ARC chain: no intermediary sealed what it saw (normal for mail that was not forwarded).'
            : `arc=fail: the ARC chain of ${a.instances} set${a.instances === 1 ? '' : 's'} does not validate${a.comment ? ` (${a.comment})` : ''}; receivers ignore what the forwarders claim.`,
      ...(a.result === 'fail'
        ? {
            remedy:
              'The intermediary that sealed the chain must sign with a published key after its last change to the message.',
          }
        : {}),
      details: { ...a },
    }),
  );

  // DMARC.
  const dkimAligned = dkim.some((s) => s.result === 'pass' && s.aligned);
  const dmarc = dmarcOf(facts, spfAligned, dkimAligned);
  const dmarcStatus =
    dmarc.result === 'pass'
      ? 'pass'
      : dmarc.result === 'temperror'
        ? 'error'
        : dmarc.result === 'permerror' || (dmarc.result === 'fail' && dmarc.disposition !== 'none')
          ? 'fail'
          : 'warn';
  findings.push(
    AUTH.make('auth.dmarc', dmarcStatus, {
      summary: `dmarc=${dmarc.result}${dmarc.fromDomain ? ` for ${dmarc.fromDomain}` : ''}: ${dmarc.reason}${dmarc.result === 'fail' || dmarc.result === 'pass' ? ` A receiver applying the policy ${dmarc.disposition === 'none' ? 'delivers it' : dmarc.disposition === 'quarantine' ? 'quarantines it (spam folder)' : 'rejects it'}.` : ''}${dmarc.result === 'fail' && a.result === 'pass' ? ' The ARC chain validates, so a receiver that trusts the sealer may deliver it anyway.' : ''}`,
      ...(dmarcStatus === 'fail' || dmarcStatus === 'warn'
        ? {
            remedy:
              dmarc.result === 'none'
                ? `Publish a DMARC record at _dmarc.${dmarc.fromDomain ?? '<domain>'} (start with p=none and rua= reports).`
                : dmarc.result === 'permerror'
                  ? 'Put exactly one address in the From header.'
                  : `Make SPF or DKIM pass with a domain aligned with ${dmarc.fromDomain}: sign with d=${dmarc.fromDomain} (or a subdomain under relaxed alignment), or send with a MAIL FROM under ${dmarc.fromDomain} from an IP its SPF record authorises.`,
          }
        : {}),
      ...(dmarc.fromDomain ? { subject: { name: dmarc.fromDomain } } : {}),
      details: { ...dmarc },
    }),
  );

  // BIMI.
  const bimi = bimiOf(facts, dmarc);
  findings.push(
    AUTH.make('auth.bimi', bimi.eligible ? (bimi.authority ? 'pass' : 'warn') : 'info', {
      summary: bimi.eligible
        ? `A mailbox provider could show the logo ${bimi.logo}${bimi.authority ? ` (certificate ${bimi.authority})` : '; but the record has no a= certificate (VMC/CMC), which Gmail and Apple Mail require'}.`
        : `No BIMI logo for this message: ${bimi.reasons.join('; ')}.`,
      ...(bimi.eligible && !bimi.authority
        ? { remedy: 'Obtain a Verified Mark Certificate (or Common Mark Certificate) and name it in a=.' }
        : {}),
      details: { ...bimi },
    }),
  );

  // The receiver's own results, compared with ours.
  const ours: Record<string, string> = {
    spf: spf?.result ?? 'none',
    dmarc: dmarc.result,
    arc: a.result,
  };
  const receivers = facts.authResults.map((h) => {
    const results: Record<string, string> = {};
    const differences: string[] = [];
    for (const r of h.results) {
      const key =
        r.method === 'dkim'
          ? `dkim ${r.props['header.d'] ?? r.props['header.i']?.replace(/^.*@/, '') ?? ''}`.trim()
          : r.method;
      results[key] = r.result;
      if (!h.trusted) continue;
      if (r.method === 'dkim') {
        const d = (r.props['header.d'] ?? r.props['header.i']?.replace(/^.*@/, ''))?.toLowerCase();
        const mine = dkim.filter((s) => !d || s.domain === d);
        const ourResult = mine.some((s) => s.result === 'pass') ? 'pass' : (mine[0]?.result ?? 'none');
        if (ourResult !== r.result && !(r.result === 'none' && mine.length === 0))
          differences.push(
            `dkim${d ? ` (d=${d})` : ''}: ${h.authservId} said ${r.result}, we say ${ourResult}`,
          );
      } else if (ours[r.method] !== undefined && ours[r.method] !== r.result) {
        differences.push(`${r.method}: ${h.authservId} said ${r.result}, we say ${ours[r.method]}`);
      }
    }
    return { authservId: h.authservId, index: h.field.index, trusted: h.trusted, results, differences };
  });
  const trusted = receivers.filter((r) => r.trusted);
  const differences = trusted.flatMap((r) => r.differences);
  findings.push(
    AUTH.make('auth.receiver', trusted.length === 0 ? 'info' : differences.length ? 'warn' : 'pass', {
      summary:
        trusted.length === 0
          ? receivers.length
            ? `The ${receivers.length} Authentication-Results header${receivers.length === 1 ? ' was' : 's were'} written by earlier hops or the sender, not by the receiving system; they prove nothing (RFC 8601 §5) and were not compared.`
            : 'The receiving system wrote no Authentication-Results header to compare with.'
          : differences.length
            ? `The receiver decided differently: ${differences.join('; ')}.`
            : `${trusted.map((r) => r.authservId).join(', ')} recorded the same results as ours.`,
      ...(differences.length
        ? {
            remedy:
              'A different DKIM result usually means the message was changed after delivery (re-encoded, a footer added) or the key was rotated since; a different SPF or DMARC result, that DNS changed since or the receiver saw another envelope (give it with --ip and --mail-from), or that the receiver applies its own rules (ARC, local overrides).',
          }
        : {}),
      details: { receivers },
    }),
  );

  return {
    spf: spf
      ? {
          evaluated: true,
          identity: env.mailFrom ? 'mailfrom' : 'helo',
          domain: spf.domain,
          result: spf.result,
          reason: spf.reason,
          ...(spf.record ? { record: spf.record } : {}),
          lookups: spf.lookups,
        }
      : { evaluated: false },
    ...(facts.spfHelo
      ? {
          spfHelo: {
            evaluated: true,
            identity: 'helo' as const,
            domain: facts.spfHelo.domain,
            result: facts.spfHelo.result,
            reason: facts.spfHelo.reason,
            ...(facts.spfHelo.record ? { record: facts.spfHelo.record } : {}),
            lookups: facts.spfHelo.lookups,
          },
        }
      : {}),
    dkim,
    arc: a,
    dmarc,
    bimi,
    receivers,
    verdict: verdictOf(findings),
    findings,
  };
}

function heloSpfFinding(spf: CheckHostResult, ip: string): Finding {
  const status =
    spf.result === 'pass'
      ? 'pass'
      : spf.result === 'fail' || spf.result === 'permerror'
        ? 'fail'
        : spf.result === 'temperror'
          ? 'error'
          : spf.result === 'none'
            ? 'info'
            : 'warn';
  return AUTH.make('auth.spf_helo', status, {
    summary: `spf=${spf.result} for ${ip} greeting as ${spf.domain}: ${spf.reason}.`,
    ...(status === 'fail' || status === 'warn'
      ? {
          remedy:
            spf.result === 'permerror'
              ? `Fix the SPF record of ${spf.domain}.`
              : `Publish "v=spf1 a -all" (or ip4:${ip}) at ${spf.domain}, the name the server greets with, so receivers that check HELO (RFC 7208 §2.3) find it authorised.`,
        }
      : {}),
    details: { result: spf.result, domain: spf.domain, lookups: spf.lookups, record: spf.record ?? null },
  });
}

function dmarcOf(facts: AuthFacts, spfAligned: boolean, dkimAligned: boolean): AuthReport['dmarc'] {
  const base = { spfAligned, dkimAligned, disposition: 'none' as const };
  if (facts.from.length !== 1)
    return {
      ...base,
      result: 'permerror',
      reason:
        facts.from.length === 0
          ? 'the message has no From address.'
          : `the From header has ${facts.from.length} addresses; DMARC needs exactly one.`,
    };
  const lookup = facts.dmarc!;
  const out = { ...base, fromDomain: facts.fromDomain! };
  const failed = (rcode: string | undefined) =>
    rcode !== undefined && rcode !== 'NOERROR' && rcode !== 'NXDOMAIN';
  if (failed(lookup.rcode) || failed(lookup.orgRcode))
    return {
      ...out,
      result: 'temperror',
      reason: `the lookup of the DMARC policy failed (${lookup.orgRcode ?? lookup.rcode}).`,
    };
  if (lookup.records.length !== 1 || !lookup.record)
    return {
      ...out,
      result: 'none',
      reason:
        lookup.records.length > 1
          ? `${lookup.policyDomain} publishes ${lookup.records.length} DMARC records, so receivers apply none.`
          : lookup.records.length === 1
            ? `the DMARC record of ${lookup.policyDomain} is invalid (${lookup.parseError ?? 'unparseable'}), so receivers apply none.`
            : `${facts.fromDomain} publishes no DMARC record (nor does ${lookup.organisationalDomain}).`,
    };
  const r = lookup.record;
  const policy = (lookup.inherited ? (r.sp ?? r.p) : r.p) ?? 'none';
  const withRecord = {
    ...out,
    policyDomain: lookup.policyDomain!,
    record: r.text,
    policy,
    pct: r.pct,
    adkim: r.adkim,
    aspf: r.aspf,
  };
  const how = [
    spfAligned ? 'SPF passed with an aligned MAIL FROM domain' : 'SPF did not pass with an aligned domain',
    dkimAligned ? 'DKIM passed with an aligned d= domain' : 'no DKIM signature passed with an aligned domain',
  ].join('; ');
  if (spfAligned || dkimAligned)
    return { ...withRecord, result: 'pass', reason: `${how} (adkim=${r.adkim}, aspf=${r.aspf}).` };
  return {
    ...withRecord,
    result: 'fail',
    disposition: policy,
    reason: `${how} (adkim=${r.adkim}, aspf=${r.aspf}); the policy of ${lookup.policyDomain} is p=${policy}${lookup.inherited ? ' (sp=, inherited by the subdomain)' : ''}${r.pct < 100 ? `, applied to ${r.pct}% of failing mail` : ''}.`,
  };
}

function bimiOf(facts: AuthFacts, dmarc: AuthReport['dmarc']): AuthReport['bimi'] {
  const reasons: string[] = [];
  const b = facts.bimi;
  if (dmarc.result !== 'pass') reasons.push(`DMARC does not pass (${dmarc.result})`);
  if (dmarc.policy !== undefined && dmarc.policy === 'none')
    reasons.push('the DMARC policy is p=none, not at enforcement (quarantine or reject)');
  if (dmarc.pct !== undefined && dmarc.pct < 100)
    reasons.push(`the DMARC policy applies to pct=${dmarc.pct}, not 100`);
  if (!b.record)
    reasons.push(b.error ?? `no BIMI record at ${b.selector}._bimi.${facts.fromDomain ?? '<domain>'}`);
  else if (!b.parsed) reasons.push(`the BIMI record is invalid: ${b.error ?? 'unparseable'}`);
  else if (b.parsed.logo === '') reasons.push('the BIMI record declines to show a logo (l= is empty)');
  return {
    eligible: reasons.length === 0,
    selector: b.selector,
    ...(b.record ? { record: b.record } : {}),
    ...(b.parsed?.logo ? { logo: b.parsed.logo } : {}),
    ...(b.parsed?.authority ? { authority: b.parsed.authority } : {}),
    reasons,
  };
}
