import { isIPv4 } from 'node:net';
import { z } from 'zod';
import { smtpAvailability, SmtpAvailabilitySchema, smtpNotTested } from '../smtp/contract.js';
import type { SessionSummary } from '../smtp/contract.js';
import { parseClientIp, reverseName } from '../spf/evaluate.js';
import type { Resolver } from '../dns/types.js';
import type { Finding } from '../report/model.js';
import { defineFindings } from '../checks/findings.js';
import { defineCheck } from '../checks/descriptors.js';

/**
 * Reverse DNS of every MX address: a PTR record, forward-confirmed (FCrDNS: the PTR name's
 * A/AAAA includes the address), and consistent with the host name the server announces in
 * its banner and EHLO reply (read from the SMTP check's session summaries).
 */
const F = defineFindings('ptr', {
  'ptr.present': {
    title: 'Reverse DNS (PTR)',
    statuses: ['pass', 'warn', 'error'],
    meaning:
      'One per MX address: it has a PTR record (pass); none (warn: receivers reject mail from addresses without reverse DNS, and MX hosts usually also send); the lookup failed (error).',
  },
  'ptr.fcrdns': {
    title: 'Forward-confirmed reverse DNS',
    statuses: ['pass', 'warn', 'error'],
    meaning:
      'A PTR name of the address resolves back to the address (FCrDNS, pass). Otherwise many receivers (and RFC 8601 "iprev") treat the name as forged (warn); the forward lookup failed (error).',
  },
  'ptr.banner': {
    title: 'PTR matches the SMTP banner',
    statuses: ['pass', 'info', 'error'],
    meaning:
      'The name in the 220 banner and EHLO reply equals the PTR name (pass); differs (info: harmless for receiving, but the same server sending mail with a mismatched HELO scores worse); not tested because SMTP did not run or did not reach the address (info when SMTP was switched off, error otherwise).',
  },
});

/** MX addresses looked up at most. */
export const MAX_ADDRESSES = 64;

export const ReverseDnsSchema = z.object({
  address: z.string(),
  reverseName: z.string(),
  rcode: z.string(),
  names: z.array(z.string()).describe('PTR targets'),
  /** Forward lookups of each PTR name. */
  forward: z.array(z.object({ name: z.string(), rcode: z.string(), addresses: z.array(z.string()) })),
  /** PTR names whose A/AAAA includes the address. */
  confirmed: z.array(z.string()),
});
export type ReverseDns = z.infer<typeof ReverseDnsSchema>;

/** PTR names checked per address (a hostile reverse zone could return hundreds). */
const MAX_PTR_NAMES = 10;

/** Reverse DNS of one address with forward confirmation. Library function. */
export async function reverseDns(
  resolver: Resolver,
  address: string,
  options: { signal?: AbortSignal } = {},
): Promise<ReverseDns> {
  const ip = parseClientIp(address);
  if (!ip) throw new Error(`${address} is not an IP address`);
  const opts = options.signal ? { signal: options.signal } : {};
  const name = reverseName(ip);
  const ptr = await resolver.query(name, 'PTR', opts);
  const names = [...new Set(ptr.records.map((r) => r.target))].slice(0, MAX_PTR_NAMES);
  const forward = await Promise.all(
    names.map(async (n) => {
      const answer = await resolver.query(n, ip.family === 4 ? 'A' : 'AAAA', opts);
      return { name: n, rcode: answer.rcode, addresses: answer.records.map((r) => r.address) };
    }),
  );
  const same = (a: string): boolean => {
    const p = parseClientIp(a);
    return p !== undefined && p.family === ip.family && p.value === ip.value;
  };
  return {
    address,
    reverseName: name,
    rcode: ptr.rcode,
    names,
    forward,
    confirmed: forward.filter((f) => f.addresses.some(same)).map((f) => f.name),
  };
}

export const PtrDataSchema = z.object({
  addresses: z.array(ReverseDnsSchema.extend({ host: z.string() })),
  smtp: SmtpAvailabilitySchema.describe('Whether SMTP session data was available for the banner comparison'),
});
export type PtrData = z.infer<typeof PtrDataSchema>;

