/**
 * Names of the queue and its jobs. Job names are dispatched by the processor
 * (src/queue/check-processor.ts): each name has its own data schema and handler, so a second
 * kind of job (the greylisting re-probe) slots in beside `check` without touching the rest.
 */
export const QUEUE_CHECKS = 'checks';

export const JOB_NAMES = [
  'check',
  // The greylisting re-probe (src/queue/reprobe.ts).
  'reprobe',
  // Monitoring (src/queue/monitor-jobs.ts).
  'monitor-tick',
  'monitor-run',
  'alert-delivery',
  'monitor-reconcile',
] as const;
export type JobName = (typeof JOB_NAMES)[number];

/** Report and job ids: 16 random bytes, base64url (22 characters; never all digits, no ":"). */
export const JOB_ID_PATTERN = /^[A-Za-z0-9_-]{22}$/;
