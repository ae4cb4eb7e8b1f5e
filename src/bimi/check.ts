import { z } from 'zod';
import { readPemFile, loadTrustStore } from '../tls/trust-store.js';
import { version } from '../version.js';
import { BIMI_ASSET_FINDINGS, BimiAssetsSchema, checkBimiAssets, evaluateBimiAssets } from './assets.js';
import { parseBimi } from './record.js';
import type { Finding } from '../report/model.js';
import type { DmarcData } from '../dmarc/check.js';
import { defineFindings } from '../checks/findings.js';
import { defineCheck } from '../checks/descriptors.js';

/**
 * BIMI (draft-brand-indicators-for-message-identification): the default._bimi record and
 * the DMARC enforcement it requires; then the logo (l=) and the evidence document (a=) are
 * fetched and checked (assets.ts).
 */
const F = defineFindings('bimi', {
  'bimi.record': {
    title: 'BIMI record',
    statuses: ['pass', 'info', 'warn', 'fail', 'error'],
    meaning:
      'A valid "v=BIMI1; l=<https SVG>; a=<https VMC/CMC>" record at default._bimi.<domain> with DMARC at enforcement (p=quarantine or reject, pct=100) (pass); none or a declination (info); no a= evidence document, which Gmail and Apple Mail require before showing a logo (warn); invalid record or DMARC not at enforcement, so no mailbox provider shows the logo (fail); lookup failed (error).',
  },
});

export const BimiDataSchema = z.object({
  rcode: z.string(),
  records: z.array(z.string()),
  logo: z.string().optional(),
  authority: z.string().optional(),
  assets: BimiAssetsSchema.optional().describe('The fetched logo and evidence document, and what was found'),
});
export type BimiData = z.infer<typeof BimiDataSchema>;

export function evaluateBimi(domain: string, data: BimiData, dmarc: DmarcData | undefined): Finding[] {
  const name = `default._bimi.${domain}`;
  const subject = { name };
  if (data.rcode !== 'NOERROR' && data.rcode !== 'NXDOMAIN') {
    return [
      F.make('bimi.record', 'error', { summary: `Could not look up ${name} (${data.rcode}).`, subject }),
    ];
  }
  if (data.records.length === 0) {
    return [
      F.make('bimi.record', 'info', {
        summary: `${domain} publishes no BIMI record (no brand logo in mailbox providers that support BIMI).`,
        subject,
      }),
    ];
  }
  if (data.records.length > 1) {
    return [
      F.make('bimi.record', 'fail', {
        summary: `${name} has ${data.records.length} BIMI records; receivers ignore them all.`,
        remedy: `Keep one: "${data.records[0]}".`,
        subject,
      }),
    ];
  }
  const parsed = parseBimi(data.records[0]!);
  if (!parsed.ok || parsed.value.problems.length > 0) {
    return [
      F.make('bimi.record', 'fail', {
        summary: `The BIMI record "${data.records[0]}" at ${name} is invalid: ${parsed.ok ? parsed.value.problems.join('; ') : parsed.error}.`,
        remedy: `Publish "${name}. IN TXT \\"v=BIMI1; l=https://${domain}/brand/logo.svg; a=https://${domain}/brand/vmc.pem\\"" with an SVG Tiny PS logo.`,
        subject,
      }),
    ];
  }
  if (parsed.value.logo === '') {
    return [
      F.make('bimi.record', 'info', {
        summary: `${name} is a declination record (empty l=): ${domain} asks receivers to show no logo.`,
        subject,
      }),
    ];
  }
  const policy = dmarc?.policy;
  const effective = policy?.effective;
  if (
    !policy ||
    (effective !== 'quarantine' && effective !== 'reject') ||
    policy.pct < 100 ||
    policy.sp === 'none'
  ) {
    const why = !policy
      ? 'the domain has no valid DMARC record'
      : effective !== 'quarantine' && effective !== 'reject'
        ? `the DMARC policy is p=${effective ?? 'none'}`
        : policy.pct < 100
          ? `the DMARC policy applies to only pct=${policy.pct}%`
          : 'the DMARC record sets sp=none';
    return [
      F.make('bimi.record', 'fail', {
        summary: `${name} publishes a logo (${parsed.value.logo}), but ${why}. BIMI requires DMARC at enforcement (p=quarantine or p=reject, pct=100), so no mailbox provider will show it.`,
        remedy: `Move DMARC to enforcement: "_dmarc.${dmarc?.policyDomain ?? domain}. IN TXT \\"v=DMARC1; p=quarantine; rua=mailto:dmarc-reports@${domain}\\"" (without pct below 100 or sp=none).`,
        subject,
        details: { dmarc: effective ?? null, pct: policy?.pct ?? null },
      }),
    ];
  }
  if (!parsed.value.authority) {
    return [
      F.make('bimi.record', 'warn', {
        summary: `${name} publishes a logo (${parsed.value.logo}) and DMARC is enforced, but there is no a= evidence document (VMC or CMC): Gmail and Apple Mail show BIMI logos only with one; others (e.g. Yahoo) may show it.`,
        remedy: `Obtain a Verified Mark Certificate or Common Mark Certificate and add "a=https://…/vmc.pem" to the record.`,
        subject,
      }),
    ];
  }
  return [
    F.make('bimi.record', 'pass', {
      summary: `${name}: logo ${parsed.value.logo}, evidence document ${parsed.value.authority}, DMARC at enforcement (p=${effective}).`,
      subject,
    }),
  ];
}

