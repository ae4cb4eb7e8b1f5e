import { z } from 'zod';
import {
  BlocklistResultSchema,
  dnsblLookup,
  domainBlocklistLookup,
  isListable,
  selfTestZones,
} from './lookup.js';
import type { BlocklistResult } from './lookup.js';
import type { Finding } from '../report/model.js';
import { defineFindings } from '../checks/findings.js';
import { defineCheck } from '../checks/descriptors.js';

/**
 * Blocklists: every MX address against the IP lists (MXDOCTOR_DNSBLS / --dnsbl), the domain
 * against the domain lists (MXDOCTOR_DOMAIN_BLOCKLISTS). A refusal or rate limit is "error"
 * (we do not know), never "listed".
 */
const F = defineFindings('dnsbl', {
  'dnsbl.listed': {
    title: 'IP blocklists',
    statuses: ['pass', 'info', 'fail', 'error'],
    meaning:
      "One per MX address: listed on none of the queried lists (pass); listed, with the code's meaning and the list's reason (fail); a list refused, rate-limited or could not be asked (error: unknown, not listed); a private address no list covers (info).",
  },
  'dnsbl.domain': {
    title: 'Domain blocklists',
    statuses: ['pass', 'fail', 'error'],
    meaning:
      'The domain itself on domain blocklists (DBL/URIBL style), which receivers apply to the From domain and to links: not listed (pass), listed (fail), refused or failed (error).',
  },
});

/** MX addresses looked up at most. */
export const MAX_ADDRESSES = 64;

export const DnsblDataSchema = z.object({
  zones: z.array(z.string()),
  domainZones: z.array(z.string()),
  addresses: z.array(
    z.object({ host: z.string(), address: z.string(), results: z.array(BlocklistResultSchema) }),
  ),
  domain: z.array(BlocklistResultSchema),
  /** Zones whose RFC 5782 self-test failed, with why. */
  brokenZones: z.record(z.string(), z.string()),
});
export type DnsblData = z.infer<typeof DnsblDataSchema>;

function describe(r: BlocklistResult): string {
  return `${r.list} (${r.zone}) returned ${r.codes.join(', ')}${r.meaning ? ` — ${r.meaning}` : ''}${r.reason ? `; reason: "${r.reason}"` : ''}`;
}

