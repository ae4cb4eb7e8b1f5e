import { z } from 'zod';
import { formatTlsa, matchTlsa, suggestedTlsa, tlsaUnusable, USAGE_NAMES } from './match.js';
import { ROLLOVER_FINDINGS, evaluateRollover } from './rollover.js';
import { dnssecStatusOf, validatesOnDemand } from '../dnssec/status.js';
import type { TlsaRecord } from '../dns/types.js';
import { smtpAvailability, SmtpAvailabilitySchema, smtpNotTested } from '../smtp/contract.js';
import type { TlsObservation } from '../tls/model.js';
import type { Finding, MxSet } from '../report/model.js';
import { defineFindings } from '../checks/findings.js';
import { defineCheck } from '../checks/descriptors.js';

/**
 * DANE for SMTP (RFC 7672): TLSA records of every MX host (following CNAMEs per §2.2.2),
 * their DNSSEC status, usability, and a match against the chain each MX address presented
 * to the SMTP probe (only its `tls` observations, through `ctx.upstream('smtp')`).
 */
const F = defineFindings('dane', {
  'dane.tlsa': {
    title: 'TLSA records',
    statuses: ['pass', 'info', 'warn', 'fail', 'error'],
    meaning:
      'Per MX host: DNSSEC-secure TLSA records at _25._tcp.<host> with usable usages 2/3 (pass); none (info: DANE not used); TLSA without DNSSEC, which senders ignore, or only usages 0/1 or malformed records, which are unusable for SMTP (warn); bogus TLSA or a TLSA lookup failing in a signed zone, so DANE senders defer all mail (fail); status unknown (error).',
  },
  'dane.match': {
    title: 'DANE certificate match',
    statuses: ['pass', 'info', 'warn', 'fail', 'error'],
    meaning:
      'Per MX address: a usable TLSA record matches the certificate chain the server presented (pass). A mismatch, no STARTTLS or a failed handshake with secure TLSA records means DANE senders will not deliver (fail); with insecure TLSA records it is only a warning (warn). Not tested when SMTP was switched off (info) or produced no TLS data for the address (error).',
  },
});

const TlsaSchema = z.object({
  usage: z.number().int(),
  selector: z.number().int(),
  matchingType: z.number().int(),
  data: z.string(),
});

export const DaneDataSchema = z.object({
  hosts: z.array(
    z.object({
      host: z.string(),
      /** Names asked, in order (the CNAME target first, RFC 7672 §2.2.2). */
      asked: z.array(z.string()),
      tlsaName: z.string().optional().describe('Where the TLSA records were found'),
      rcode: z.string(),
      dnssec: z.enum(['secure', 'insecure', 'bogus', 'unknown', 'error']),
      records: z.array(TlsaSchema),
      unusable: z.array(z.object({ record: z.string(), reason: z.string() })),
      matches: z.array(
        z.object({
          address: z.string(),
          outcome: z.enum(['match', 'mismatch', 'no_tls', 'no_usable_records', 'not_tested']),
          reason: z.string(),
        }),
      ),
    }),
  ),
  smtp: SmtpAvailabilitySchema,
});
export type DaneData = z.infer<typeof DaneDataSchema>;
type HostData = DaneData['hosts'][number];

/** TLSA findings and match findings. Pure. */
export function evaluateDane(
  data: DaneData,
  mx: MxSet | undefined,
  observations: TlsObservation[],
): Finding[] {
  return [
    ...data.hosts.flatMap((h) => tlsaFindings(h)),
    // Matching, per MX address.
    ...data.hosts.flatMap((h) => matchFindings(h, data.smtp, mx, observations)),
  ];
}

