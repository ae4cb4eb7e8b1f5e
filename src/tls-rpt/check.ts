import { z } from 'zod';
import { parseTlsRpt } from './record.js';
import type { Finding } from '../report/model.js';
import { defineFindings } from '../checks/findings.js';
import { defineCheck } from '../checks/descriptors.js';

/** SMTP TLS Reporting (RFC 8460): the _smtp._tls TXT record. */
const F = defineFindings('tls_rpt', {
  'tls_rpt.record': {
    title: 'TLS-RPT record',
    statuses: ['pass', 'info', 'fail', 'error'],
    meaning:
      'A valid "v=TLSRPTv1; rua=…" record at _smtp._tls.<domain> with mailto: or https: destinations (pass); none (info: senders cannot tell you when TLS to your MX fails — recommended with MTA-STS or DANE); several or invalid records, which senders ignore (fail); lookup failed (error).',
  },
});

export const TlsRptDataSchema = z.object({
  rcode: z.string(),
  records: z.array(z.string()),
  rua: z.array(z.object({ uri: z.string(), scheme: z.enum(['mailto', 'https']) })),
});
export type TlsRptData = z.infer<typeof TlsRptDataSchema>;

export function evaluateTlsRpt(domain: string, data: TlsRptData): Finding[] {
  const name = `_smtp._tls.${domain}`;
  const subject = { name };
  const example = `${name}. IN TXT "v=TLSRPTv1; rua=mailto:tls-reports@${domain}"`;
  if (data.rcode !== 'NOERROR' && data.rcode !== 'NXDOMAIN') {
    return [
      F.make('tls_rpt.record', 'error', { summary: `Could not look up ${name} (${data.rcode}).`, subject }),
    ];
  }
  if (data.records.length === 0) {
    return [
      F.make('tls_rpt.record', 'info', {
        summary: `No TLS-RPT record at ${name}: senders that fail to set up TLS to your MX hosts (expired certificate, DANE or MTA-STS mismatch) have no way to tell you.`,
        remedy: `Publish ${example}.`,
        subject,
      }),
    ];
  }
  if (data.records.length > 1) {
    return [
      F.make('tls_rpt.record', 'fail', {
        summary: `${name} has ${data.records.length} TLS-RPT records; RFC 8460 §3 makes senders ignore them all.`,
        remedy: `Merge them into one: ${example}.`,
        subject,
        details: { records: data.records },
      }),
    ];
  }
  const parsed = parseTlsRpt(data.records[0]!);
  if (!parsed.ok) {
    return [
      F.make('tls_rpt.record', 'fail', {
        summary: `The TLS-RPT record "${data.records[0]}" at ${name} is invalid: ${parsed.error}. Senders ignore it.`,
        remedy: `Publish ${example}.`,
        subject,
      }),
    ];
  }
  return [
    F.make('tls_rpt.record', 'pass', {
      summary: `TLS reports for ${domain} go to ${parsed.value.rua.map((r) => r.uri).join(', ')}.`,
      subject,
    }),
  ];
}

declare module '../checks/types.js' {
  interface CheckData {
    tls_rpt: TlsRptData;
  }
}

export const tlsRptCheck = defineCheck('tls_rpt', {
  findings: F.specs,
  dataSchema: TlsRptDataSchema,
  async run(ctx) {
    const answer = await ctx.dns.query(`_smtp._tls.${ctx.domain.ascii}`, 'TXT', { signal: ctx.signal });
    const records = answer.records.map((r) => r.text).filter((t) => /^v\s*=\s*TLSRPTv1\s*(;|$)/i.test(t));
    const parsed = records.length === 1 ? parseTlsRpt(records[0]!) : undefined;
    const data: TlsRptData = { rcode: answer.rcode, records, rua: parsed?.ok ? parsed.value.rua : [] };
    return { findings: evaluateTlsRpt(ctx.domain.ascii, data), data };
  },
});
