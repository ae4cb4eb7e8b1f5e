import type { JobsOptions, Queue } from 'bullmq';
import type { Logger } from 'pino';
import type { Config } from '../../config/index.js';
import { runCheck } from '../../checks/run.js';
import type { Check, CheckServices } from '../../checks/types.js';
import type { Report } from '../../report/model.js';
import type { ReportStore } from '../../store/reports.js';
import { acquireSlot } from '../../dns/inflight.js';
import { CheckJobDataSchema } from '../jobs/check.js';
import type { CheckJob, CheckJobData, CheckJobResult, Dedupe } from '../jobs/check.js';
import { enqueueReprobe, planReprobe } from '../jobs/reprobe.js';
import { recordBatchRow } from '../jobs/batch.js';
import type { BatchStore } from '../../store/batches.js';
import { parseJobData, progressSender, returnToQueueOnShutdown } from './shared.js';

/**
 * The `check` job: run the check under BullMQ's AbortSignal with live progress, store the
 * report once (a job run twice after a stall stores one report), plan the greylisting
 * re-probe, and release or keep the dedupe key.
 */
export interface CheckProcessorDeps {
  config: Config;
  /** The checks to run; defaults to every registered check (tests inject their own). */
  checks?: readonly Check[];
  services: CheckServices;
  store: ReportStore;
  dedupe: Dedupe;
  log: Logger;
  /** The queue, for follow-up jobs (the greylisting re-probe); without it none are scheduled. */
  queue?: Queue;
  /** Options of follow-up jobs (attempts, backoff). */
  jobOptions?: JobsOptions;
  /** Called with each report this process stored (metrics). */
  onReport?: (report: Report) => void;
  /** Called when a check failed for good (metrics). */
  onFailed?: () => void;
  /** Batches: checks of a batch write their row there (without it, batch checks run alone). */
  batches?: BatchStore;
}

export async function processCheck(
  job: CheckJob,
  token: string | undefined,
  signal: AbortSignal,
  deps: CheckProcessorDeps,
): Promise<CheckJobResult> {
  const data = parseJobData(CheckJobDataSchema, job.data);
  const id = job.id!;
  const log = deps.log.child({ jobId: id, ...(data.requestId ? { reqId: data.requestId } : {}) });

  // Run again after a stall although the first run stored its report: nothing to redo.
  // Only a job that ran before can find one, and BullMQ counts every earlier run on the job:
  // a run that ended (completed or failed, then retried) in attemptsMade, a stall (its worker
  // died or lost the lock) in stalledCounter, and every move to active, this one included,
  // in attemptsStarted (which also counts a job handed back at shutdown). On the first run
  // all say so, and the look-up, a Redis round trip in every check, is skipped. A job
  // object without these counts (undefined) is looked up, as every job once was.
  const existing = isFirstRun(job) ? undefined : await deps.store.getMeta(id);
  if (existing) {
    await requeuePendingReprobe(id, deps);
    // The earlier run may have died before writing its batch row.
    const stored = data.batch && deps.batches ? await deps.store.get(id) : undefined;
    if (stored && data.batch && deps.batches)
      await recordBatchRow(deps.batches, deps.queue, data.batch, { report: stored }, deps.jobOptions ?? {});
    log.info({ domain: data.domain.ascii }, 'report already stored by an earlier run of this job');
    await deps.dedupe.finished(data.identity, id);
    return { reportId: id, verdict: existing.verdict, durationMs: existing.durationMs, stored: false };
  }

  log.info({ domain: data.domain.ascii, attempt: job.attemptsMade + 1, via: data.via }, 'check started');
  const progress = progressSender(job, log);
  let report;
  let finished: (() => void) | undefined;
  try {
    report = await runCheck(data.domain, data.options, {
      config: deps.config,
      ...(deps.checks ? { checks: deps.checks } : {}),
      services: deps.services,
      signal,
      onProgress: (u) => progress.push(u),
      beforeReport: async () => {
        finished = await acquireSlot(FINISHING, FINISHING_AT_ONCE);
      },
      // The report is stored as JSON (saveOnce) and otherwise only read here.
      plain: false,
    });
  } catch (err) {
    finished?.();
    await progress.done();
    await returnToQueueOnShutdown(job, token, signal, () =>
      log.warn({ domain: data.domain.ascii }, 'check interrupted by shutdown; returned to the queue'),
    );
    throw err;
  }
  try {
    return await finish(id, data, report, progress, deps, log);
  } finally {
    finished?.();
  }
}

