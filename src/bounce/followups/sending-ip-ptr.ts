import { reverseDns } from '../../ptr/check.js';
import type { Followup } from '../model.js';
import { classifyAddress } from '../../net/address-guard.js';
import { list, sendingIpOf, sendingIpWhy } from './common.js';
import { isHostAddress } from '../received.js';
import type { FollowupDefinition, FollowupDeps } from './types.js';

/**
 * require_ptr, blocked, bad_reputation: does the sending IP have reverse DNS, and does its
 * PTR name resolve back to it (forward-confirmed reverse DNS, what receivers such as Gmail
 * (5.7.25) and Comcast ask for)? `reverseDns()` of the PTR check, for the IP the refusal
 * names, else the sending hop of the Received chain.
 */

export const sendingIpPtrFollowup: FollowupDefinition = {
  id: 'sending_ip_ptr',
  reasons: ['require_ptr', 'blocked', 'bad_reputation'],
  description:
    'the PTR record of the sending IP (the refusal’s, else the Received chain’s) and whether its name resolves back to the IP (forward-confirmed reverse DNS, `reverseDns`)',
  title: (target) => (target ? `Reverse DNS of ${target.value}` : 'Reverse DNS of the sending IP'),
  targets: (record, diagnosis, { allowPrivate }) => {
    const ip = sendingIpOf(record, diagnosis, allowPrivate);
    return [
      ip.ok
        ? { ok: true, target: { value: ip.ip } }
        : {
            ok: false,
            why: sendingIpWhy(ip, () => 'its reverse DNS means nothing to receivers on the Internet'),
          },
    ];
  },
  run: async (target, deps) => checkPtr(target.value, deps),
};

/** A PTR name that embeds the address ("host-192-0-2-1.example.net") looks dynamic to receivers. */
export function looksGeneric(name: string, ip: string): boolean {
  const parts = ip.includes(':') ? [] : ip.split('.');
  if (parts.length === 4) {
    const [a, b, c, d] = parts;
    const forms = [
      [a, b, c, d],
      [d, c, b, a],
    ].map((p) => p.join('[.-]?'));
    if (forms.some((f) => new RegExp(`(?:^|[^0-9])${f}(?:[^0-9]|$)`).test(name))) return true;
  }
  return /(?:^|[.-])(?:dyn(?:amic)?|dhcp|pool|dsl|adsl|cable|ppp|dial(?:up)?|client|cust(?:omer)?|broadband|ip-?\d)/i.test(
    name.split('.')[0] ?? '',
  );
}

export async function checkPtr(
  ip: string,
  deps: Pick<FollowupDeps, 'dns' | 'signal'> & { config: { net: { allowPrivate: boolean } } },
): Promise<Followup> {
  const base = { id: 'sending_ip_ptr', title: `Reverse DNS of ${ip}`, target: ip };
  const category = classifyAddress(ip);
  // With MXDOCTOR_ALLOW_PRIVATE a private address is a real target: its PTR is looked up too.
  if (category.category !== 'public' && !(deps.config.net.allowPrivate && isHostAddress(ip))) {
    return {
      ...base,
      verdict: 'could_not_test',
      summary: `could not test: ${ip} is a ${category.description}, not a public address; its reverse DNS means nothing to receivers.`,
      details: { category: category.category },
    };
  }
  const r = await reverseDns(deps.dns, ip, { signal: deps.signal });
  const names = r.names.map((n) => n.toLowerCase().replace(/\.$/, ''));
  const details = {
    reverseName: r.reverseName,
    rcode: r.rcode,
    ptr: names,
    forward: r.forward.map((f) => ({ host: f.name, rcode: f.rcode, addresses: f.addresses })),
    confirmed: r.confirmed,
  };
  if (r.rcode !== 'NOERROR' && r.rcode !== 'NXDOMAIN') {
    return {
      ...base,
      verdict: 'could_not_test',
      summary: `could not test: the PTR lookup of ${r.reverseName} failed (${r.rcode}).`,
      details,
    };
  }
  if (names.length === 0) {
    return {
      ...base,
      verdict: 'confirmed',
      summary: `confirmed: ${ip} has no PTR record (${r.reverseName} ${r.rcode === 'NXDOMAIN' ? 'does not exist' : 'has no PTR'}); many receivers refuse mail from such addresses.`,
      details,
    };
  }
  const good = r.confirmed[0]?.toLowerCase().replace(/\.$/, '');
  if (good) {
    const generic = looksGeneric(good, ip);
    return {
      ...base,
      verdict: 'not_confirmed',
      summary: `not confirmed: ${ip} has the PTR name ${good}, which resolves back to it (forward-confirmed).${generic ? ' The name looks generic (it embeds the address or a dynamic-pool word), which some receivers refuse: use a name of your own, such as mail.example.org.' : ' If the bounce is recent, the fix may already be in place.'}`,
      details: { ...details, generic },
    };
  }
  if (r.forward.every((f) => f.rcode !== 'NOERROR' && f.rcode !== 'NXDOMAIN')) {
    return {
      ...base,
      verdict: 'could_not_test',
      summary: `could not test: ${ip} has the PTR name ${list(names)}, but looking the name up failed.`,
      details,
    };
  }
  return {
    ...base,
    verdict: 'confirmed',
    summary: `confirmed: ${ip} has the PTR name ${list(names)}, but ${names.length === 1 ? 'that name does' : 'none of those names does'} not resolve back to ${ip} (no forward-confirmed reverse DNS).`,
    details,
  };
}