/** Findings for reverse DNS, given the SMTP sessions (empty when SMTP did not run). Pure. */
export function evaluatePtr(data: PtrData, sessions: SessionSummary[]): Finding[] {
  const findings: Finding[] = [];
  for (const r of data.addresses) {
    const subject = { host: r.host, address: r.address };
    const family = isIPv4(r.address) ? 'A' : 'AAAA';
    if (r.rcode !== 'NOERROR' && r.rcode !== 'NXDOMAIN') {
      findings.push(
        F.make('ptr.present', 'error', {
          summary: `Could not look up the PTR record of ${r.address} (${r.reverseName}: ${r.rcode}).`,
          subject,
        }),
      );
      continue;
    }
    if (r.names.length === 0) {
      findings.push(
        F.make('ptr.present', 'warn', {
          summary: `${r.address} (${r.host}) has no reverse DNS: ${r.reverseName} ${r.rcode === 'NXDOMAIN' ? 'does not exist' : 'has no PTR record'}. Many receivers refuse mail from addresses without a PTR, and ${r.host} probably also sends mail.`,
          remedy: `Ask whoever runs the address block (your hosting or network provider) to set the PTR of ${r.address} to ${r.host}: "${r.reverseName}. IN PTR ${r.host}."`,
          subject,
        }),
      );
      continue;
    }
    findings.push(
      F.make('ptr.present', 'pass', {
        summary: `${r.address} has reverse DNS: ${r.names.join(', ')}.`,
        subject,
        details: { names: r.names },
      }),
    );
    if (r.confirmed.length > 0) {
      findings.push(
        F.make('ptr.fcrdns', 'pass', {
          summary: `${r.confirmed[0]} resolves back to ${r.address} (forward-confirmed).`,
          subject,
        }),
      );
    } else {
      const failed = r.forward.filter((f) => f.rcode !== 'NOERROR' && f.rcode !== 'NXDOMAIN');
      if (failed.length === r.forward.length && failed.length > 0) {
        findings.push(
          F.make('ptr.fcrdns', 'error', {
            summary: `Could not resolve the PTR name${failed.length > 1 ? 's' : ''} of ${r.address}: ${failed.map((f) => `${f.name} ${family} ${f.rcode}`).join(', ')}.`,
            subject,
          }),
        );
      } else {
        const got = r.forward.map(
          (f) =>
            `${f.name} → ${f.addresses.length ? f.addresses.join(', ') : f.rcode === 'NXDOMAIN' ? 'does not exist' : `no ${family} record`}`,
        );
        findings.push(
          F.make('ptr.fcrdns', 'warn', {
            summary: `The PTR name of ${r.address} does not resolve back to it (${got.join('; ')}). Receivers checking forward-confirmed reverse DNS treat the name as unverified.`,
            remedy: `Add "${r.names[0]}. IN ${family} ${r.address}", or have the PTR changed to a name that resolves to ${r.address} (e.g. ${r.host}).`,
            subject,
            details: { forward: r.forward },
          }),
        );
      }
    }
  }

  // Banner/EHLO consistency.
  for (const r of data.addresses) {
    const subject = { host: r.host, address: r.address };
    if (r.names.length === 0) continue;
    const session = sessions.find((s) => s.address === r.address);
    const announced = [session?.bannerHostname, session?.ehloHostname]
      .filter((n): n is string => Boolean(n))
      .map((n) => n.toLowerCase().replace(/\.$/, ''));
    if (!session) {
      const { why, status } = smtpNotTested(data.smtp, `no SMTP session reached ${r.address}`);
      findings.push(
        F.make('ptr.banner', status, {
          summary: `Not tested: the PTR of ${r.address} could not be compared with its SMTP banner because ${why}.`,
          subject,
          details: { reason: why },
        }),
      );
      continue;
    }
    if (announced.length === 0) {
      findings.push(
        F.make('ptr.banner', 'info', {
          summary: `${r.address} announces no host name in its banner or EHLO reply; PTR is ${r.names.join(', ')}.`,
          subject,
        }),
      );
      continue;
    }
    const mismatched = announced.filter((n) => !r.names.includes(n));
    if (mismatched.length === 0) {
      findings.push(
        F.make('ptr.banner', 'pass', {
          summary: `${r.address} announces ${announced[0]}, its PTR name.`,
          subject,
        }),
      );
    } else {
      findings.push(
        F.make('ptr.banner', 'info', {
          summary: `${r.address} announces ${[...new Set(mismatched)].join(' / ')} in its banner/EHLO, but its PTR is ${r.names.join(', ')}. Harmless for receiving; if this server also sends, use one name for PTR, banner and HELO.`,
          subject,
          details: { announced, ptr: r.names },
        }),
      );
    }
  }
  return findings;
}

declare module '../checks/types.js' {
  interface CheckData {
    ptr: PtrData;
  }
}

export const ptrCheck = defineCheck('ptr', {
  findings: F.specs,
  dataSchema: PtrDataSchema,
  // The PTR lookups need only the MX addresses: they overlap the SMTP probe, whose banners
  // are joined only to compare names.
  async gather(ctx) {
    const mx = ctx.upstream('mx');
    const targets = (mx?.hosts ?? []).flatMap((h) =>
      h.addresses.map((a) => ({ host: h.name, address: a.address })),
    );
    // A hostile domain can give each MX host hundreds of addresses; check a bounded number.
    const unique = [...new Map(targets.map((t) => [t.address, t])).values()].slice(0, MAX_ADDRESSES);
    const addresses = await Promise.all(
      unique.map(async (t) => ({
        host: t.host,
        ...(await reverseDns(ctx.dns, t.address, { signal: ctx.signal })),
      })),
    );
    return addresses;
  },
  async run(ctx, addresses) {
    const smtpData = ctx.upstream('smtp');
    const data: PtrData = {
      addresses,
      smtp: smtpAvailability(ctx.options.smtp, smtpData),
    };
    return { findings: evaluatePtr(data, smtpData?.sessions ?? []), data };
  },
});
