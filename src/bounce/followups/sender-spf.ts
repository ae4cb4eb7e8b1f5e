import { domainOf } from '../explain.js';
import type { BounceRecord, Diagnosis, Followup } from '../model.js';
import type { CheckHostResult } from '../../spf/evaluate.js';
import { domainTarget, originalOf, quote, senderOf, sendingIpOf, sendingIpWhy } from './common.js';
import { followupBase } from './types.js';
import type { FollowupDefinition, TargetOptions, TargetResult } from './types.js';

/**
 * auth_failure: does the sender's SPF policy authorise the IP address that sent the message?
 * RFC 7208 check_host() for the original sending IP (the refusal's, else the Received
 * chain's) and the envelope sender's domain — what the receiver evaluated.
 */

/** The SPF question of a record: sending IP, envelope sender and its domain, HELO name. */
export function spfTarget(record: BounceRecord, diagnosis: Diagnosis, options: TargetOptions): TargetResult {
  const ip = sendingIpOf(record, diagnosis, options.allowPrivate);
  if (!ip.ok)
    return {
      ok: false,
      why: sendingIpWhy(ip, () => 'mxdoctor checks private addresses only with MXDOCTOR_ALLOW_PRIVATE'),
    };
  const original = originalOf(record, diagnosis);
  const sender = senderOf(original);
  const d = domainTarget(domainOf(sender), 'the sender’s domain');
  if (!d.ok)
    return { ok: false, why: `${d.why} Paste the whole bounce, with the original message’s headers.` };
  return {
    ok: true,
    target: {
      value: d.ascii,
      params: { ip: ip.ip, sender: sender ?? '', helo: original.sendingHost ?? '' },
    },
  };
}

export const senderSpfFollowup: FollowupDefinition = {
  id: 'sender_spf',
  reasons: ['auth_failure'],
  description:
    'RFC 7208 `check_host()` of the original sending IP (the refusal’s, else the Received chain’s) for the envelope sender’s domain, with the full include/redirect/macro semantics',
  title: (target) =>
    target
      ? `SPF of ${target.value} for ${target.params?.ip ?? 'the sending IP'}`
      : 'SPF of the sender’s domain for the sending IP',
  targets: (record, diagnosis, options) => [spfTarget(record, diagnosis, options)],
  run: async (target, deps) => {
    const ip = target.params?.ip ?? '';
    const result = await deps.spf({
      ip,
      domain: target.value,
      sender: target.params?.sender ?? '',
      helo: target.params?.helo ?? '',
    });
    return { ...followupBase(senderSpfFollowup, target), ...spfVerdict(result), details: spfDetails(result) };
  },
};

export function spfDetails(r: CheckHostResult): Record<string, unknown> {
  return {
    result: r.result,
    reason: r.reason,
    record: r.record ?? null,
    matched: r.matched ?? null,
    explanation: r.explanation ?? null,
    lookups: r.lookups,
    voidLookups: r.voidLookups,
    ip: r.ip,
    sender: r.sender,
    trace: r.trace
      .slice(0, 60)
      .map((t) => `${'  '.repeat(t.depth)}${t.domain}${t.term ? ` ${t.term}` : ''}: ${t.note}`),
  };
}

/** Whether an SPF result lets the message through ("pass"); everything else supports the bounce. */
export function spfVerdict(r: CheckHostResult): Pick<Followup, 'verdict' | 'summary'> {
  const by = r.matched
    ? ` (${r.matched.term}${r.matched.domain !== r.domain ? ` in ${r.matched.domain}` : ''})`
    : '';
  switch (r.result) {
    case 'pass':
      return {
        verdict: 'not_confirmed',
        summary: `not confirmed: SPF passes: ${r.domain} authorises ${r.ip}${by}. If the receiver judged DMARC, check that the From domain aligns with ${r.domain}, or that a DKIM signature of the From domain verifies.`,
      };
    case 'fail':
      return {
        verdict: 'confirmed',
        summary: `confirmed: SPF fails: ${r.domain}’s policy does not authorise ${r.ip}${by}${r.explanation ? `, explaining “${quote(r.explanation, 120)}”` : ''}.`,
      };
    case 'softfail':
      return {
        verdict: 'confirmed',
        summary: `confirmed: SPF softfails: ${r.domain}’s policy does not authorise ${r.ip}${by}; receivers that require authentication treat that as a failure.`,
      };
    case 'neutral':
      return {
        verdict: 'confirmed',
        summary: `confirmed: SPF is neutral for ${r.ip}${by}: ${r.domain}’s policy says nothing about it, which is not a pass.`,
      };
    case 'none':
      return {
        verdict: 'confirmed',
        summary: `confirmed: ${r.domain} publishes no SPF record, so ${r.ip} cannot pass SPF (${quote(r.reason, 120)}).`,
      };
    case 'permerror':
      return {
        verdict: 'confirmed',
        summary: `confirmed: ${r.domain}’s SPF policy is broken (permerror: ${quote(r.reason, 160)}); receivers treat that as a failure.`,
      };
    case 'temperror':
      return {
        verdict: 'could_not_test',
        summary: `could not test: the SPF evaluation of ${r.domain} for ${r.ip} hit a DNS error (temperror: ${quote(r.reason, 160)}).`,
      };
  }
}