/** dane.tlsa: the TLSA records of one MX host, their DNSSEC status and usability. */
function tlsaFindings(h: HostData): Finding[] {
  const findings: Finding[] = [];
  const subject = { host: h.host };
  const name = h.tlsaName ?? h.asked[0]!;
  if (h.dnssec === 'bogus') {
    findings.push(
      F.make('dane.tlsa', 'fail', {
        summary: `The TLSA lookup of ${name} fails DNSSEC validation (bogus): senders that do DANE cannot tell whether TLS is required and defer all mail to ${h.host}.`,
        remedy: `Fix the signatures of the zone holding ${name} (re-sign, check the DS at the parent).`,
        subject,
      }),
    );
    return findings;
  }
  if (h.rcode !== 'NOERROR' && h.rcode !== 'NXDOMAIN') {
    findings.push(
      F.make('dane.tlsa', 'error', {
        summary: `Could not look up the TLSA records of ${h.host} (${name}: ${h.rcode}). In a signed zone, DANE senders defer mail while this persists.`,
        subject,
      }),
    );
    return findings;
  }
  if (h.records.length === 0) {
    findings.push(
      F.make('dane.tlsa', 'info', {
        summary: `${h.host} publishes no TLSA records at ${h.asked.join(' or ')}: DANE is not used${h.dnssec === 'secure' ? ' (the zone is signed, so it could be)' : ''}.`,
        subject,
      }),
    );
    return findings;
  }
  const shown = h.records.map((r) => `"${formatTlsa(r)}"`).join(', ');
  if (h.dnssec === 'insecure') {
    findings.push(
      F.make('dane.tlsa', 'warn', {
        summary: `${name} has TLSA records (${shown}) but the zone is not DNSSEC-signed: senders ignore TLSA records without DNSSEC (RFC 7672 §2.2), so DANE has no effect.`,
        remedy: `Sign the zone with DNSSEC and publish the DS record at the parent, or remove the TLSA records.`,
        subject,
      }),
    );
  } else if (h.dnssec === 'unknown') {
    findings.push(
      F.make('dane.tlsa', 'error', {
        summary: `${name} has TLSA records (${shown}), but whether they are DNSSEC-secure (and so used by senders) is unknown: the resolver does not validate.`,
        remedy: 'Point mxdoctor at a validating resolver (--resolver) to check DANE.',
        subject,
      }),
    );
  }
  if (h.unusable.length > 0) {
    const allUnusable = h.unusable.length === h.records.length;
    findings.push(
      F.make('dane.tlsa', 'warn', {
        summary: `${name}: ${h.unusable.map((u) => `"${u.record}": ${u.reason}`).join('; ')}.${allUnusable ? ' No record is usable, so DANE senders treat the host as if it had none.' : ''}`,
        remedy: `Publish a DANE-EE record for the server's key: "${name}. IN TLSA 3 1 1 <SHA-256 of the certificate's public key>" (e.g. from "openssl x509 -noout -pubkey | openssl pkey -pubin -outform DER | sha256sum").`,
        subject,
        details: { unusable: h.unusable },
      }),
    );
  }
  if (h.dnssec === 'secure' && h.unusable.length < h.records.length) {
    findings.push(
      F.make('dane.tlsa', 'pass', {
        summary: `${name} has DNSSEC-secure TLSA records: ${shown} (${[...new Set(h.records.filter((r) => !tlsaUnusable(r)).map((r) => USAGE_NAMES[r.usage]))].join(', ')}).`,
        subject,
      }),
    );
  }
  return findings;
}

/** dane.match: the TLSA records of one MX host against the certificate each of its addresses presented. */
function matchFindings(
  h: HostData,
  smtp: DaneData['smtp'],
  mx: MxSet | undefined,
  observations: TlsObservation[],
): Finding[] {
  const findings: Finding[] = [];
  const usable = h.records.filter((r) => !tlsaUnusable(r));
  if (usable.length === 0 || h.dnssec === 'bogus') return findings;
  const host = mx?.hosts.find((x) => x.name === h.host);
  for (const addr of host?.addresses ?? []) {
    const subject = { host: h.host, address: addr.address };
    const obs = observations.find((o) => o.host === h.host && o.address === addr.address);
    if (!obs) {
      const { why, status } = smtpNotTested(smtp, `the SMTP probe has no TLS data for ${addr.address}`);
      findings.push(
        F.make('dane.match', status, {
          summary: `Not tested: the TLSA records of ${h.host} could not be matched against the certificate of ${addr.address} because ${why}.`,
          subject,
          details: { reason: why },
        }),
      );
      continue;
    }
    const verdict = matchTlsa(h.records, obs);
    if (verdict.outcome === 'match') {
      findings.push(
        F.make('dane.match', 'pass', {
          summary: `${h.host} [${addr.address}]: ${verdict.reason}.`,
          subject,
        }),
      );
      continue;
    }
    const secure = h.dnssec === 'secure';
    const suggestion = suggestedTlsa(obs);
    findings.push(
      F.make('dane.match', secure ? 'fail' : 'warn', {
        summary: `${h.host} [${addr.address}]: ${verdict.reason}.${secure ? ' The TLSA records are DNSSEC-secure, so senders that do DANE (Postfix, Exim with DANE, many large providers) will NOT deliver to this address.' : ' The TLSA records are not DNSSEC-secure, so senders ignore them for now.'}`,
        remedy:
          verdict.outcome === 'no_tls'
            ? `Enable STARTTLS on ${h.host} with the certificate your TLSA records describe, or remove the TLSA records.`
            : `Publish a record for the certificate the server presents${suggestion ? `, e.g. "${h.tlsaName ?? h.asked[0]}. IN TLSA ${suggestion}"` : ''}, next to the old one until every server uses the new key (RFC 7671 §8.1 "3 1 1 + 3 1 1" rollover).`,
        subject,
        details: { matches: verdict.matches },
      }),
    );
  }
  return findings;
}

