import { UnrecoverableError, WaitingError } from 'bullmq';
import type { Logger } from 'pino';
import type { ProgressUpdate } from '../../checks/types.js';
import type { Config } from '../../config/index.js';
import { analyseInbound } from '../../inbound/analyse.js';
import { normalizeDomain } from '../../input/domain.js';
import { DEFAULT_CHECK_OPTIONS } from '../../report/model.js';
import type { InboundReport } from '../../inbound/report.js';
import type { InboundTestStore } from '../../store/inbound-tests.js';
import type { CheckQueue } from '../jobs/check.js';
import { InboundJobDataSchema } from '../jobs/inbound.js';
import type { InboundJob, InboundJobResult } from '../jobs/inbound.js';
import { SHUTDOWN_REASON } from './shared.js';

/**
 * The `inbound-analysis` job: read the received message and the connection facts from the
 * store, analyse them under BullMQ's AbortSignal (publishing progress for the page that
 * waits), queue the domain check of the From domain, and store the report in the test. A
 * test analysed already (the job ran again after a stall) is left as it is.
 */
export interface InboundProcessorDeps {
  config: Config;
  store: InboundTestStore;
  log: Logger;
  /** Where the From domain's check is queued; absent: no domain check. */
  checks?: CheckQueue;
  onReport?: (report: InboundReport) => void;
}

export async function processInbound(
  job: InboundJob,
  token: string | undefined,
  signal: AbortSignal,
  deps: InboundProcessorDeps,
): Promise<InboundJobResult> {
  const parsed = InboundJobDataSchema.safeParse(job.data);
  if (!parsed.success)
    throw new UnrecoverableError(`invalid job data: ${parsed.error.issues[0]?.message ?? 'unknown'}`);
  const id = job.id!;
  const log = deps.log.child({ jobId: id, client: parsed.data.client });
  const test = await deps.store.get(id);
  if (!test) throw new UnrecoverableError('the test has expired');
  if (test.state === 'analysed' && test.report) {
    log.info('inbound test analysed already by an earlier run of this job');
    return { verdict: test.report.verdict, durationMs: test.report.durationMs };
  }
  const message = await deps.store.getMessage(id);
  if (!test.delivery || !message) {
    await deps.store.saveError(id, 'The message is no longer kept (its retention period is over).');
    throw new UnrecoverableError('the message is no longer kept');
  }
  let chain: Promise<void> = Promise.resolve();
  const progress = (update: ProgressUpdate): void => {
    chain = chain
      .then(() => job.updateProgress(update))
      .catch((err: unknown) => log.warn({ err }, 'could not publish progress'));
  };
  log.info({ bytes: message.length, attempt: job.attemptsMade + 1 }, 'inbound analysis started');
  const publicUrl = deps.config.alert.publicUrl.replace(/\/$/, '');
  let report: InboundReport;
  try {
    report = await analyseInbound(
      { delivery: test.delivery, message, testId: id },
      {
        config: deps.config,
        signal,
        progress,
        ...(deps.checks
          ? {
              domainCheck: async (domain: string) => {
                const normalized = normalizeDomain(domain);
                if (!normalized.ok) return undefined;
                const queued = await deps.checks!.submit(
                  normalized.domain,
                  { ...DEFAULT_CHECK_OPTIONS },
                  { via: 'inbound' },
                );
                return { id: queued.id, url: `${publicUrl}/checks/${queued.id}` };
              },
            }
          : {}),
      },
    );
  } catch (err) {
    if (signal.aborted && signal.reason === SHUTDOWN_REASON && token) {
      log.warn('inbound analysis interrupted by shutdown; returned to the queue');
      await job.moveToWait(token);
      throw new WaitingError();
    }
    const final = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    if (final)
      await deps.store.saveError(id, `The analysis failed: ${(err as Error).message}`).catch(() => {});
    throw err;
  }
  await chain;
  await deps.store.saveReport(id, report);
  deps.onReport?.(report);
  log.info(
    { verdict: report.verdict, score: report.score.value, durationMs: report.durationMs },
    'inbound test analysed',
  );
  return { verdict: report.verdict, durationMs: report.durationMs };
}
