import { domainOf } from '../explain.js';
import type { Followup } from '../model.js';
import { lookupDmarc, organisationalDomain } from '../../dmarc/lookup.js';
import type { CheckHostResult } from '../../spf/evaluate.js';
import { domainTarget, fromDomainOf, list, originalOf, quote, senderOf, sendingIpOf } from './common.js';
import { followupBase } from './types.js';
import type { FollowupDefinition } from './types.js';

/**
 * auth_failure: does the From domain's DMARC policy (RFC 7489) explain the refusal? The
 * policy record (with the organisational-domain fallback), and whether SPF — evaluated for
 * the sending IP — passes for a domain aligned with the From domain. DKIM signatures cannot
 * be verified without the original body; aligned ones found in the returned headers are
 * reported as what DMARC could still have passed on.
 */

type Policy = 'none' | 'quarantine' | 'reject';

/** RFC 7489 §3.1: relaxed alignment compares organisational domains, strict the exact names. */
export function aligned(a: string, b: string, mode: 'r' | 's'): boolean {
  const x = a.toLowerCase().replace(/\.$/, '');
  const y = b.toLowerCase().replace(/\.$/, '');
  return mode === 's' ? x === y : organisationalDomain(x) === organisationalDomain(y);
}

export const senderDmarcFollowup: FollowupDefinition = {
  id: 'sender_dmarc',
  reasons: ['auth_failure'],
  description:
    'the DMARC record of the From domain (`lookupDmarc`, with the organisational-domain fallback): the policy that applies, and whether SPF for the sending IP passes aligned with the From domain (DKIM alignment from the returned DKIM-Signature headers)',
  title: (target) => (target ? `DMARC policy of ${target.value}` : 'DMARC policy of the sender’s domain'),
  targets: (record, diagnosis, { allowPrivate }) => {
    const original = originalOf(record, diagnosis);
    const from = domainTarget(fromDomainOf(original), 'the sender’s domain');
    if (!from.ok)
      return [{ ok: false, why: `${from.why} Paste the whole bounce, with the original message’s headers.` }];
    const ip = sendingIpOf(record, diagnosis, allowPrivate);
    const sender = senderOf(original) ?? '';
    const params: Record<string, string> = {
      sender,
      spfDomain: domainOf(sender) ?? '',
      helo: original.sendingHost ?? '',
      dkimDomains: (original.dkimSignatures ?? []).map((s) => s.domain).join(','),
      headers: original.headersIncluded ? '1' : '0',
      namesDmarc: /\bdmarc\b/i.test(record.diagnostic) ? '1' : '0',
    };
    if (ip.ok) params.ip = ip.ip;
    return [{ ok: true, target: { value: from.ascii, params } }];
  },
  run: async (target, deps) => {
    const domain = target.value;
    const p = target.params ?? {};
    const base = followupBase(senderDmarcFollowup, target);
    const lookup = await lookupDmarc(deps.dns, domain, { signal: deps.signal });
    const details: Record<string, unknown> = {
      policyDomain: lookup.policyDomain ?? null,
      inherited: lookup.inherited,
      records: lookup.records,
      rcode: lookup.rcode,
    };
    const failed = [lookup.rcode, lookup.orgRcode].find(
      (r) => r !== undefined && r !== 'NOERROR' && r !== 'NXDOMAIN',
    );
    if (failed) {
      return {
        ...base,
        verdict: 'could_not_test',
        summary: `could not test: the DMARC lookup of ${domain} failed (${failed}).`,
        details,
      };
    }
    const namesDmarc = p.namesDmarc === '1';
    const noPolicy = (what: string): Followup =>
      namesDmarc
        ? {
            ...base,
            verdict: 'confirmed',
            summary: `confirmed: ${domain} ${what}, and the refusal names DMARC: receivers such as Gmail and Yahoo require a valid DMARC record from bulk senders. Publish one, e.g. "v=DMARC1; p=none; rua=mailto:dmarc@${organisationalDomain(domain)}".`,
            details,
          }
        : {
            ...base,
            verdict: 'not_confirmed',
            summary: `not confirmed: ${domain} ${what}, so no DMARC policy asked the receiver to refuse the message; the refusal is about SPF or DKIM themselves.`,
            details,
          };
    if (lookup.records.length === 0) return noPolicy('publishes no DMARC record');
    if (lookup.records.length > 1)
      return noPolicy(
        `publishes ${lookup.records.length} DMARC records, which receivers ignore (RFC 7489 §6.6.3)`,
      );
    const rec = lookup.record;
    if (!rec || lookup.parseError || !rec.p)
      return noPolicy(
        `has an invalid DMARC record (${quote(lookup.parseError ?? 'no valid p= tag', 120)}), which receivers ignore`,
      );

    const policy: Policy = (lookup.inherited && rec.sp ? rec.sp : rec.p) as Policy;
    details.policy = policy;
    details.pct = rec.pct;
    details.aspf = rec.aspf;
    details.adkim = rec.adkim;
    const shown = `${lookup.policyDomain ?? domain}${lookup.inherited ? ' (organisational domain)' : ''} publishes p=${policy}${rec.pct < 100 ? ` pct=${rec.pct}` : ''}`;

    // SPF, evaluated for the sending IP and the envelope sender's domain.
    let spf: CheckHostResult | undefined;
    if (p.ip && p.spfDomain) {
      spf = await deps.spf({ ip: p.ip, domain: p.spfDomain, sender: p.sender ?? '', helo: p.helo ?? '' });
      details.spf = { result: spf.result, domain: p.spfDomain, ip: p.ip };
    }
    const spfAligned = p.spfDomain ? aligned(p.spfDomain, domain, rec.aspf) : false;
    const dkimAligned = (p.dkimDomains ?? '')
      .split(',')
      .filter(Boolean)
      .filter((d) => aligned(d, domain, rec.adkim));
    details.spfAligned = spfAligned;
    details.alignedDkimDomains = dkimAligned;

    if (spf?.result === 'pass' && spfAligned) {
      return {
        ...base,
        verdict: 'not_confirmed',
        summary: `not confirmed: ${shown}, and SPF passes for ${p.ip} with ${p.spfDomain}, aligned with ${domain}: DMARC passes.`,
        details,
      };
    }
    const spfText = !spf
      ? 'the sending IP is not in the bounce, so SPF could not be evaluated'
      : spf.result === 'pass'
        ? `SPF passes for ${p.spfDomain}, which does not align with ${domain} (aspf=${rec.aspf})`
        : spf.result === 'temperror'
          ? `SPF for ${p.ip} could not be evaluated (DNS error)`
          : `SPF ${spf.result === 'none' ? 'has no record' : spf.result === 'permerror' ? 'is broken' : `gives ${spf.result}`} for ${p.ip} with ${p.spfDomain}`;
    if (policy === 'none') {
      return {
        ...base,
        verdict: 'not_confirmed',
        summary: `not confirmed: ${shown} (monitoring only), so DMARC did not ask the receiver to refuse the message, although ${spfText}. The receiver’s own authentication rules refused it.`,
        details,
      };
    }
    if (!spf || spf.result === 'temperror' || dkimAligned.length > 0) {
      return {
        ...base,
        verdict: 'could_not_test',
        summary: `could not test: ${shown} and ${spfText}; ${
          dkimAligned.length > 0
            ? `the message carries a DKIM signature of ${list([...new Set(dkimAligned)])}, aligned with ${domain}, and whether it verified cannot be checked without the original message body (see the DKIM follow-up).`
            : 'DMARC passes only if a DKIM signature of the From domain verified.'
        }`,
        details,
      };
    }
    return {
      ...base,
      verdict: 'confirmed',
      summary: `confirmed: ${shown}, ${spfText}, and ${p.headers === '1' ? `the returned message carries no DKIM signature aligned with ${domain}` : `no DKIM signature aligned with ${domain} is known (the bounce does not include the original headers)`}: DMARC fails, and the policy asks receivers to ${policy} such mail.`,
      details,
    };
  },
};
