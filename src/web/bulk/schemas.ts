import { z } from 'zod';
import { AuthReportSchema } from '../../auth/model.js';
import { VerificationSchema } from '../../verify/model.js';

/**
 * Requests and responses of the bulk API — batches of domain checks, address verifications,
 * message authentication — as zod schemas: they validate requests and generate the OpenAPI
 * document (src/web/bulk/openapi.ts).
 */

const Webhook = z
  .string()
  .max(2048)
  .regex(/^https?:\/\/[^\s]+$/i, 'an http:// or https:// URL')
  .describe('POSTed a JSON summary when the batch completes (signed with MXDOCTOR_SECRET when set)');

export const BatchRequestSchema = z
  .object({
    domains: z
      .array(z.string().max(1024))
      .min(1)
      .describe('Domains (or addresses: their domain is checked), one per entry'),
    options: z
      .object({
        smtp: z.boolean().optional().describe('Contact the MX hosts over SMTP (default true)'),
        dkimSelectors: z.array(z.string().max(63)).max(10).optional(),
      })
      .strict()
      .optional(),
    webhook: Webhook.optional(),
  })
  .strict()
  .describe('A batch as JSON; a text/plain or text/csv body (one domain a line) works too, with ?webhook=');
export type BatchRequest = z.infer<typeof BatchRequestSchema>;

const InvalidLine = z.object({ line: z.number().int(), text: z.string(), error: z.string() });

export const BatchAcceptedSchema = z.object({
  id: z.string(),
  status: z.literal('running'),
  total: z.number().int(),
  invalid: z.array(InvalidLine).describe('Entries that are not domains (left out; the others run)'),
  duplicates: z.array(z.object({ line: z.number().int(), text: z.string(), of: z.number().int() })),
  links: z.object({ self: z.string(), html: z.string(), jsonl: z.string(), csv: z.string() }),
});

const BulkRowSchema = z.object({
  line: z.number().int().optional(),
  domain: z.string(),
  verdict: z.enum(['pass', 'warn', 'fail', 'error']),
  score: z.number().int().nullable(),
  counts: z.object({
    fail: z.number().int(),
    warn: z.number().int(),
    error: z.number().int(),
    info: z.number().int(),
    pass: z.number().int(),
  }),
  complete: z.boolean(),
  areas: z.record(z.string(), z.number().int().nullable()),
  problem: z.string().optional(),
  error: z.string().optional(),
});

export const BatchStatusSchema = z.object({
  id: z.string(),
  state: z.enum(['running', 'completed']),
  createdAt: z.string(),
  completedAt: z.string().optional(),
  total: z.number().int(),
  done: z.number().int(),
  counts: z.object({
    pass: z.number().int(),
    warn: z.number().int(),
    fail: z.number().int(),
    error: z.number().int(),
  }),
  options: z.record(z.string(), z.unknown()),
  webhook: z.string().optional(),
  areas: z.array(z.string()),
  items: z.array(
    z.object({
      index: z.number().int(),
      line: z.number().int().optional(),
      domain: z.string(),
      checkId: z.string().describe('Its check: GET /api/v1/checks/{checkId}'),
      state: z.enum(['pending', 'done', 'failed']),
      row: BulkRowSchema.optional(),
    }),
  ),
  links: z.object({ self: z.string(), html: z.string(), jsonl: z.string(), csv: z.string() }),
});

export const VerificationRequestSchema = z
  .object({ addresses: z.array(z.string().max(1024)).min(1) })
  .strict()
  .describe('Addresses to verify; a text/plain body (one address a line) works too');

export const VerificationAcceptedSchema = z.object({
  id: z.string(),
  status: z.enum(['queued', 'active', 'completed', 'failed']),
  total: z.number().int(),
  links: z.object({ self: z.string() }),
});

export const VerificationStatusSchema = z.object({
  id: z.string(),
  status: z.enum(['queued', 'active', 'completed', 'failed']),
  submittedAt: z.string(),
  total: z.number().int(),
  result: VerificationSchema.optional(),
  retry: z
    .object({ scheduledAt: z.string(), addresses: z.array(z.string()) })
    .optional()
    .describe('Greylisted addresses the service will ask again, and when'),
  error: z.string().optional(),
});

export const AuthenticationRequestSchema = z
  .object({
    message: z.string().min(1).describe('The whole message as received: headers and body'),
    ip: z.string().max(64).optional(),
    mailFrom: z.string().max(512).optional(),
    helo: z.string().max(255).optional(),
  })
  .strict()
  .describe('A message as JSON; a message/rfc822 or text/plain body works too, with ?ip=&mailFrom=&helo=');

export { AuthReportSchema, VerificationSchema };
