import { UnrecoverableError } from 'bullmq';
import type { Logger } from 'pino';
import type { Config } from '../../config/index.js';
import { BounceInputError, diagnoseBounce } from '../../bounce/index.js';
import type { Diagnosis } from '../../bounce/index.js';
import type { ProgressUpdate } from '../../checks/types.js';
import { runFollowups } from '../../bounce/followups/index.js';
import type { DiagnosisStore, StoredBounce } from '../../store/diagnoses.js';
import type { SmtpSharing } from '../../smtp/sharing.js';
import { BounceJobDataSchema } from '../jobs/bounce.js';
import type { BounceJob, BounceJobResult } from '../jobs/bounce.js';
import { returnToQueueOnShutdown } from './shared.js';

/**
 * The `bounce` job: read the submitted text from the store, parse and
 * classify it, run the follow-up checks under BullMQ's AbortSignal, store the result once,
 * delete the text. Unusable input (not a bounce…) is a result ("rejected"), not a failure;
 * a thrown error is infrastructure and BullMQ's attempts apply.
 */
export interface BounceProcessorDeps {
  config: Config;
  store: DiagnosisStore;
  services: SmtpSharing;
  log: Logger;
  /** Called with each stored result (metrics). */
  onResult?: (result: StoredBounce) => void;
  /**
   * Parses and classifies a message (no follow-ups): a worker-thread pool in the service
   * (BounceParsePool), so a long parse does not stop the event loop. @defaultValue diagnoseBounce in this thread
   */
  parse?: (input: Buffer, signal: AbortSignal) => Promise<Diagnosis>;
}

export async function processBounce(
  job: BounceJob,
  token: string | undefined,
  signal: AbortSignal,
  deps: BounceProcessorDeps,
): Promise<BounceJobResult> {
  const parsed = BounceJobDataSchema.safeParse(job.data);
  if (!parsed.success) {
    throw new UnrecoverableError(`invalid job data: ${parsed.error.issues[0]?.message ?? 'unknown'}`);
  }
  const data = parsed.data;
  const id = job.id!;
  const log = deps.log.child({ jobId: id, ...(data.requestId ? { reqId: data.requestId } : {}) });
  const existing = await deps.store.get(id);
  if (existing) {
    log.info('bounce result already stored by an earlier run of this job');
    await deps.store.deleteInput(id);
    return {
      outcome: existing.outcome,
      records: existing.diagnosis?.bounces.length ?? 0,
      durationMs: existing.durationMs,
      stored: false,
    };
  }
  const t0 = performance.now();
  const base = { id, submittedAt: data.submittedAt, options: data.options };
  const finish = async (
    result: Omit<StoredBounce, keyof typeof base | 'finishedAt' | 'durationMs'>,
  ): Promise<BounceJobResult> => {
    const stored: StoredBounce = {
      ...base,
      ...result,
      finishedAt: new Date().toISOString(),
      durationMs: Math.round(performance.now() - t0),
    };
    const saved = await deps.store.saveOnce(stored);
    await deps.store.deleteInput(id);
    if (saved) deps.onResult?.(stored);
    log.info(
      {
        outcome: stored.outcome,
        records: stored.diagnosis?.bounces.length ?? 0,
        durationMs: stored.durationMs,
        stored: saved,
      },
      'bounce diagnosed',
    );
    return {
      outcome: stored.outcome,
      records: stored.diagnosis?.bounces.length ?? 0,
      durationMs: stored.durationMs,
      stored: saved,
    };
  };

  const input = await deps.store.getInput(id);
  if (!input) {
    return finish({
      outcome: 'rejected',
      inputError: {
        code: 'expired',
        message: `The bounce waited longer than ${Math.round(deps.store.inputTtlMs / 3_600_000)} hours for a worker and its text was discarded. Submit it again.`,
      },
    });
  }
  log.info({ bytes: input.length, attempt: job.attemptsMade + 1, via: data.via }, 'bounce diagnosis started');
  // Updates go out one after the other, so a late one never overwrites a newer one.
  let chain: Promise<void> = Promise.resolve();
  const progress = (update: ProgressUpdate): void => {
    chain = chain
      .then(() => job.updateProgress(update))
      .catch((err: unknown) => log.warn({ err }, 'could not publish progress'));
  };
  const announceShutdown = (): void =>
    log.warn('bounce diagnosis interrupted by shutdown; returned to the queue');
  progress({ step: 'parse', message: 'Reading the bounce…', percent: 5 });
  let diagnosis;
  try {
    diagnosis = deps.parse
      ? await deps.parse(input, signal)
      : await diagnoseBounce(input, { maxBytes: deps.config.bounce.maxBytes });
  } catch (err) {
    if (err instanceof BounceInputError)
      return finish({ outcome: 'rejected', inputError: { code: err.code, message: err.message } });
    // A parse in a worker thread ends early when the worker shuts down.
    await returnToQueueOnShutdown(job, token, signal, announceShutdown);
    throw err;
  }
  if (data.options.followups) {
    const n = diagnosis.bounces.length;
    progress({
      step: 'followups',
      message: `Read ${n} recipient${n === 1 ? '' : 's'}; running the follow-up checks…`,
      percent: 15,
    });
    try {
      diagnosis = await runFollowups(diagnosis, {
        config: deps.config,
        signal,
        smtp: data.options.smtp,
        services: deps.services,
        onProgress: (p) =>
          progress({
            step: 'followups',
            message: `Follow-up ${p.done} of ${p.total} done: ${p.message}`,
            percent: 15 + Math.round((80 * p.done) / Math.max(1, p.total)),
            index: p.done,
            total: p.total,
          }),
      });
    } catch (err) {
      await returnToQueueOnShutdown(job, token, signal, announceShutdown);
      throw err;
    }
  }
  await chain;
  return finish({ outcome: 'diagnosed', diagnosis });
}
