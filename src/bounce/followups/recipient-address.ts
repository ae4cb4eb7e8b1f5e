import { verifyRecipients } from '../../smtp/check.js';
import type { Followup } from '../model.js';
import { quote, recipientDomainOf, transcriptLines } from './common.js';
import { followupBase } from './types.js';
import type { FollowupDefinition } from './types.js';

/**
 * user_unknown: does the address exist now? The recipient is asked on the domain's MX hosts
 * with MAIL FROM / RCPT TO / RSET / QUIT (`verifyRecipients`, never DATA), together with
 * random addresses that cannot exist, so a server that accepts everything (catch-all) is not
 * taken as proof that the address exists.
 */
export const recipientAddressFollowup: FollowupDefinition = {
  id: 'recipient_address',
  reasons: ['user_unknown'],
  usesSmtp: true,
  description:
    'asks the recipient domain’s MX hosts whether the address exists with `RCPT TO` (`verifyRecipients`: MAIL FROM, RCPT TO, RSET, QUIT — never DATA), with random addresses to detect a catch-all',
  title: (target) => (target ? `Does ${target.value} exist?` : 'Does the address exist?'),
  targets: (record) => {
    if (!record.recipient) return [{ ok: false, why: 'the bounce names no recipient address.' }];
    const d = recipientDomainOf(record);
    if (!d.ok) return [{ ok: false, why: d.why }];
    const local = record.recipient.slice(0, record.recipient.lastIndexOf('@'));
    const control = [...local].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);
    if (!local || local.length > 64 || control || /[\s<>()\\,;:"[\]]/.test(local)) {
      return [
        {
          ok: false,
          why: `the recipient ${JSON.stringify(record.recipient)} is not an address that can be asked for.`,
        },
      ];
    }
    return [{ ok: true, target: { value: `${local}@${d.ascii}` } }];
  },
  run: async (target, deps) => {
    const address = target.value;
    const domain = address.slice(address.lastIndexOf('@') + 1);
    const base = followupBase(recipientAddressFollowup, target);
    const report = await deps.mxReport(domain);
    const mx = report.mx;
    const mxDetails = { mxKind: mx.kind, hosts: mx.hosts.map((h) => h.name) };
    if (mx.kind === 'nxdomain' || mx.kind === 'none' || mx.kind === 'null') {
      const why =
        mx.kind === 'nxdomain'
          ? `${domain} does not exist in DNS`
          : mx.kind === 'null'
            ? `${domain} publishes a null MX (it accepts no mail)`
            : `${domain} has no MX record and no address`;
      return {
        ...base,
        verdict: 'confirmed',
        summary: `confirmed: ${why}, so no address there can receive mail.`,
        details: mxDetails,
      };
    }
    if (mx.kind === 'error') {
      return {
        ...base,
        verdict: 'could_not_test',
        summary: `could not test: the MX lookup of ${domain} failed, so there was no server to ask.`,
        details: mxDetails,
      };
    }
    const result = await verifyRecipients({
      domain,
      mx,
      addresses: [address],
      config: deps.config,
      sharing: deps.services,
      signal: deps.signal,
      now: deps.now,
    });
    const v = result.verdicts[0];
    const details = {
      ...mxDetails,
      verdict: v?.verdict ?? 'unknown',
      reason: v?.reason ?? null,
      host: v?.host ?? null,
      address: v?.ipAddress ?? null,
      reply: v?.reply
        ? `${v.reply.code}${v.reply.enhanced ? ` ${v.reply.enhanced}` : ''} ${v.reply.text}`
        : null,
      catchAll: result.catchAll.state,
      transcript: transcriptLines(result.sessions),
    };
    const server = v?.host ? `${v.host}${v.ipAddress ? ` [${v.ipAddress}]` : ''}` : `the MX of ${domain}`;
    const reply = v?.reply
      ? `“${quote(`${v.reply.code}${v.reply.enhanced ? ` ${v.reply.enhanced}` : ''} ${v.reply.text}`)}”`
      : 'no reply';
    return {
      ...base,
      ...verdictOf(v?.verdict, v?.reason, server, reply, address, result.catchAll.state),
      details,
    };
  },
};

function verdictOf(
  verdict: string | undefined,
  reason: string | undefined,
  server: string,
  reply: string,
  address: string,
  catchAll: string,
): Pick<Followup, 'verdict' | 'summary'> {
  switch (verdict) {
    case 'undeliverable':
      return { verdict: 'confirmed', summary: `confirmed: ${server} still refuses ${address}: ${reply}.` };
    case 'deliverable':
      return catchAll === 'yes'
        ? {
            verdict: 'could_not_test',
            summary: `could not test: ${server} accepted ${address}, but it accepts made-up addresses too (catch-all), so that proves nothing.`,
          }
        : {
            verdict: 'not_confirmed',
            summary: `not confirmed: the address exists now: ${server} accepted RCPT TO:<${address}> (${reply}) and refuses made-up addresses. It may have been created since, or the refusal came from a filter.`,
          };
    case 'risky':
      return {
        verdict: 'could_not_test',
        summary: `could not test: ${server} accepts any address at the domain (catch-all), so its answer for ${address} proves nothing.`,
      };
    case 'mailbox_full':
      return {
        verdict: 'not_confirmed',
        summary: `not confirmed: the address exists, but its mailbox is full now (${server}: ${reply}).`,
      };
    case 'greylisted':
      return {
        verdict: 'could_not_test',
        summary: `could not test: ${server} greylisted the question (${reply}); ask again in a few minutes.`,
      };
    case 'blocked_probe':
      return {
        verdict: 'could_not_test',
        summary: `could not test: ${server} refused mxdoctor’s own probe (${reply}), so it would not say whether the address exists.`,
      };
    case 'temporary':
      return {
        verdict: 'could_not_test',
        summary: `could not test: ${server} answered with a temporary error (${reply}).`,
      };
    default:
      return {
        verdict: 'could_not_test',
        summary: `could not test: no MX host of the domain gave a definite answer (${reason ?? 'unknown'}${reply !== 'no reply' ? `: ${reply}` : ''}). Outbound port 25 may be blocked where mxdoctor runs.`,
      };
  }
}