/**
 * Whether this is certainly the job's first run, so that no earlier run can have stored its
 * report (the counts are those of BullMQ v5's Job; see processCheck). When in doubt, false:
 * a re-run that skipped the look-up would probe the domain again, and write its batch row
 * from a report other than the one saveOnce kept.
 */
export function isFirstRun(
  job: Pick<CheckJob, 'attemptsMade' | 'stalledCounter' | 'attemptsStarted'>,
): boolean {
  return job.attemptsMade === 0 && job.stalledCounter === 0 && job.attemptsStarted <= 1;
}

/**
 * Checks of this process whose report is being assembled and stored, at most. Checks that
 * share a deadline (a flood of tarpits started together) all end in the same second: each
 * report and its JSON waited in memory, hundreds at once, for their turn on the Redis
 * connection (~25 MB at the end of npm run bench tarpit, issue 14 P4). A check whose report
 * waits here holds only what it gathered.
 */
const FINISHING_AT_ONCE = 8;
const FINISHING = 'reports being assembled and stored';

/** Stores the report and what goes with it; the check's finishing slot is held meanwhile. */
async function finish(
  id: string,
  data: CheckJobData,
  report: Report,
  progress: ReturnType<typeof progressSender>,
  deps: CheckProcessorDeps,
  log: Logger,
): Promise<CheckJobResult> {
  await progress.done();
  // A greylisted address is asked again later by a delayed job; the report says when.
  const planned = deps.queue ? planReprobe(id, report, deps.config, new Date()) : { report };
  report = planned.report;
  const stored = await deps.store.saveOnce(id, report, data.owner);
  if (stored && planned.job && deps.queue)
    await enqueueReprobe(deps.queue, planned.job, deps.jobOptions ?? {});
  await deps.dedupe.finished(data.identity, id);
  if (data.batch && deps.batches)
    await recordBatchRow(deps.batches, deps.queue, data.batch, { report }, deps.jobOptions ?? {});
  if (stored) deps.onReport?.(report);
  log.info(
    { domain: data.domain.ascii, verdict: report.verdict, durationMs: report.durationMs, stored },
    'check finished',
  );
  return { reportId: id, verdict: report.verdict, durationMs: report.durationMs, stored };
}

/** The earlier run may have died between storing the report and scheduling its re-probe. */
async function requeuePendingReprobe(id: string, deps: CheckProcessorDeps): Promise<void> {
  if (!deps.queue) return;
  const pending = (await deps.store.get(id))?.data.smtp;
  const reprobe = (
    pending as { reprobe?: { addresses: string[]; attempt: number; scheduledAt: string } } | undefined
  )?.reprobe;
  if (!reprobe) return;
  await enqueueReprobe(
    deps.queue,
    {
      data: { reportId: id, addresses: reprobe.addresses, attempt: reprobe.attempt },
      delayMs: Math.max(0, Date.parse(reprobe.scheduledAt) - Date.now()),
      jobId: `${id}-reprobe-${reprobe.attempt}`,
    },
    deps.jobOptions ?? {},
  );
}

/** After the last attempt failed: free the dedupe key and count it. */
export async function checkFailedForGood(
  job: CheckJob,
  err: Error,
  deps: Pick<CheckProcessorDeps, 'dedupe' | 'log' | 'onFailed' | 'batches' | 'queue' | 'jobOptions'>,
): Promise<void> {
  const identity = (job.data as { identity?: unknown }).identity;
  const batch = CheckJobDataSchema.safeParse(job.data);
  if (batch.success && batch.data.batch && deps.batches)
    await recordBatchRow(
      deps.batches,
      deps.queue,
      batch.data.batch,
      { error: `the check failed: ${err.message}`, domain: batch.data.domain.unicode },
      deps.jobOptions ?? {},
    ).catch(() => {});
  deps.onFailed?.();
  deps.log.error({ jobId: job.id, err: { message: err.message } }, 'check failed for good');
  if (typeof identity === 'string' && job.id) await deps.dedupe.release(identity, job.id).catch(() => {});
}