function hostData(host: string, asked: string[]): HostData {
  return { host, asked, rcode: 'NOERROR', dnssec: 'unknown', records: [], unusable: [], matches: [] };
}

declare module '../checks/types.js' {
  interface CheckData {
    dane: DaneData;
  }
}

export const daneCheck = defineCheck('dane', {
  findings: [...F.specs, ...ROLLOVER_FINDINGS.specs],
  dataSchema: DaneDataSchema,
  // The TLSA lookups need only the MX names: they overlap the SMTP probe, whose TLS
  // observations are joined only to match them.
  async gather(ctx) {
    const mx = ctx.upstream('mx');
    const port = ctx.config.smtp.port;
    const hosts = (mx?.hosts ?? []).filter((h) => !h.ipLiteral);
    const validates = validatesOnDemand(ctx.dns, { signal: ctx.signal });
    const results = await Promise.all(
      hosts.map(async (h) => {
        // RFC 7672 §2.2.2: with a (secure) CNAME, the TLSA base is the target name first.
        const bases = h.cnameChain.length ? [h.cnameChain.at(-1)!, h.name] : [h.name];
        const asked = bases.map((b) => `_${port}._tcp.${b}`);
        const data = hostData(h.name, asked);
        for (const name of asked) {
          const s = await dnssecStatusOf(ctx.dns, name, 'TLSA', validates, { signal: ctx.signal });
          data.rcode = s.answer.rcode;
          data.dnssec = s.status;
          if (s.status === 'bogus' || (s.answer.rcode !== 'NOERROR' && s.answer.rcode !== 'NXDOMAIN')) break;
          const records = s.answer.records.filter((r): r is TlsaRecord => r.type === 'TLSA');
          if (records.length > 0) {
            data.tlsaName = name;
            data.records = records.map(({ usage, selector, matchingType, data: d }) => ({
              usage,
              selector,
              matchingType,
              data: d,
            }));
            data.unusable = records
              .map((r) => ({ record: formatTlsa(r), reason: tlsaUnusable(r) }))
              .filter((u): u is { record: string; reason: string } => u.reason !== undefined);
            break;
          }
        }
        return data;
      }),
    );
    return { hosts, results };
  },
  async run(ctx, { hosts, results }) {
    const mx = ctx.upstream('mx');
    const smtpData = ctx.upstream('smtp');
    const observations = smtpData?.tls ?? [];
    const data: DaneData = {
      hosts: results,
      smtp: smtpAvailability(ctx.options.smtp, smtpData),
    };
    for (const h of results) {
      if (h.records.length === 0) continue;
      for (const addr of hosts.find((x) => x.name === h.host)?.addresses ?? []) {
        const obs = observations.find((o) => o.host === h.host && o.address === addr.address);
        const verdict = obs ? matchTlsa(h.records, obs) : undefined;
        h.matches.push({
          address: addr.address,
          outcome: verdict?.outcome ?? 'not_tested',
          reason: verdict?.reason ?? 'no TLS observation for this address',
        });
      }
    }
    const findings = evaluateDane(data, mx, observations);
    for (const h of results) {
      findings.push(
        ...evaluateRollover(
          { host: h.host, tlsaName: h.tlsaName ?? h.asked[0]!, dnssec: h.dnssec, records: h.records },
          observations,
        ),
      );
    }
    return { findings, data };
  },
});