declare module '../checks/types.js' {
  interface CheckData {
    bimi: BimiData;
  }
}

export const bimiCheck = defineCheck('bimi', {
  findings: [...F.specs, ...BIMI_ASSET_FINDINGS.specs],
  dataSchema: BimiDataSchema,
  async run(ctx) {
    const answer = await ctx.dns.query(`default._bimi.${ctx.domain.ascii}`, 'TXT', { signal: ctx.signal });
    const records = answer.records.map((r) => r.text).filter((t) => /^v\s*=\s*BIMI1\s*(;|$)/i.test(t));
    const parsed = records.length === 1 ? parseBimi(records[0]!) : undefined;
    const data: BimiData = { rcode: answer.rcode, records };
    if (parsed?.ok) {
      data.logo = parsed.value.logo;
      if (parsed.value.authority) data.authority = parsed.value.authority;
    }
    const findings = evaluateBimi(ctx.domain.ascii, data, ctx.upstream('dmarc'));
    if (parsed?.ok && parsed.value.problems.length === 0 && parsed.value.logo !== '') {
      ctx.progress('fetching the BIMI logo and evidence', 0.5);
      const markFile = ctx.config.bimi.markTrustFile;
      data.assets = await checkBimiAssets({
        domain: ctx.domain.ascii,
        logoUrl: parsed.value.logo.split(',')[0]!.trim(),
        ...(parsed.value.authority ? { evidenceUrl: parsed.value.authority } : {}),
        fetch: {
          resolve: async (host, signal) => {
            const { a, aaaa } = await ctx.dns.addresses(host, { signal });
            const addresses = [...a.records, ...aaaa.records].map((r) => r.address);
            const failed = [a, aaaa].find((x) => x.rcode !== 'NOERROR' && x.rcode !== 'NXDOMAIN');
            return failed && addresses.length === 0
              ? { addresses, error: `${failed.type} ${host}: ${failed.rcode}` }
              : { addresses };
          },
          trust: loadTrustStore(ctx.config).pems,
          allowPrivate: ctx.config.net.allowPrivate,
          timeoutMs: ctx.config.https.timeoutMs,
          userAgent: `mxdoctor/${version()} (BIMI check)`,
          signal: ctx.signal,
        },
        markTrust: markFile ? readPemFile(markFile) : [],
        now: ctx.now(),
      });
      findings.push(...evaluateBimiAssets(data.assets, ctx.domain.ascii));
    }
    return { findings, data };
  },
});
