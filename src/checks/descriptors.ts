import type { Check, CheckData, CheckDescriptor, CheckImplementation, CheckName } from './types.js';

/** The descriptor of a registered check: its name is a CheckData entry. */
export interface RegisteredDescriptor extends CheckDescriptor {
  name: CheckName;
}

/**
 * Every check, in order: its name, title, the checks it depends on or uses, its weight in
 * progress and when it runs. Order is the order of findings in reports, and the order in
 * which the pipeline loads the checks' code (src/checks/registry.ts says where each one's is):
 * the MX and SMTP checks, on the way to the first SMTP connection, come first. Each check's
 * module declares the rest (findings, data, gather and run) with `defineCheck`. Later checks
 * plug in here.
 */
export const DESCRIPTORS: readonly RegisteredDescriptor[] = [
  { name: 'mx', title: 'MX records' },
  { name: 'smtp', title: 'SMTP and TLS', uses: ['mx'], weight: 6, enabled: (options) => options.smtp },
  {
    name: 'tls_deep',
    title: 'TLS depth',
    dependsOn: ['mx'],
    uses: ['smtp'],
    weight: 4,
    enabled: (options) => options.smtp && options.tls === 'deep',
  },
  { name: 'submission', title: 'Submission ports', weight: 2, enabled: (options) => options.smtp },
  { name: 'spf', title: 'SPF' },
  { name: 'dmarc', title: 'DMARC' },
  { name: 'dkim', title: 'DKIM' },
  { name: 'mta_sts', title: 'MTA-STS', dependsOn: ['mx'], uses: ['smtp'] },
  { name: 'tls_rpt', title: 'TLS-RPT' },
  { name: 'bimi', title: 'BIMI', dependsOn: ['dmarc'] },
  { name: 'dnssec', title: 'DNSSEC', dependsOn: ['mx'] },
  { name: 'dane', title: 'DANE', dependsOn: ['mx'], uses: ['smtp'] },
  { name: 'caa', title: 'CAA', dependsOn: ['mx'], uses: ['smtp', 'mta_sts'] },
  { name: 'ptr', title: 'Reverse DNS', dependsOn: ['mx'], uses: ['smtp'] },
  { name: 'dnsbl', title: 'Blocklists', dependsOn: ['mx'] },
];

/**
 * Declares a registered check: its implementation, joined to its descriptor above. Its data
 * must be of the check's CheckData entry, so what `upstream(name)` promises other checks is
 * what `run` returns.
 */
export function defineCheck<N extends CheckName, G = undefined>(
  name: N,
  implementation: CheckImplementation<CheckData[N], G>,
): Check<CheckData[N], G> {
  const descriptor = DESCRIPTORS.find((d) => d.name === name);
  if (!descriptor) throw new Error(`check ${name} has no descriptor in src/checks/descriptors.ts`);
  return { ...descriptor, ...implementation };
}