/** Findings from the lookups. Pure. */
export function evaluateDnsbl(domain: string, data: DnsblData): Finding[] {
  const findings: Finding[] = [];
  for (const a of data.addresses) {
    const subject = { host: a.host, address: a.address };
    if (a.results.length === 0) {
      findings.push(
        F.make('dnsbl.listed', 'info', {
          summary: `${a.address} is not a public address; blocklists do not cover it.`,
          subject,
        }),
      );
      continue;
    }
    const listed = a.results.filter((r) => r.status === 'listed');
    const errors = a.results.filter((r) => r.status === 'error');
    const asked = a.results.filter((r) => r.status !== 'unsupported');
    if (listed.length > 0) {
      findings.push(
        F.make('dnsbl.listed', 'fail', {
          summary: `${a.address} (${a.host}) is listed on ${listed.length} blocklist${listed.length > 1 ? 's' : ''}: ${listed.map(describe).join('; ')}. Receivers using ${listed.length > 1 ? 'these lists' : 'this list'} reject or junk mail from this address.`,
          remedy: `Find and stop the cause (compromised account or host, open relay, a sender on a shared IP), then request removal: ${listed.map((r) => `${r.list}: ${r.removal ?? `the ${r.zone} operator's site`}`).join('; ')}.`,
          subject,
          details: {
            listed: listed.map((r) => ({ zone: r.zone, codes: r.codes, reason: r.reason ?? null })),
          },
        }),
      );
    }
    if (errors.length > 0) {
      findings.push(
        F.make('dnsbl.listed', 'error', {
          summary: `Could not check ${a.address} on ${errors.map((r) => `${r.zone} (${r.error})`).join('; ')}. This is not a listing.`,
          remedy: `Query the lists through your own recursive resolver (--resolver), not a public one; Spamhaus and others refuse public resolvers.`,
          subject,
          details: { errors: errors.map((r) => ({ zone: r.zone, error: r.error ?? null })) },
        }),
      );
    }
    if (listed.length === 0 && errors.length < asked.length) {
      const clean = asked.filter((r) => r.status === 'not_listed');
      const unsupported = a.results.filter((r) => r.status === 'unsupported');
      findings.push(
        F.make('dnsbl.listed', 'pass', {
          summary: `${a.address} (${a.host}) is not listed on ${clean.map((r) => r.zone).join(', ')}${unsupported.length ? ` (${unsupported.map((r) => r.zone).join(', ')} do not cover IPv6)` : ''}.`,
          subject,
        }),
      );
    }
  }
  if (data.domain.length > 0) {
    const listed = data.domain.filter((r) => r.status === 'listed');
    const errors = data.domain.filter((r) => r.status === 'error');
    for (const r of listed) {
      findings.push(
        F.make('dnsbl.domain', 'fail', {
          summary: `${domain} is listed on ${describe(r)}. Receivers reject or junk mail that has it in the From address or links.`,
          remedy: `Find out why (compromised site, abused redirector, spam sent by a customer) and request removal: ${r.removal ?? r.zone}.`,
          subject: { name: r.query },
          details: { zone: r.zone, codes: r.codes, reason: r.reason ?? null },
        }),
      );
    }
    if (errors.length > 0) {
      findings.push(
        F.make('dnsbl.domain', 'error', {
          summary: `Could not check ${domain} on ${errors.map((r) => `${r.zone} (${r.error})`).join('; ')}. This is not a listing.`,
          details: { errors: errors.map((r) => ({ zone: r.zone, error: r.error ?? null })) },
        }),
      );
    }
    if (listed.length === 0 && errors.length < data.domain.length) {
      findings.push(
        F.make('dnsbl.domain', 'pass', {
          summary: `${domain} is not listed on ${data.domain
            .filter((r) => r.status === 'not_listed')
            .map((r) => r.zone)
            .join(', ')}.`,
        }),
      );
    }
  }
  return findings;
}

declare module '../checks/types.js' {
  interface CheckData {
    dnsbl: DnsblData;
  }
}

export const dnsblCheck = defineCheck('dnsbl', {
  findings: F.specs,
  dataSchema: DnsblDataSchema,
  async run(ctx) {
    const zones = ctx.options.dnsbls?.length ? ctx.options.dnsbls : ctx.config.dnsbl.zones;
    const domainZones = ctx.config.dnsbl.domainZones;
    const mx = ctx.upstream('mx');
    const targets = (mx?.hosts ?? []).flatMap((h) =>
      h.addresses.map((a) => ({ host: h.name, address: a.address })),
    );
    // A hostile domain can give each MX host hundreds of addresses; check a bounded number.
    const unique = [...new Map(targets.map((t) => [t.address, t])).values()].slice(0, MAX_ADDRESSES);
    const allowPrivate = ctx.config.net.allowPrivate;
    const listable = unique.filter((t) => isListable(t.address, allowPrivate));
    // Each of these questions is asked once in the run: the resolver need not keep the answers.
    const brokenZones = listable.length
      ? await selfTestZones(ctx.dns, zones, { signal: ctx.signal, once: true })
      : new Map();
    let done = 0;
    const addresses = await Promise.all(
      unique.map(async (t) => {
        const results = isListable(t.address, allowPrivate)
          ? await dnsblLookup(ctx.dns, t.address, zones, { signal: ctx.signal, brokenZones, once: true })
          : [];
        done++;
        ctx.progress(`blocklists for ${t.address}`, done / (unique.length + 1), {
          index: done,
          total: unique.length,
        });
        return { ...t, results };
      }),
    );
    const domain = await domainBlocklistLookup(ctx.dns, ctx.domain.ascii, domainZones, {
      signal: ctx.signal,
      once: true,
    });
    const data: DnsblData = {
      zones,
      domainZones,
      addresses,
      domain,
      brokenZones: Object.fromEntries(brokenZones),
    };
    return { findings: evaluateDnsbl(ctx.domain.ascii, data), data };
  },
});
