import type { Job, JobsOptions, Queue } from 'bullmq';
import type { Logger } from 'pino';
import type { Config } from '../../config/index.js';
import { verifyRecipients } from '../../smtp/check.js';
import type { CheckServices } from '../../checks/types.js';
import { mergeRecipientReprobe } from '../../report/rcpt-merge.js';
import type { ReportStore } from '../../store/reports.js';
import type { SmtpData } from '../../smtp/model.js';
import { ReprobeJobDataSchema, enqueueReprobe, planReprobe } from '../jobs/reprobe.js';
import { parseJobData } from './shared.js';

/**
 * The `reprobe` job (src/queue/jobs/reprobe.ts says why and when it is queued): ask the MX
 * again about the greylisted addresses only, merge the answers into the stored report, and
 * plan the next re-probe while attempts remain. A report already re-probed is left alone.
 */
export interface ReprobeProcessorDeps {
  config: Config;
  services: CheckServices;
  store: ReportStore;
  log: Logger;
  queue?: Queue;
  jobOptions?: JobsOptions;
}

export async function processReprobe(
  job: Job,
  signal: AbortSignal,
  deps: ReprobeProcessorDeps,
): Promise<{ reportId: string; updated: boolean }> {
  const { reportId, addresses, attempt } = parseJobData(
    ReprobeJobDataSchema,
    job.data,
    'invalid re-probe job',
  );
  const log = deps.log.child({ jobId: job.id, reportId });
  const report = await deps.store.get(reportId);
  const smtp = report?.data.smtp as SmtpData | undefined;
  if (!report || !smtp || smtp.reprobe?.attempt !== attempt) {
    log.info('re-probe no longer needed (report gone, or already re-probed)');
    return { reportId, updated: false };
  }
  const result = await verifyRecipients({
    domain: report.domain.ascii,
    mx: report.mx,
    addresses,
    randoms: smtp.catchAll.probes,
    config: deps.config,
    sharing: deps.services.smtp,
    signal,
  });
  const merged = mergeRecipientReprobe(report, result);
  const planned = planReprobe(reportId, merged, deps.config, new Date(), attempt + 1);
  await deps.store.replace(reportId, planned.report);
  if (planned.job && deps.queue) await enqueueReprobe(deps.queue, planned.job, deps.jobOptions ?? {});
  log.info(
    {
      domain: report.domain.ascii,
      verdicts: result.verdicts.map((v) => `${v.address}: ${v.verdict}`),
      next: planned.job?.data.attempt,
    },
    'greylisted recipients asked again',
  );
  return { reportId, updated: true };
}
