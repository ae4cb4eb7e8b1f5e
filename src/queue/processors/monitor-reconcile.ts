import type { MonitorRuntime } from '../jobs/monitor.js';

/**
 * The `monitor-reconcile` job (every few minutes, from its own job scheduler): brings the
 * job schedulers in line with the stored monitors (src/queue/monitor-scheduler.ts).
 */
export async function processReconcile(
  rt: Pick<MonitorRuntime, 'scheduler' | 'store' | 'log'>,
): Promise<unknown> {
  const r = await rt.scheduler.reconcile(rt.store);
  if (r.created.length + r.updated.length + r.removed.length > 0)
    rt.log.warn(r, 'monitor schedulers repaired');
  return r;
}
