import { z } from 'zod';
import { DiagnosisSchema } from '../../bounce/model.js';
import { BounceInputErrorSchema, BounceOptionsSchema } from '../../store/diagnoses.js';
import type { BounceOptions } from '../../store/diagnoses.js';
import { ProgressSchema } from '../checks/schemas.js';
import type { FieldError } from '../../input/check-request.js';

/**
 * The bounce API's request and response shapes, as zod schemas: they validate requests and
 * generate the OpenAPI document (src/web/openapi.ts), which tests check real responses
 * against.
 */

export const BounceRequestSchema = z
  .object({
    message: z
      .string()
      .describe(
        'The bounce: a whole message (RFC 5322, any MTA’s non-delivery report or RFC 3464 DSN, an mbox), its text, or a bare SMTP reply',
      ),
    followups: z
      .boolean()
      .optional()
      .describe('Run the follow-up checks that confirm the cause (default true)'),
    smtp: z
      .boolean()
      .optional()
      .describe('Let follow-ups connect to mail servers: RCPT probe, connectivity, STARTTLS (default true)'),
  })
  .strict()
  .describe(
    'A bounce to diagnose. The body may instead be the message itself, as message/rfc822 or text/plain, with followups and smtp as query parameters.',
  );

export const BounceStateSchema = z
  .enum(['queued', 'active', 'completed', 'rejected', 'failed'])
  .describe(
    'queued: waiting for a worker; active: being diagnosed; completed: the diagnosis is ready; rejected: the input is not a usable bounce (see error); failed: the service could not run the diagnosis (see error)',
  );

export const BounceLinksSchema = z.object({
  self: z.string().describe('This diagnosis in the API'),
  html: z.string().describe('Its web page'),
  json: z.string().optional().describe('The diagnosis as a JSON download (when completed)'),
});

export const BounceAcceptedSchema = z.object({
  id: z.string(),
  status: BounceStateSchema,
  links: BounceLinksSchema,
});

export const BounceStatusSchema = z.object({
  id: z.string(),
  status: BounceStateSchema,
  submittedAt: z.string().optional(),
  finishedAt: z.string().optional(),
  durationMs: z.number().optional().describe('From the start of the diagnosis to its result'),
  options: BounceOptionsSchema.optional(),
  progress: ProgressSchema.optional(),
  error: z.string().optional().describe('Why the input was rejected or the diagnosis failed'),
  errorCode: BounceInputErrorSchema.shape.code.optional().describe('For rejected input: what was wrong'),
  diagnosis: DiagnosisSchema.optional().describe('The diagnosis (docs/bounce.schema.json), when completed'),
  links: BounceLinksSchema,
});

export type ParsedBounceRequest =
  { ok: true; message: string; options: BounceOptions } | { ok: false; errors: FieldError[] };

/** Validates a JSON bounce request; every problem is reported with its field and what is accepted. */
export function parseBounceRequest(input: unknown): ParsedBounceRequest {
  const parsed = BounceRequestSchema.safeParse(input);
  if (parsed.success) {
    return {
      ok: true,
      message: parsed.data.message,
      options: { followups: parsed.data.followups ?? true, smtp: parsed.data.smtp ?? true },
    };
  }
  return {
    ok: false,
    errors: parsed.error.issues.map((issue) => {
      const field = issue.path.map(String).join('.') || 'body';
      if (issue.code === 'unrecognized_keys') {
        return {
          field: issue.keys[0] ?? 'body',
          message: `Unknown field ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}; accepted: message, followups, smtp.`,
        };
      }
      if (issue.path.length === 0) {
        return {
          field: 'body',
          message:
            'The body must be a JSON object such as {"message": "550 5.1.1 <user@example.com>: User unknown"}.',
        };
      }
      if (field === 'message') {
        return {
          field,
          message:
            'message is required: the bounce as a string (the whole message, its text, or an SMTP reply).',
        };
      }
      return { field, message: `${field} must be true or false.` };
    }),
  };
}

/** Options from query parameters (for raw message bodies): followups, smtp = true|false|1|0. */
export function parseBounceQuery(
  query: Record<string, unknown>,
): { ok: true; options: BounceOptions } | { ok: false; error: FieldError } {
  const options: BounceOptions = { followups: true, smtp: true };
  for (const [key, value] of Object.entries(query)) {
    if (key !== 'followups' && key !== 'smtp') {
      return {
        ok: false,
        error: {
          field: key,
          message: `Unknown query parameter ${JSON.stringify(key)}; accepted: followups, smtp.`,
        },
      };
    }
    if (typeof value !== 'string' || !/^(true|false|1|0)$/.test(value)) {
      return { ok: false, error: { field: key, message: `${key} must be true or false.` } };
    }
    options[key] = value === 'true' || value === '1';
  }
  return { ok: true, options };
}
