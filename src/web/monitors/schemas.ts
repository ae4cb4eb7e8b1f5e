import { z } from 'zod';
import { CountsSchema } from '../../report/model.js';
import { RULE_IDS } from '../../monitor/alerts.js';
import { FindingRefSchema } from '../../monitor/summary.js';
import {
  MonitorInputSchema,
  MonitorPatchSchema,
  MonitorSchema,
  ScheduleSchema,
} from '../../monitor/model.js';

/**
 * Response shapes of the monitors API, for the OpenAPI document (src/web/openapi.ts) and
 * the tests that validate real responses against it. Requests are MonitorInputSchema and
 * MonitorPatchSchema from src/monitor/model.ts.
 */
export { MonitorInputSchema, MonitorPatchSchema };

const Verdict = z.enum(['pass', 'warn', 'fail']);

export const LastRunSchema = z.object({
  runId: z.string(),
  at: z.string(),
  verdict: Verdict,
  counts: CountsSchema,
  complete: z.boolean(),
  certDays: z.number().optional().describe('Days until the earliest MX certificate expires'),
  trend: z.string().describe('Verdicts of the last runs, oldest first: p(ass), w(arn), f(ail)'),
});

export const MonitorLinksSchema = z.object({
  self: z.string(),
  html: z.string(),
  runs: z.string(),
});

const PublicDestinationSchema = z.object({ id: z.string(), type: z.string() });

export const MonitorResponseSchema = MonitorSchema.extend({
  destinations: z
    .array(z.union([MonitorSchema.shape.destinations.element, PublicDestinationSchema]))
    .describe('In full (with webhook secrets) for the admin token; id and type only otherwise'),
  schedule: ScheduleSchema,
  scheduleText: z.string(),
  lastRun: LastRunSchema.optional(),
  nextRunAt: z.string().optional().describe('When the job scheduler runs it next (absent when paused)'),
  links: MonitorLinksSchema,
}).describe('A monitor with its last run and next run');

export const MonitorListSchema = z.object({ monitors: z.array(MonitorResponseSchema) });

export const RunChangesSchema = z.object({
  previousRunId: z.string(),
  count: z.number().int(),
  texts: z.array(z.string()).describe('What changed since the previous run, most telling first'),
});

export const RunRecordSchema = z.object({
  runId: z.string(),
  monitorId: z.string(),
  jobId: z.string(),
  trigger: z.enum(['schedule', 'manual', 'initial']),
  scheduledAt: z.string().optional(),
  at: z.string(),
  finishedAt: z.string(),
  durationMs: z.number(),
  verdict: Verdict,
  complete: z.boolean(),
  counts: CountsSchema,
  certDays: z.number().optional(),
  evaluated: z.boolean().describe('false when a later run had already been evaluated'),
  changes: RunChangesSchema.optional(),
  alerts: z.array(z.string()).describe('Keys of the alerts this run raised'),
});

export const RunListSchema = z.object({
  monitorId: z.string(),
  runs: z.array(RunRecordSchema).describe('Newest first'),
  next: z.string().optional().describe('Pass as ?before= for older runs'),
});

export const AlertRecordSchema = z.object({
  key: z.string().describe('Dedupe key: monitor|run|rule|subject|kind'),
  rule: z.enum(RULE_IDS),
  subject: z.string(),
  label: z.string(),
  kind: z.enum(['problem', 'changed', 'recovered', 'unknown']),
  level: z.enum(['info', 'warn', 'fail']),
  title: z.string(),
  text: z.string(),
  from: z.string().nullable(),
  to: z.string().nullable(),
  at: z.string(),
  runId: z.string(),
  destinations: z.array(z.string()),
  deliveryIds: z.record(z.string(), z.string()),
});

export const DeliveryRecordSchema = z.object({
  deliveryId: z.string(),
  destinationId: z.string(),
  type: z.enum(['email', 'webhook']),
  target: z.string(),
  runId: z.string().optional(),
  test: z.boolean(),
  alerts: z.number().int(),
  title: z.string(),
  status: z.enum(['sent', 'retrying', 'failed', 'skipped']),
  attempt: z.number().int(),
  attempts: z.number().int(),
  detail: z.string().optional(),
  at: z.string(),
});

export const MonitorDetailSchema = MonitorResponseSchema.extend({
  recentAlerts: z.array(AlertRecordSchema).describe('Recent alerts, newest first'),
  deliveries: z
    .array(DeliveryRecordSchema)
    .optional()
    .describe('Recent delivery attempts, newest first (admin token only)'),
  runCount: z.number().int(),
});

export function runDetailSchema(reportSchema: z.ZodType) {
  return z.object({
    run: RunRecordSchema,
    report: reportSchema,
    previousRunId: z.string().optional(),
    nextRunId: z.string().optional(),
  });
}

const FindingChangeSchema = z.object({
  key: z.string(),
  id: z.string(),
  title: z.string(),
  from: z.enum(['pass', 'warn', 'fail', 'info', 'error']),
  to: z.enum(['pass', 'warn', 'fail', 'info', 'error']),
  summary: z.string(),
});

export const RunDiffSchema = z.object({
  from: z.object({ reportId: z.string(), at: z.string(), verdict: z.string() }),
  to: z.object({ reportId: z.string(), at: z.string(), verdict: z.string() }),
  appeared: z.array(FindingRefSchema),
  disappeared: z.array(FindingRefSchema),
  changed: z.array(FindingChangeSchema),
  facts: z.array(
    z.object({
      fact: z.enum([
        'verdict',
        'mx',
        'addresses',
        'starttls',
        'certificate',
        'tlsa',
        'mta_sts',
        'spf',
        'dmarc',
        'dnsbl',
      ]),
      subject: z.string().optional(),
      from: z.unknown(),
      to: z.unknown(),
      text: z.string(),
    }),
  ),
  same: z.boolean(),
});

export const RunQueuedSchema = z.object({
  jobId: z.string(),
  runId: z.string().describe('The id the run will have; GET its link until it answers 200'),
  links: z.object({ run: z.string() }),
});

export const TestQueuedSchema = z.object({ deliveryId: z.string() });
