import { defineCheck } from '../checks/types.js';
import { tlsObservationsOf } from '../smtp/contract.js';
import { CAA_FINDINGS, CaaDataSchema, caaHost, evaluateCaa } from './evaluate.js';
import type { CaaData, CaaHost } from './evaluate.js';
import { relevantCaa } from './lookup.js';

/**
 * CAA (RFC 8659) for every MX host and the MTA-STS policy host: which CAs may issue their
 * certificates, and whether the certificates the SMTP probe and the policy fetch saw came
 * from one of them. Informational.
 */
declare module '../checks/types.js' {
  interface CheckData {
    caa: CaaData;
  }
}

export const caaCheck = defineCheck({
  name: 'caa',
  title: 'CAA',
  dependsOn: ['mx'],
  uses: ['smtp', 'mta_sts'],
  findings: CAA_FINDINGS.specs,
  dataSchema: CaaDataSchema,
  async run(ctx) {
    const mx = ctx.upstream('mx');
    const observations = tlsObservationsOf(ctx.upstream('smtp'));
    const targets: { host: string; role: CaaHost['role']; issuers: string[] }[] = [];
    for (const h of (mx?.hosts ?? []).filter((x) => !x.ipLiteral).slice(0, ctx.config.smtp.maxHosts)) {
      if (targets.some((t) => t.host === h.name)) continue;
      const issuers = observations
        .filter((o) => o.host === h.name && o.chain.length > 0)
        .map((o) => o.chain[0]!.issuer);
      targets.push({ host: h.name, role: 'mx', issuers });
    }
    const sts = ctx.upstream('mta_sts');
    if (sts?.records?.length) {
      const issuer = sts.fetch?.certificate?.issuer;
      targets.push({ host: `mta-sts.${ctx.domain.ascii}`, role: 'mta_sts', issuers: issuer ? [issuer] : [] });
    }
    const hosts = await Promise.all(
      targets.map(async (t) => caaHost(await relevantCaa(ctx.dns, t.host, ctx.signal), t.role, t.issuers)),
    );
    const data: CaaData = { hosts };
    return { findings: evaluateCaa(data), data };
  },
});
