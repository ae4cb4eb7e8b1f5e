import { lookupDkimKey } from '../../dkim/check.js';
import type { DkimKey } from '../../dkim/check.js';
import type { Followup } from '../model.js';
import { fromDomainOf, originalOf, quote } from './common.js';
import { aligned } from './sender-dmarc.js';
import { followupBase } from './types.js';
import type { FollowupDefinition, TargetResult } from './types.js';

/**
 * auth_failure: can the returned message's DKIM signatures verify at all? For each
 * DKIM-Signature of the returned headers, the key at <s>._domainkey.<d> (`lookupDkimKey`):
 * missing, malformed, revoked or too short keys make every signature fail. The signature
 * itself cannot be verified without the original body, and a usable key says so.
 */

/** Header fields a returned header block has at least when it is complete enough to judge. */
const MIN_HEADERS = 4;

export const senderDkimFollowup: FollowupDefinition = {
  id: 'sender_dkim',
  reasons: ['auth_failure'],
  description:
    'for each DKIM-Signature of the returned message, the key at `<s>._domainkey.<d>` (`lookupDkimKey`): missing, malformed, revoked, testing or too short; no signature at all when the returned headers carry none',
  title: (target) =>
    target?.params?.selector
      ? `DKIM key ${target.value}`
      : target
        ? `DKIM signature of the message to ${target.value}`
        : 'DKIM key of the signature',
  targets: (record, diagnosis): TargetResult[] => {
    const o = originalOf(record, diagnosis);
    const from = fromDomainOf(o) ?? '';
    const sigs = o.dkimSignatures ?? [];
    if (sigs.length > 0) {
      return sigs.map((s) => ({
        ok: true,
        target: {
          value: `${s.selector}._domainkey.${s.domain}`,
          params: { domain: s.domain, selector: s.selector, from },
        },
      }));
    }
    if (!o.headersIncluded || (o.headers?.length ?? 0) < MIN_HEADERS) {
      return [
        {
          ok: false,
          why: 'the bounce does not include the original message’s headers, so its DKIM signature (selector and domain) is unknown.',
        },
      ];
    }
    return [{ ok: true, target: { value: from || 'the sender', params: { unsigned: '1' } } }];
  },
  run: async (target, deps) => {
    const base = followupBase(senderDkimFollowup, target);
    const p = target.params ?? {};
    if (p.unsigned === '1') {
      return {
        ...base,
        verdict: 'confirmed',
        summary:
          'confirmed: the returned message has no DKIM-Signature header: it was not DKIM-signed (or the bounce left the signature out), so it could only pass DMARC through aligned SPF.',
        details: { signatures: 0 },
      };
    }
    const key = await lookupDkimKey(deps.dns, p.domain!, p.selector!, { signal: deps.signal });
    return { ...base, ...keyVerdict(key, p.domain!, p.from ?? ''), details: keyDetails(key) };
  },
};

function keyDetails(k: DkimKey): Record<string, unknown> {
  return {
    name: k.name,
    rcode: k.rcode,
    cnameChain: k.cnameChain,
    records: k.records.map((r) => (r.length > 300 ? `${r.slice(0, 297)}...` : r)),
    keyType: k.keyType ?? null,
    bits: k.bits ?? null,
    revoked: k.revoked ?? false,
    testing: k.testing ?? false,
    error: k.error ?? null,
  };
}

function keyVerdict(k: DkimKey, domain: string, from: string): Pick<Followup, 'verdict' | 'summary'> {
  if (k.rcode !== 'NOERROR' && k.rcode !== 'NXDOMAIN') {
    return {
      verdict: 'could_not_test',
      summary: `could not test: the lookup of ${k.name} failed (${k.rcode}).`,
    };
  }
  if (k.records.length === 0) {
    return {
      verdict: 'confirmed',
      summary: `confirmed: no DKIM key is published at ${k.name} (${k.rcode === 'NXDOMAIN' ? 'the name does not exist' : 'no key record'}): receivers cannot verify signatures with s=${k.selector} d=${domain}.`,
    };
  }
  if (k.error)
    return {
      verdict: 'confirmed',
      summary: `confirmed: the DKIM key at ${k.name} cannot be used: ${quote(k.error, 200)}.`,
    };
  if (k.revoked) {
    return {
      verdict: 'confirmed',
      summary: `confirmed: the DKIM key at ${k.name} is revoked (empty p=): signatures with it fail.`,
    };
  }
  if (k.keyType === 'rsa' && k.bits !== undefined && k.bits < 1024) {
    return {
      verdict: 'confirmed',
      summary: `confirmed: the DKIM key at ${k.name} is RSA ${k.bits} bits; receivers treat signatures with keys under 1024 bits as missing (RFC 8301).`,
    };
  }
  const kind = k.keyType === 'ed25519' ? 'Ed25519' : `RSA ${k.bits ?? '?'} bits`;
  const notes = [
    k.testing ? 'it is in testing mode (t=y), so some receivers ignore the signature' : '',
    from && !aligned(domain, from, 'r')
      ? `d=${domain} does not align with the From domain ${from}, so this signature cannot satisfy DMARC`
      : '',
  ].filter(Boolean);
  return {
    verdict: 'not_confirmed',
    summary: `not confirmed: the key at ${k.name} is published and usable (${kind})${notes.length ? `, but ${notes.join('; ')}` : ''}. The signature may still have failed if the message changed in transit (a mailing list or forwarder); verifying it needs the original message body.`,
  };
}
