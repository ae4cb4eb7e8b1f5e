import type { Queue } from 'bullmq';
import type { Metrics } from '../metrics/metrics.js';
import type { Report } from '../report/model.js';
import { tlsObservationsOf } from '../smtp/contract.js';
import type { StoredBounce } from '../store/diagnoses.js';
import type { RunRecord } from '../store/monitors.js';

/**
 * What the queues and workers measure, registered in the process's metrics: finished checks
 * and the SMTP sessions their reports describe, bounce diagnoses, monitor runs (fed by the
 * processors' hooks), and the depth of the checks queue (read at scrape time).
 */
export interface JobMetrics {
  /** A report this process stored. */
  onReport(report: Report): void;
  /** A check that failed for good. */
  onCheckFailed(): void;
  /** A bounce result this process stored. */
  onBounce(result: StoredBounce): void;
  /** A monitor run this process committed. */
  onMonitorRun(record: RunRecord): void;
}

export function jobMetrics(metrics: Metrics): JobMetrics {
  const checks = metrics.counter({
    name: 'mxdoctor_checks_total',
    help: 'Domain checks finished by this process, by outcome: the verdict (pass, warn, fail) or failed (the job failed for good).',
    labelNames: ['outcome'],
  });
  const checkDuration = metrics.histogram({
    name: 'mxdoctor_check_duration_seconds',
    help: 'Duration of one domain check.',
    buckets: [0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 90, 120, 180],
  });
  const smtpSessions = metrics.counter({
    name: 'mxdoctor_smtp_sessions_total',
    help: 'SMTP sessions reported by checks, by result: tls (STARTTLS and handshake ok), tls_failed, no_starttls, no_session (never got to EHLO); cached results count as cached.',
    labelNames: ['result'],
  });
  const bounces = metrics.counter({
    name: 'mxdoctor_bounces_total',
    help: 'Bounce diagnoses finished by this process, by outcome: diagnosed or rejected (not a usable bounce).',
    labelNames: ['outcome'],
  });
  const bounceDuration = metrics.histogram({
    name: 'mxdoctor_bounce_duration_seconds',
    help: 'Duration of one bounce diagnosis, follow-up checks included.',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120],
  });
  const monitorRuns = metrics.counter({
    name: 'mxdoctor_monitor_runs_total',
    help: 'Monitor runs committed by this process, by verdict.',
    labelNames: ['verdict'],
  });
  return {
    onReport(report) {
      checks.inc({ outcome: report.verdict });
      checkDuration.observe(report.durationMs / 1000);
      for (const t of tlsObservationsOf(report.data.smtp)) smtpSessions.inc({ result: sessionResult(t) });
    },
    onCheckFailed() {
      checks.inc({ outcome: 'failed' });
    },
    onBounce(result) {
      bounces.inc({ outcome: result.outcome });
      bounceDuration.observe(result.durationMs / 1000);
    },
    onMonitorRun(record) {
      monitorRuns.inc({ verdict: record.verdict });
    },
  };
}

function sessionResult(t: ReturnType<typeof tlsObservationsOf>[number]): string {
  if (t.cached) return 'cached';
  if (t.starttls === 'unknown') return 'no_session';
  if (t.starttls === 'not_offered') return 'no_starttls';
  return t.handshake === 'ok' ? 'tls' : 'tls_failed';
}

/** Depth of the checks queue by state and the age of its oldest waiting job, read at scrape time. */
export function watchQueue(metrics: Metrics, queue: Queue): void {
  metrics.gauge({
    name: 'mxdoctor_queue_jobs',
    help: 'Jobs in the checks queue, by state.',
    labelNames: ['state'],
    async collect(gauge) {
      const counts = await queue.getJobCounts(
        'waiting',
        'active',
        'delayed',
        'prioritized',
        'failed',
        'completed',
      );
      for (const [state, n] of Object.entries(counts)) gauge.set({ state }, n);
    },
  });
  metrics.gauge({
    name: 'mxdoctor_queue_oldest_waiting_seconds',
    help: 'Age of the oldest job waiting in the checks queue (0 when none waits).',
    async collect(gauge) {
      // BullMQ pushes new jobs to the head of the wait list: the oldest is at the tail.
      const [oldest] = await queue.getJobs(['wait'], -1, -1, true);
      gauge.set(oldest ? Math.max(0, (Date.now() - oldest.timestamp) / 1000) : 0);
    },
  });
}
