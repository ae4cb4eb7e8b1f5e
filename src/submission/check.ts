import { defineCheck } from '../checks/descriptors.js';
import { smtpEgress } from '../net/egress.js';
import { loadTrustStore } from '../tls/trust-store.js';
import { SUBMISSION_FINDINGS, evaluateSubmission } from './evaluate.js';
import { discoverSubmission, publishesSrv } from './hosts.js';
import { SubmissionDataSchema } from './model.js';
import type { SubmissionData } from './model.js';
import { runSubmission } from './run.js';

/**
 * The submission ports (`--submission`, and always when the domain publishes RFC 6186 SRV
 * records): two SRV lookups on every check; the probes only when asked for or published.
 * Skipped with SMTP (--no-smtp), as it connects to mail servers too.
 */
declare module '../checks/types.js' {
  interface CheckData {
    submission: SubmissionData;
  }
}

export const submissionCheck = defineCheck('submission', {
  findings: SUBMISSION_FINDINGS.specs,
  dataSchema: SubmissionDataSchema,
  async run(ctx) {
    const domain = ctx.domain.ascii;
    const requested = ctx.options.submission === true;
    const discovery = await discoverSubmission(ctx.dns, domain, ctx.signal, requested);
    if (!requested && !publishesSrv(discovery)) return { findings: [] };
    const s = ctx.config.smtp;
    ctx.progress('probing the submission ports', 0.2);
    const data = await runSubmission({
      dns: ctx.dns,
      domain,
      reason: requested ? 'requested' : 'srv',
      heloName: ctx.config.probe.ehloName,
      timeouts: {
        connectMs: s.connectTimeoutMs,
        bannerMs: s.bannerTimeoutMs,
        commandMs: s.commandTimeoutMs,
        tlsMs: s.tlsTimeoutMs,
      },
      allowPrivate: ctx.config.net.allowPrivate,
      trust: loadTrustStore(ctx.config).pems,
      now: ctx.now(),
      signal: ctx.signal,
      connect: smtpEgress(s.proxy).connect,
      discovery,
    });
    return { findings: evaluateSubmission(data, domain), data };
  },
});
