import type { Job } from 'bullmq';
import { TickJobDataSchema, queueRun } from '../jobs/monitor.js';
import type { MonitorRuntime, RunJobData } from '../jobs/monitor.js';
import { parseJobData } from './shared.js';

/**
 * The `monitor-tick` job, made by a monitor's job scheduler at each scheduled time: checks
 * that the monitor still exists and is active (removing a scheduler left behind otherwise),
 * repairs a stale scheduler, and queues the run after the jitter delay of a cron schedule.
 * The run's job id is derived from the scheduled time, so a tick that runs twice queues one run.
 */
export async function processTick(
  job: Job,
  rt: Pick<MonitorRuntime, 'config' | 'store' | 'scheduler' | 'queue' | 'log'>,
): Promise<unknown> {
  const data = parseJobData(TickJobDataSchema, job.data);
  const m = await rt.store.get(data.monitorId);
  if (!m || m.paused) {
    // A scheduler left behind by a process that died between the two writes of a delete
    // or pause: remove it now.
    await rt.scheduler.remove(data.monitorId);
    rt.log.warn(
      { monitorId: data.monitorId },
      `removed the scheduler of a ${m ? 'paused' : 'deleted'} monitor`,
    );
    return { skipped: m ? 'paused' : 'deleted' };
  }
  if (data.rev !== m.rev) {
    // The monitor changed and its scheduler was not updated (a crash between the writes).
    await rt.scheduler.syncLatest(rt.store, m.id);
    rt.log.warn({ monitorId: m.id, schedulerRev: data.rev, rev: m.rev }, 'updated a stale monitor scheduler');
  }
  const plan = rt.scheduler.plan(m);
  const millis = Number(/:(\d+)$/.exec(job.id ?? '')?.[1] ?? job.timestamp);
  const runJobId = `mrun-${m.id}-${millis}`;
  const runData: RunJobData = {
    monitorId: m.id,
    trigger: 'schedule',
    scheduledAt: new Date(millis).toISOString(),
  };
  await queueRun(rt.queue, rt.config, runData, runJobId, { delayMs: plan?.runDelayMs ?? 0 });
  return { runJobId };
}
