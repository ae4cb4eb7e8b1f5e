import type { JobsOptions, Queue } from 'bullmq';
import { z } from 'zod';
import type { Config } from '../../config/index.js';
import type { Report } from '../../report/model.js';
import type { SmtpData } from '../../smtp/model.js';
import { JOB, JOB_ID_PATTERN } from '../names.js';

/**
 * The greylisting re-probe. Greylisting (RFC 6647) answers a first delivery attempt with a
 * 4xx and accepts a retry after some minutes; a check cannot wait that long. When an address
 * the user asked to verify was greylisted, the stored report records the planned retry
 * (`data.smtp.reprobe`, shown as "greylisted — re-trying at 14:32") and a delayed job asks
 * the MX again about those addresses only, then replaces the report's recipient findings.
 * Running the same job twice changes nothing: the attempt number in the report must match.
 * The worker side is src/queue/processors/reprobe.ts.
 */
export const ReprobeJobDataSchema = z.object({
  reportId: z.string().regex(JOB_ID_PATTERN),
  addresses: z.array(z.string()).min(1).max(50),
  attempt: z.number().int().min(1),
});
export type ReprobeJobData = z.infer<typeof ReprobeJobDataSchema>;

export interface ReprobePlan {
  data: ReprobeJobData;
  delayMs: number;
  jobId: string;
}

/** The addresses the user asked to verify that came back greylisted. */
export function greylistedAddresses(report: Report): string[] {
  const smtp = report.data.smtp as SmtpData | undefined;
  const asked = new Set(report.options.verify.map((a) => a.toLowerCase()));
  return (smtp?.recipients ?? [])
    .filter((r) => r.verdict === 'greylisted' && asked.has(r.address.toLowerCase()))
    .map((r) => r.address);
}

/**
 * Plans the next re-probe of a report, if one is due: returns the report with the plan
 * recorded in `data.smtp.reprobe` (or the marker removed when none is due) and the job.
 */
export function planReprobe(
  reportId: string,
  report: Report,
  config: Pick<Config, 'queue'>,
  now: Date,
  attempt = 1,
): { report: Report; job?: ReprobePlan } {
  // The report is not modified: the plan goes into a copy of the report and of its SMTP data
  // only (a structuredClone of the whole report was a worker's largest cost per check after
  // DNS, issue 14 P3).
  const smtp = report.data.smtp as SmtpData | undefined;
  if (!smtp) return { report };
  const addresses = greylistedAddresses(report);
  const { reprobeDelayMs, reprobeAttempts } = config.queue;
  const due = addresses.length > 0 && reprobeDelayMs > 0 && attempt <= reprobeAttempts;
  if (!due && smtp.reprobe === undefined) return { report };
  const { reprobe: _previous, ...rest } = smtp;
  const planned: SmtpData = due
    ? {
        ...rest,
        reprobe: { scheduledAt: new Date(now.getTime() + reprobeDelayMs).toISOString(), addresses, attempt },
      }
    : rest;
  const next: Report = { ...report, data: { ...report.data, smtp: planned } };
  if (!due) return { report: next };
  return {
    report: next,
    job: {
      data: { reportId, addresses, attempt },
      delayMs: reprobeDelayMs,
      jobId: `${reportId}-reprobe-${attempt}`,
    },
  };
}

export async function enqueueReprobe(queue: Queue, plan: ReprobePlan, defaults: JobsOptions): Promise<void> {
  // The job id makes this idempotent: adding it again (a re-run after a crash) is a no-op.
  await queue.add(JOB.reprobe, plan.data, { ...defaults, jobId: plan.jobId, delay: plan.delayMs });
}
