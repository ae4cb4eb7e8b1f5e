import { DESCRIPTORS } from './descriptors.js';
import type { Check, CheckData, CheckName, LazyCheck } from './types.js';

/**
 * Where the code of each registered check is: its module, imported when a run first needs it.
 * A separate import per check, so that each loads on its own (and the CLI's bundle holds each
 * in a chunk of its own): the pipeline loads them one at a time (src/checks/run.ts).
 */
const CODE: { [N in CheckName]: () => Promise<Check<CheckData[N]>> } = {
  mx: async () => (await import('../mx/check.js')).mxCheck,
  smtp: async () => (await import('../smtp/check.js')).smtpCheck,
  tls_deep: async () => (await import('../tls/deep/check.js')).deepTlsCheck,
  submission: async () => (await import('../submission/check.js')).submissionCheck,
  spf: async () => (await import('../spf/check.js')).spfCheck,
  dmarc: async () => (await import('../dmarc/check.js')).dmarcCheck,
  dkim: async () => (await import('../dkim/check.js')).dkimCheck,
  mta_sts: async () => (await import('../mta-sts/check.js')).mtaStsCheck,
  tls_rpt: async () => (await import('../tls-rpt/check.js')).tlsRptCheck,
  bimi: async () => (await import('../bimi/check.js')).bimiCheck,
  dnssec: async () => (await import('../dnssec/check.js')).dnssecCheck,
  dane: async () => (await import('../dane/check.js')).daneCheck,
  caa: async () => (await import('../caa/check.js')).caaCheck,
  ptr: async () => (await import('../ptr/check.js')).ptrCheck,
  dnsbl: async () => (await import('../dnsbl/check.js')).dnsblCheck,
};

/**
 * The ordered registry of checks: every check's descriptor (src/checks/descriptors.ts, in the
 * order of findings in reports) with its code, loaded on first use.
 */
export const CHECKS: readonly LazyCheck[] = DESCRIPTORS.map((d) => ({
  ...d,
  load: CODE[d.name],
}));

/**
 * The code of these checks (by default every registered one), loaded: for what needs all of
 * them at once (the service, which runs many checks; the documentation and the report schema,
 * which list every finding and data schema).
 */
export function loadChecks(checks: readonly LazyCheck[] = CHECKS): Promise<Check[]> {
  return Promise.all(checks.map((c) => c.load()));
}
