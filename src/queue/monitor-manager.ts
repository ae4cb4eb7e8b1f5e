import { randomBytes } from 'node:crypto';
import type { Queue } from 'bullmq';
import type { Config } from '../config/index.js';
import type { FieldError } from '../input/check-request.js';
import { diffRuns } from '../monitor/diff.js';
import type { RunDiff } from '../monitor/diff.js';
import { queueRun, queueTestDelivery, runIdOf } from './jobs/monitor.js';
import type { RunJobData } from './jobs/monitor.js';
import { MONITOR_ID_PATTERN, parseMonitorInput } from '../monitor/model.js';
import type { Monitor, MonitorLimits } from '../monitor/model.js';
import type { MonitorScheduler } from './monitor-scheduler.js';
import type { MonitorStore, RunTrigger } from '../store/monitors.js';
import { summarizeReport } from '../monitor/summary.js';

/**
 * MonitorManager, the one entry to monitors for the web and the API: create, edit, pause,
 * resume, delete, run now, send a test alert, and read history and diffs. Every change
 * writes the store first and the job scheduler second, then re-reads the monitor and repeats
 * while it changed meanwhile, so the scheduler ends at the latest revision (see
 * monitor-scheduler.ts for what happens when a process dies in between).
 */
export type ChangeResult =
  { ok: true; monitor: Monitor } | { ok: false; errors: FieldError[] } | { ok: false; notFound: true };

export function newId(bytes: number): string {
  return randomBytes(bytes).toString('base64url');
}

export class MonitorManager {
  constructor(
    readonly store: MonitorStore,
    readonly scheduler: MonitorScheduler,
    private readonly queue: Queue,
    private readonly config: Config,
    private readonly now: () => Date = () => new Date(),
  ) {}

  get limits(): MonitorLimits {
    return {
      minIntervalMs: this.config.monitor.minIntervalMs,
      retentionDays: Math.max(1, Math.round(this.config.monitor.retentionMs / 86_400_000)),
      retentionRuns: this.config.monitor.maxRuns,
      allowPrivate: this.config.net.allowPrivate,
    };
  }

  async get(id: string): Promise<Monitor | undefined> {
    if (!MONITOR_ID_PATTERN.test(id)) return undefined;
    return this.store.get(id);
  }

  list(): Promise<Monitor[]> {
    return this.store.list();
  }

  async create(input: unknown): Promise<ChangeResult> {
    const parsed = parseMonitorInput(input, this.limits, newId);
    if (!parsed.ok) return parsed;
    const at = this.now().toISOString();
    let monitor: Monitor;
    for (;;) {
      monitor = { version: 1, id: newId(12), rev: 1, ...parsed.spec, createdAt: at, updatedAt: at };
      if (await this.store.create(monitor)) break;
    }
    const synced = (await this.scheduler.syncLatest(this.store, monitor.id)) ?? monitor;
    // The first run now, as the baseline: the first alert-worthy change is measured from it.
    if (!synced.paused) await this.runNow(synced, 'initial');
    return { ok: true, monitor: synced };
  }

  async update(id: string, patch: unknown): Promise<ChangeResult> {
    for (let attempt = 0; attempt < 10; attempt++) {
      const existing = await this.get(id);
      if (!existing) return { ok: false, notFound: true };
      const parsed = parseMonitorInput(patch, this.limits, newId, existing);
      if (!parsed.ok) return parsed;
      const next: Monitor = {
        ...existing,
        ...parsed.spec,
        ...(parsed.spec.name ? {} : { name: undefined }),
        rev: existing.rev + 1,
        updatedAt: this.now().toISOString(),
      };
      if (!next.name) delete next.name;
      const r = await this.store.update(next, existing.rev);
      if (r === 'gone') return { ok: false, notFound: true };
      if (r === 'conflict') continue;
      // Another domain or other check options: earlier runs are no baseline for the next one
      // (they would read as "MX set changed" and the like).
      if (
        existing.domain.ascii !== next.domain.ascii ||
        JSON.stringify(existing.options) !== JSON.stringify(next.options)
      )
        await this.store.resetAlertState(id);
      const synced = (await this.scheduler.syncLatest(this.store, id)) ?? next;
      return { ok: true, monitor: synced };
    }
    throw new Error('the monitor kept changing while it was being saved');
  }

  setPaused(id: string, paused: boolean): Promise<ChangeResult> {
    return this.update(id, { paused });
  }

  /** Deletes the monitor, its history and its scheduler; false when there was none. */
  async delete(id: string): Promise<boolean> {
    if (!MONITOR_ID_PATTERN.test(id)) return false;
    const existed = await this.store.delete(id);
    // Store first: a crash here leaves a scheduler whose next tick removes it.
    await this.scheduler.remove(id);
    return existed;
  }

  /** Queues a run now; returns its job id and the run id it will have. */
  async runNow(
    m: Monitor,
    trigger: RunTrigger = 'manual',
    options: { dedupe?: boolean } = {},
  ): Promise<{ jobId: string; runId: string }> {
    // With dedupe (the web form), one run per monitor per two seconds: a double click
    // queues one run. The API queues a run per request.
    const jobId =
      trigger === 'initial'
        ? `mrun-${m.id}-initial`
        : options.dedupe
          ? `mrun-${m.id}-m${Math.floor(Date.now() / 2000)}`
          : `mrun-${m.id}-m${newId(9)}`;
    const data: RunJobData = { monitorId: m.id, trigger };
    // Asked for by a person: not behind interactive checks like scheduled runs.
    await queueRun(this.queue, this.config, data, jobId, { priority: 0 });
    return { jobId, runId: runIdOf(jobId) };
  }

  async sendTest(m: Monitor, destinationId: string): Promise<string | undefined> {
    if (!m.destinations.some((d) => d.id === destinationId)) return undefined;
    const deliveryId = `test-${m.id}-${destinationId}-${newId(6)}`;
    await queueTestDelivery(this.config, this.queue, m, destinationId, deliveryId);
    return deliveryId;
  }

  /**
   * The diff between two runs (`from` before `to`); defaults: `to` = the latest run, `from`
   * = the run before `to`. Computed from the stored reports.
   */
  async diff(
    id: string,
    fromId?: string,
    toId?: string,
  ): Promise<
    { ok: true; diff: RunDiff } | { ok: false; status: 400 | 404; field?: string; message: string }
  > {
    let to = toId;
    if (!to) {
      const [latest] = await this.store.runs(id, 1);
      if (!latest) return { ok: false, status: 404, message: 'This monitor has no runs yet.' };
      to = latest.runId;
    }
    let from = fromId;
    if (!from) {
      from = (await this.store.neighbours(id, to)).previous;
      if (!from)
        return {
          ok: false,
          status: 404,
          field: 'from',
          message: 'There is no run before this one to compare with.',
        };
    }
    const [a, b] = await Promise.all([this.store.report(id, from), this.store.report(id, to)]);
    if (!a)
      return {
        ok: false,
        status: 404,
        field: 'from',
        message: `No run ${JSON.stringify(from.slice(0, 30))} (runs are kept for a limited time).`,
      };
    if (!b)
      return {
        ok: false,
        status: 404,
        field: 'to',
        message: `No run ${JSON.stringify(to.slice(0, 30))} (runs are kept for a limited time).`,
      };
    return { ok: true, diff: diffRuns(summarizeReport(a, from), summarizeReport(b, to)) };
  }
}
