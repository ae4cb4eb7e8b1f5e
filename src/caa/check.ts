import { defineCheck } from '../checks/descriptors.js';
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

export const caaCheck = defineCheck('caa', {
  findings: CAA_FINDINGS.specs,
  dataSchema: CaaDataSchema,
  // The CAA of the MX hosts needs only their names, and the policy host's only the domain:
  // both are looked up while the SMTP probe and the MTA-STS fetch run. The policy host's is
  // judged only when the domain publishes an MTA-STS record (known once that check is done);
  // asking for it regardless costs one query beside the probe, not a round trip after it.
  async gather(ctx) {
    const mx = ctx.upstream('mx');
    const names: string[] = [];
    for (const h of (mx?.hosts ?? []).filter((x) => !x.ipLiteral).slice(0, ctx.config.smtp.maxHosts)) {
      if (!names.includes(h.name)) names.push(h.name);
    }
    const stsHost = `mta-sts.${ctx.domain.ascii}`;
    const [mxCaa, stsCaa] = await Promise.all([
      Promise.all(names.map(async (host) => ({ host, caa: await relevantCaa(ctx.dns, host, ctx.signal) }))),
      relevantCaa(ctx.dns, stsHost, ctx.signal),
    ]);
    return { mxCaa, stsCaa };
  },
  async run(ctx, { mxCaa, stsCaa }) {
    const observations = tlsObservationsOf(ctx.upstream('smtp'));
    const hosts: CaaHost[] = mxCaa.map(({ host, caa }) =>
      caaHost(
        caa,
        'mx',
        observations.filter((o) => o.host === host && o.chain.length > 0).map((o) => o.chain[0]!.issuer),
      ),
    );
    const sts = ctx.upstream('mta_sts');
    if (sts?.records?.length) {
      const issuer = sts.fetch?.certificate?.issuer;
      hosts.push(caaHost(stsCaa, 'mta_sts', issuer ? [issuer] : []));
    }
    const data: CaaData = { hosts };
    return { findings: evaluateCaa(data), data };
  },
});
