import { randomBytes } from 'node:crypto';

/**
 * The queues and their jobs: one queue per workload class, one processor module per job kind
 * (src/queue/processors/<job name>.ts), and what each job carries and how it is queued in
 * src/queue/jobs/. The BullMQ workers are built in one place, src/queue/workers.ts.
 *
 * - `checks`: domain checks and everything a check or a monitor schedules: interactive
 *   checks, greylisting re-probes, monitor ticks, monitor runs, alert deliveries and the
 *   reconcile of monitor schedulers, the checks of batches (at a lower priority than
 *   interactive checks) and their completion webhooks, and address verifications. One queue, because one worker concurrency
 *   (MXDOCTOR_WORKER_CONCURRENCY) bounds the DNS and SMTP work of a process, and BullMQ orders
 *   jobs by priority only within a queue: scheduled monitor runs (priority 10) wait behind
 *   interactive checks instead of competing with them.
 * - `bounces`: bounce diagnoses, with their own concurrency (MXDOCTOR_BOUNCE_CONCURRENCY), so a
 *   burst of bounces and a burst of checks never wait for each other.
 * - `inbound`: analyses of messages received by the inbound test receiver, with their own
 *   concurrency (MXDOCTOR_INBOUND_CONCURRENCY): someone waits on the page for each one.
 *
 * Queue and job names are data in Redis: BullMQ's keys, the job scheduler of every monitor,
 * delayed re-probes and alert deliveries waiting for their next attempt. Renaming a queue or a
 * job would strand what is already queued under the old name, so they stay as deployed.
 */
export const QUEUE_CHECKS = 'checks';
export const QUEUE_BOUNCES = 'bounces';
export const QUEUE_INBOUND = 'inbound';

/** Every job kind, by the name it has in Redis. */
export const JOB = {
  check: 'check',
  /** The greylisting re-probe (src/queue/jobs/reprobe.ts). */
  reprobe: 'reprobe',
  /** Made by each monitor's job scheduler (src/queue/monitor-scheduler.ts). */
  monitorTick: 'monitor-tick',
  monitorRun: 'monitor-run',
  alertDelivery: 'alert-delivery',
  monitorReconcile: 'monitor-reconcile',
  bounce: 'bounce',
  /** The completion webhook of a batch of checks (src/queue/jobs/batch.ts). */
  batchWebhook: 'batch-webhook',
  /** Address verification, and its delayed re-ask of greylisted addresses (src/queue/jobs/verify.ts). */
  verify: 'verify',
  verifyRetry: 'verify-retry',
  /** The analysis of a message received by the inbound test (src/queue/jobs/inbound.ts). */
  inboundAnalysis: 'inbound-analysis',
} as const;

/** The jobs of each queue. */
export const QUEUE_JOBS = {
  [QUEUE_CHECKS]: [
    JOB.check,
    JOB.reprobe,
    JOB.monitorTick,
    JOB.monitorRun,
    JOB.alertDelivery,
    JOB.monitorReconcile,
    JOB.batchWebhook,
    JOB.verify,
    JOB.verifyRetry,
  ],
  [QUEUE_BOUNCES]: [JOB.bounce],
  [QUEUE_INBOUND]: [JOB.inboundAnalysis],
} as const;
export type ChecksQueueJob = (typeof QUEUE_JOBS)[typeof QUEUE_CHECKS][number];
export type BouncesQueueJob = (typeof QUEUE_JOBS)[typeof QUEUE_BOUNCES][number];
export type InboundQueueJob = (typeof QUEUE_JOBS)[typeof QUEUE_INBOUND][number];

/** Report and job ids: 16 random bytes, base64url (22 characters; never all digits, no ":"). */
export const JOB_ID_PATTERN = /^[A-Za-z0-9_-]{22}$/;

export function newJobId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (JOB_ID_PATTERN.test(id)) return id;
  }
}
