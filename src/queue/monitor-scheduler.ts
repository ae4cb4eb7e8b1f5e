import type { JobsOptions, Queue } from 'bullmq';
import type { Logger } from 'pino';
import type { Monitor } from '../monitor/model.js';
import { nextRuns, parseSchedule, schedulerPlan } from '../monitor/schedule.js';
import type { SchedulerPlan } from '../monitor/schedule.js';
import type { MonitorStore } from '../store/monitors.js';
import { JOB } from './names.js';

/**
 * One BullMQ job scheduler per active monitor, kept in step with the stored monitors.
 *
 * The scheduler ("monitor-<id>") makes a small `monitor-tick` job at each scheduled time,
 * carrying the monitor's id and the revision it was made from. The tick handler queues the
 * run itself (src/queue/processors/monitor-tick.ts). Writes go store first, scheduler
 * second; a process that dies between the two leaves either a monitor without (or with a
 * stale) scheduler, which `reconcile()` repairs when a worker starts and every few minutes
 * after, or a scheduler without a monitor, which the next tick (and reconcile) removes.
 */
export const RECONCILE_SCHEDULER = 'monitors-reconcile';

export interface TickData {
  monitorId: string;
  rev: number;
}

export interface SchedulerOptions {
  /** MXDOCTOR_MONITOR_MIN_INTERVAL, to parse stored schedules. */
  minIntervalMs: number;
  /** MXDOCTOR_MONITOR_JITTER. */
  cronJitterMs: number;
  log?: Logger;
}

export interface ReconcileResult {
  created: string[];
  updated: string[];
  removed: string[];
  unchanged: number;
}

const TICK_OPTIONS: JobsOptions = {
  removeOnComplete: { age: 3600, count: 1000 },
  removeOnFail: { age: 7 * 86_400, count: 1000 },
  attempts: 3,
  backoff: { type: 'exponential', delay: 1000 },
};

export class MonitorScheduler {
  constructor(
    private readonly queue: Queue,
    private readonly options: SchedulerOptions,
  ) {}

  static schedulerId(monitorId: string): string {
    return `monitor-${monitorId}`;
  }

  /** The scheduler and run-delay of a monitor (undefined when its stored schedule is invalid). */
  plan(monitor: Monitor): SchedulerPlan | undefined {
    // A stored schedule was valid when saved; a later, larger minimum must not stop it.
    const parsed = parseSchedule(monitor.schedule, 1000);
    if (!parsed.ok) return undefined;
    return schedulerPlan(monitor.id, parsed.parsed, this.options.cronJitterMs);
  }

  /** When the monitor runs next (scheduler time + jitter), as BullMQ has it. */
  async nextRun(monitor: Monitor): Promise<Date | undefined> {
    if (monitor.paused) return undefined;
    const plan = this.plan(monitor);
    const s = await this.queue.getJobScheduler(MonitorScheduler.schedulerId(monitor.id));
    if (!s?.next || !plan) return undefined;
    return new Date(s.next + plan.runDelayMs);
  }

  /** When each active monitor runs next, for listings: one read of all schedulers. */
  async nextRunsOf(monitors: readonly Monitor[]): Promise<Map<string, Date>> {
    const next = new Map<string, number>();
    for (const s of await this.queue.getJobSchedulers(0, -1)) {
      if (s.key.startsWith('monitor-') && s.next) next.set(s.key.slice('monitor-'.length), s.next);
    }
    const out = new Map<string, Date>();
    for (const m of monitors) {
      const at = next.get(m.id);
      const plan = at !== undefined && !m.paused ? this.plan(m) : undefined;
      if (at !== undefined && plan) out.set(m.id, new Date(at + plan.runDelayMs));
    }
    return out;
  }

  /** The expected next runs from the schedule alone (without asking Redis). */
  expectedRuns(monitor: Monitor, from: Date, count: number): Date[] {
    const parsed = parseSchedule(monitor.schedule, 1000);
    const plan = this.plan(monitor);
    if (!parsed.ok || !plan || monitor.paused) return [];
    return nextRuns(parsed.parsed, plan, from, count);
  }

  /** Makes the scheduler match the monitor: created or replaced when active, removed when paused. */
  async sync(monitor: Monitor): Promise<'upserted' | 'removed'> {
    if (monitor.paused) {
      await this.remove(monitor.id);
      return 'removed';
    }
    const plan = this.plan(monitor);
    if (!plan) {
      this.options.log?.error({ monitorId: monitor.id }, 'monitor has an invalid schedule; not scheduled');
      await this.remove(monitor.id);
      return 'removed';
    }
    const data: TickData = { monitorId: monitor.id, rev: monitor.rev };
    await this.queue.upsertJobScheduler(MonitorScheduler.schedulerId(monitor.id), plan.repeat, {
      name: JOB.monitorTick,
      data,
      opts: TICK_OPTIONS,
    });
    return 'upserted';
  }

  async remove(monitorId: string): Promise<void> {
    await this.queue.removeJobScheduler(MonitorScheduler.schedulerId(monitorId));
  }

  /** Monitor schedulers present in Redis: monitor id → the revision they were made from. */
  async present(): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    const all = await this.queue.getJobSchedulers(0, -1);
    for (const s of all) {
      const id = s.key;
      if (!id.startsWith('monitor-')) continue;
      const data = s.template?.data as Partial<TickData> | undefined;
      out.set(id.slice('monitor-'.length), typeof data?.rev === 'number' ? data.rev : -1);
    }
    return out;
  }

  /**
   * Brings the schedulers in line with the stored monitors: one per active monitor at its
   * current revision, none for paused or deleted ones. Safe to run from many workers at
   * once and at any time: each repair re-reads the monitor after writing the scheduler and
   * repeats while the monitor changed in between.
   */
  async reconcile(store: MonitorStore): Promise<ReconcileResult> {
    const result: ReconcileResult = { created: [], updated: [], removed: [], unchanged: 0 };
    const present = await this.present();
    const monitors = await store.list();
    const active = new Set<string>();
    for (const m of monitors) {
      if (m.paused) continue;
      active.add(m.id);
      const rev = present.get(m.id);
      if (rev === m.rev) {
        result.unchanged++;
        continue;
      }
      await this.syncLatest(store, m.id);
      (rev === undefined ? result.created : result.updated).push(m.id);
    }
    for (const id of present.keys()) {
      if (active.has(id)) continue;
      // Re-check: it may have been created or resumed since the list was read.
      const m = await store.get(id);
      if (m && !m.paused) continue;
      await this.remove(id);
      result.removed.push(id);
    }
    return result;
  }

  /**
   * Syncs the scheduler with the stored monitor until the monitor no longer changes under
   * us (a concurrent edit always ends with a scheduler at the latest revision).
   */
  async syncLatest(store: MonitorStore, monitorId: string): Promise<Monitor | undefined> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const m = await store.get(monitorId);
      if (!m) {
        await this.remove(monitorId);
        return undefined;
      }
      await this.sync(m);
      const again = await store.get(monitorId);
      if (!again) {
        await this.remove(monitorId);
        return undefined;
      }
      if (again.rev === m.rev) return m;
    }
    return store.get(monitorId);
  }

  /** The periodic reconcile, as one more job scheduler. */
  async ensureReconcileSchedule(everyMs: number): Promise<void> {
    await this.queue.upsertJobScheduler(
      RECONCILE_SCHEDULER,
      { every: everyMs },
      {
        name: JOB.monitorReconcile,
        data: {},
        opts: { removeOnComplete: true, removeOnFail: { age: 86_400 } },
      },
    );
  }
}
