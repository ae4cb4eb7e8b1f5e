import { z } from 'zod';
import { CheckOptionsSchema } from '../../report/model.js';

/**
 * The API's request and response shapes, as zod schemas. The same schemas validate
 * requests (API and web form), and generate the OpenAPI document (src/web/openapi.ts),
 * which the tests check real responses against.
 */

export const CheckStateSchema = z
  .enum(['queued', 'active', 'completed', 'failed'])
  .describe(
    'queued: waiting for a worker; active: running; completed: the report is ready; failed: the check could not be run (see error)',
  );

export const LinksSchema = z.object({
  self: z.string().describe('This check in the API'),
  html: z.string().describe('The check’s web page'),
  report: z.string().optional().describe('The report as a JSON download (when completed)'),
});

export const ProgressSchema = z.object({
  step: z.string().describe('Machine-readable step, e.g. "mx", "smtp", "done"'),
  message: z.string().describe('Human text, e.g. "MX 2 of 3: mx2.example.com"'),
  percent: z.number().min(0).max(100),
  index: z.number().int().optional(),
  total: z.number().int().optional(),
});

export const CheckAcceptedSchema = z.object({
  id: z.string(),
  status: CheckStateSchema,
  deduplicated: z
    .boolean()
    .describe('true when an identical check that is running or just finished was reused'),
  links: LinksSchema,
});

export const ErrorCodeSchema = z.enum([
  'invalid_request',
  'invalid_json',
  'unauthorized',
  'forbidden',
  'not_found',
  'method_not_allowed',
  'payload_too_large',
  'unsupported_media_type',
  'rate_limited',
  'unavailable',
  'internal',
]);
export type ErrorCode = z.infer<typeof ErrorCodeSchema>;

export const ErrorSchema = z.object({
  error: z.object({
    code: ErrorCodeSchema,
    message: z.string().describe('What was wrong and what is accepted'),
    field: z.string().optional().describe('The request field at fault, e.g. "domain" or "verify[1]"'),
  }),
});

export const ReportMetaSchema = z.object({
  id: z.string(),
  domain: z.object({ ascii: z.string(), unicode: z.string() }),
  verdict: z.enum(['pass', 'warn', 'fail']),
  complete: z.boolean(),
  counts: z.object({
    pass: z.number(),
    warn: z.number(),
    fail: z.number(),
    info: z.number(),
    error: z.number(),
  }),
  startedAt: z.string(),
  finishedAt: z.string(),
  durationMs: z.number(),
  options: CheckOptionsSchema,
  links: LinksSchema,
});

export const DomainChecksSchema = z.object({
  domain: z.object({ ascii: z.string(), unicode: z.string() }),
  checks: z.array(ReportMetaSchema).describe('Recent reports, newest first'),
});

/** The check-status response; `report` is the full report once completed. */
export function checkStatusSchema(reportSchema: z.ZodType) {
  return z.object({
    id: z.string(),
    status: CheckStateSchema,
    domain: z.object({ input: z.string(), ascii: z.string(), unicode: z.string() }),
    options: CheckOptionsSchema,
    submittedAt: z.string().optional(),
    progress: ProgressSchema.optional(),
    error: z.string().optional().describe('Why the check failed (status failed)'),
    report: reportSchema.optional(),
    links: LinksSchema,
  });
}
