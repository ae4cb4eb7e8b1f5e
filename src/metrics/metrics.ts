import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Queue } from 'bullmq';
import type { Report } from '../report/model.js';
import type { Monitor } from '../monitor/model.js';
import type { LastRun, RunRecord } from '../store/monitors.js';
import { tlsObservationsOf } from '../smtp/contract.js';

/**
 * Prometheus metrics of one process (prom-client, own registry per service instance).
 * A process that runs a worker counts checks and SMTP sessions; a process that has the
 * queue reports its depth and the age of the oldest waiting job at scrape time.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly checks: Counter<'outcome'>;
  readonly checkDuration: Histogram;
  readonly smtpSessions: Counter<'result'>;
  readonly httpRequests: Counter<'method' | 'route' | 'status'>;
  readonly httpDuration: Histogram<'method' | 'route'>;

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics !== false)
      collectDefaultMetrics({ register: this.registry, prefix: 'mxdoctor_' });
    this.checks = new Counter({
      name: 'mxdoctor_checks_total',
      help: 'Domain checks finished by this process, by outcome: the verdict (pass, warn, fail) or failed (the job failed for good).',
      labelNames: ['outcome'],
      registers: [this.registry],
    });
    this.checkDuration = new Histogram({
      name: 'mxdoctor_check_duration_seconds',
      help: 'Duration of one domain check.',
      buckets: [0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 90, 120, 180],
      registers: [this.registry],
    });
    this.smtpSessions = new Counter({
      name: 'mxdoctor_smtp_sessions_total',
      help: 'SMTP sessions reported by checks, by result: tls (STARTTLS and handshake ok), tls_failed, no_starttls, no_session (never got to EHLO); cached results count as cached.',
      labelNames: ['result'],
      registers: [this.registry],
    });
    this.httpRequests = new Counter({
      name: 'mxdoctor_http_requests_total',
      help: 'HTTP requests answered, by route and status.',
      labelNames: ['method', 'route', 'status'],
      registers: [this.registry],
    });
    this.httpDuration = new Histogram({
      name: 'mxdoctor_http_request_duration_seconds',
      help: 'HTTP response time.',
      labelNames: ['method', 'route'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [this.registry],
    });
  }

  recordReport(report: Report): void {
    this.checks.inc({ outcome: report.verdict });
    this.checkDuration.observe(report.durationMs / 1000);
    for (const t of tlsObservationsOf(report.data.smtp)) {
      const result = t.cached
        ? 'cached'
        : t.starttls === 'unknown'
          ? 'no_session'
          : t.starttls === 'not_offered'
            ? 'no_starttls'
            : t.handshake === 'ok'
              ? 'tls'
              : 'tls_failed';
      this.smtpSessions.inc({ result });
    }
  }

  private monitorRuns: Counter<'verdict'> | undefined;

  /** A committed monitor run (worker side). */
  recordMonitorRun(_monitor: Monitor, record: RunRecord): void {
    this.monitorRuns ??= new Counter({
      name: 'mxdoctor_monitor_runs_total',
      help: 'Monitor runs committed by this process, by verdict.',
      labelNames: ['verdict'],
      registers: [this.registry],
    });
    this.monitorRuns.inc({ verdict: record.verdict });
  }

  /**
   * Per-monitor gauges, read from Redis at scrape time (web processes): the last verdict
   * (0 pass, 1 warn, 2 fail), days until the earliest MX certificate expires, the age of the
   * last run, and whether the monitor is paused. Labels: monitor id and domain.
   */
  watchMonitors(source: { list(): Promise<Monitor[]>; lastRuns(): Promise<Record<string, LastRun>> }): void {
    const labelNames = ['monitor', 'domain'] as const;
    const state = { monitors: [] as Monitor[], last: {} as Record<string, LastRun>, at: 0 };
    // One Redis read per scrape, shared by the gauges.
    const load = async (): Promise<void> => {
      if (Date.now() - state.at < 1000) return;
      const [monitors, last] = await Promise.all([source.list(), source.lastRuns()]);
      Object.assign(state, { monitors, last, at: Date.now() });
    };
    const VERDICT = { pass: 0, warn: 1, fail: 2 } as const;
    const gauge = (
      name: string,
      help: string,
      value: (m: Monitor, last: LastRun | undefined) => number | undefined,
    ): void => {
      new Gauge({
        name,
        help,
        labelNames,
        registers: [this.registry],
        async collect() {
          try {
            await load();
          } catch {
            return; // Redis away: keep the last values.
          }
          this.reset();
          for (const m of state.monitors) {
            const v = value(m, state.last[m.id]);
            if (v !== undefined) this.set({ monitor: m.id, domain: m.domain.ascii }, v);
          }
        },
      });
    };
    gauge(
      'mxdoctor_monitor_verdict',
      'Verdict of the monitor’s last run: 0 pass, 1 warn, 2 fail.',
      (_m, l) => (l ? VERDICT[l.verdict] : undefined),
    );
    gauge(
      'mxdoctor_monitor_certificate_expiry_days',
      'Days until the earliest leaf certificate of the monitored MX addresses expires (last run).',
      (_m, l) => l?.certDays,
    );
    gauge(
      'mxdoctor_monitor_last_run_age_seconds',
      'Seconds since the monitor’s last run started.',
      (_m, l) => (l ? Math.max(0, (Date.now() - Date.parse(l.at)) / 1000) : undefined),
    );
    gauge('mxdoctor_monitor_paused', '1 when the monitor is paused.', (m) => (m.paused ? 1 : 0));
  }

  recordFailedJob(): void {
    this.checks.inc({ outcome: 'failed' });
  }

  /** Queue depth by state and the age of the oldest waiting job, read at scrape time. */
  watchQueue(queue: Queue): void {
    new Gauge({
      name: 'mxdoctor_queue_jobs',
      help: 'Jobs in the checks queue, by state.',
      labelNames: ['state'],
      registers: [this.registry],
      async collect() {
        try {
          const counts = await queue.getJobCounts(
            'waiting',
            'active',
            'delayed',
            'prioritized',
            'failed',
            'completed',
          );
          for (const [state, n] of Object.entries(counts)) this.set({ state }, n);
        } catch {
          // Redis away: keep the last values rather than failing the whole scrape.
        }
      },
    });
    new Gauge({
      name: 'mxdoctor_queue_oldest_waiting_seconds',
      help: 'Age of the oldest job waiting in the checks queue (0 when none waits).',
      registers: [this.registry],
      async collect() {
        try {
          // BullMQ pushes new jobs to the head of the wait list: the oldest is at the tail.
          const [oldest] = await queue.getJobs(['wait'], -1, -1, true);
          this.set(oldest ? Math.max(0, (Date.now() - oldest.timestamp) / 1000) : 0);
        } catch {
          // as above
        }
      },
    });
  }
}
