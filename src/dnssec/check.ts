import { z } from 'zod';
import { dnssecStatusOf, validatesOnDemand } from './status.js';
import type { DnssecStatus } from './status.js';
import type { Finding } from '../report/model.js';
import { defineFindings } from '../checks/findings.js';
import { defineCheck } from '../checks/descriptors.js';

/**
 * DNSSEC of the domain and of every MX host's zone, from the resolver's AD bit, with bogus
 * answers detected by a CD retry and "unknown" when the resolver does not validate.
 */
const F = defineFindings('dnssec', {
  'dnssec.domain': {
    title: 'DNSSEC of the domain',
    statuses: ['pass', 'info', 'fail', 'error'],
    meaning:
      "The domain's answers are DNSSEC-validated (secure, pass); unsigned (insecure, info: answers can be spoofed and DANE is impossible); validation fails (bogus, fail: validating resolvers — a third of the Internet — cannot resolve the domain at all); the resolver does not validate or the lookup failed, so the status is unknown (error).",
  },
  'dnssec.mx': {
    title: 'DNSSEC of the MX hosts',
    statuses: ['pass', 'info', 'fail', 'error'],
    meaning:
      "Per MX host, the same statuses for the host's address records. DANE for a host needs its addresses to be secure (RFC 7672 §2.2.1).",
  },
});

export const DnssecDataSchema = z.object({
  resolverValidates: z
    .boolean()
    .nullable()
    .describe('The resolver sets AD (checked on the signed root); null when that query failed'),
  domain: z.object({
    status: z.enum(['secure', 'insecure', 'bogus', 'unknown', 'error']),
    rcode: z.string(),
  }),
  mx: z.array(
    z.object({
      host: z.string(),
      status: z.enum(['secure', 'insecure', 'bogus', 'unknown', 'error']),
      rcode: z.string(),
    }),
  ),
});
export type DnssecData = z.infer<typeof DnssecDataSchema>;

const UNKNOWN_REMEDY =
  'Point mxdoctor at a validating resolver (--resolver or MXDOCTOR_RESOLVERS), e.g. a local Unbound, to get DNSSEC status.';

function statusFinding(
  id: 'dnssec.domain' | 'dnssec.mx',
  what: string,
  status: DnssecStatus,
  rcode: string,
  validates: boolean | null,
  subject?: { host: string },
): Finding {
  const s = subject ? { subject } : {};
  switch (status) {
    case 'secure':
      return F.make(id, 'pass', {
        summary: `${what} is signed and validates (DNSSEC secure).`,
        ...s,
        details: { status },
      });
    case 'insecure':
      return F.make(id, 'info', {
        summary: `${what} is not signed with DNSSEC (insecure): answers can be forged, and DANE cannot be used.`,
        remedy: `Enable DNSSEC signing at your DNS host and publish the DS record at your registrar.`,
        ...s,
        details: { status },
      });
    case 'bogus':
      return F.make(id, 'fail', {
        summary: `DNSSEC validation of ${what} fails (bogus): the validating resolver returns SERVFAIL, but the data is there with checking disabled. Every validating resolver — and so many receivers and senders — cannot resolve it.`,
        remedy: `Fix the signatures or the DS record at the parent: usually expired RRSIGs or a DS left at the registrar after changing DNS hosts or keys. Inspect with "delv ${subject?.host ?? what}" or DNSViz.`,
        ...s,
        details: { status },
      });
    case 'unknown':
      return F.make(id, 'error', {
        summary:
          validates === null
            ? `DNSSEC status of ${what} is unknown: its answer carried no AD flag, and the configured resolver could not answer for the signed root zone, so whether it validates at all cannot be told.`
            : `DNSSEC status of ${what} is unknown: the configured resolver does not validate (it sets no AD bit even for the signed root zone), so signed and unsigned answers look the same.`,
        remedy: UNKNOWN_REMEDY,
        ...s,
        details: { status },
      });
    default:
      return F.make(id, 'error', {
        summary: `Could not determine the DNSSEC status of ${what}: the lookup returned ${rcode}.`,
        ...s,
        details: { status, rcode },
      });
  }
}

export function evaluateDnssec(domain: string, data: DnssecData): Finding[] {
  const v = data.resolverValidates;
  const findings = [statusFinding('dnssec.domain', domain, data.domain.status, data.domain.rcode, v)];
  for (const m of data.mx) {
    findings.push(
      statusFinding('dnssec.mx', `the MX host ${m.host}`, m.status, m.rcode, v, { host: m.host }),
    );
  }
  return findings;
}

declare module '../checks/types.js' {
  interface CheckData {
    dnssec: DnssecData;
  }
}

export const dnssecCheck = defineCheck('dnssec', {
  findings: F.specs,
  dataSchema: DnssecDataSchema,
  async run(ctx) {
    const validates = validatesOnDemand(ctx.dns, { signal: ctx.signal });
    const domain = await dnssecStatusOf(ctx.dns, ctx.domain.ascii, 'SOA', validates, { signal: ctx.signal });
    const mx = ctx.upstream('mx');
    const hosts = (mx?.hosts ?? []).filter((h) => !h.implicit && !h.ipLiteral);
    const mxStatus = await Promise.all(
      hosts.map(async (h) => {
        const s = await dnssecStatusOf(ctx.dns, h.name, 'A', validates, { signal: ctx.signal });
        return { host: h.name, status: s.status, rcode: s.answer.rcode };
      }),
    );
    const data: DnssecData = {
      // An AD answer already proves it; otherwise the root query answered (or failed).
      resolverValidates:
        domain.status === 'secure' || mxStatus.some((m) => m.status === 'secure')
          ? true
          : ((await validates()) ?? null),
      domain: { status: domain.status, rcode: domain.answer.rcode },
      mx: mxStatus,
    };
    return { findings: evaluateDnssec(ctx.domain.ascii, data), data };
  },
});
