import { z } from 'zod';
import { InboundReportSchema } from '../../inbound/report.js';
import { ProgressSchema } from '../checks/schemas.js';

/**
 * The inbound test API's response shapes, as zod schemas: they generate the OpenAPI document
 * (src/web/openapi.ts), which tests check real responses against. Creating a test takes no
 * request body.
 */
export const InboundStatusNameSchema = z
  .enum(['waiting', 'received', 'analysed', 'expired'])
  .describe(
    'waiting: the address waits for its message; received: the message is in and being analysed; analysed: the report is ready; expired: no message came before expiresAt',
  );

export const InboundLinksSchema = z.object({
  self: z.string().describe('This test in the API'),
  html: z.string().describe('Its web page'),
});

export const InboundTestCreatedSchema = z.object({
  id: z.string(),
  address: z.string().describe('The one-time address: send one message to it'),
  expiresAt: z.string().describe('Until when the address accepts the message (ISO 8601)'),
  links: InboundLinksSchema,
});

export const InboundSenderSchema = z
  .object({
    ip: z.string(),
    helo: z.string().optional(),
    mailFrom: z.string(),
    tls: z.string().optional().describe('TLS version used, absent for a plain-text delivery'),
    bytes: z.number().int(),
  })
  .describe('Who delivered the message, known as soon as it arrived');

export const InboundTestStatusSchema = z.object({
  id: z.string(),
  status: InboundStatusNameSchema,
  address: z.string(),
  createdAt: z.string(),
  expiresAt: z.string(),
  receivedAt: z.string().optional(),
  analysedAt: z.string().optional(),
  sender: InboundSenderSchema.optional(),
  progress: ProgressSchema.optional(),
  error: z.string().optional().describe('Why the analysis of a received message could not be made'),
  report: InboundReportSchema.optional().describe('The report (docs/inbound.schema.json), when analysed'),
  links: InboundLinksSchema,
});
