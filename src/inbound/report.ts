import { z } from 'zod';
import { AuthReportSchema } from '../auth/model.js';
import { defineFindings } from '../checks/findings.js';
import type { FindingSpec } from '../checks/types.js';
import { CountsSchema, DnsLogEntrySchema, FindingSchema, ScoreSchema } from '../report/model.js';
import { CONNECTION, ConnectionDnsSchema } from './connection-checks.js';
import { MESSAGE, MessageSummarySchema } from './message-checks.js';
import { ConnectionFactsSchema, EnvelopeSchema } from './model.js';
import { REPUTATION, ReputationDataSchema } from './reputation.js';
import { SPAM, SpamDataSchema } from './spamd.js';

/**
 * The inbound test's report: what a receiver saw of one message — the connection, the
 * envelope, authentication (src/auth), reputation, the message and a spam filter's opinion —
 * with findings in the project's format (`inbound.*`, and the `auth.*` findings of the
 * message's authentication), a verdict, counts and a 0–100 score. Plain data, published as
 * docs/inbound.schema.json.
 */
export const INBOUND_SCHEMA_VERSION = 1;

export const LINK = defineFindings('inbound', {
  'inbound.domain_check': {
    title: 'Domain check of the From domain',
    statuses: ['info'],
    meaning:
      'The full domain check (MX, SPF, DKIM, DMARC, TLS, blocklists…) of the From domain, queued with the analysis in the service; a link to its report.',
  },
});

/** Every finding the inbound test declares, for docs/checks.md (its auth.* findings are the auth section's). */
export const INBOUND_SPECS: readonly FindingSpec[] = [
  ...CONNECTION.specs,
  ...REPUTATION.specs,
  ...MESSAGE.specs,
  ...SPAM.specs,
  ...LINK.specs,
];

export const InboundReportSchema = z
  .object({
    schemaVersion: z.literal(INBOUND_SCHEMA_VERSION),
    tool: z.object({ name: z.literal('mxdoctor'), version: z.string() }),
    test: z.object({
      id: z.string().optional().describe('The test (absent for `mxdoctor inbound`, which keeps nothing)'),
      address: z.string().describe('The one-time address the message was sent to'),
    }),
    receivedAt: z.string(),
    analysedAt: z.string(),
    durationMs: z.number().describe('Time the analysis took'),
    verdict: z
      .enum(['pass', 'warn', 'fail'])
      .describe('fail if any finding failed, else warn if any warned, else pass'),
    complete: z.boolean().describe('false when some finding is "error" (could not be determined)'),
    counts: CountsSchema,
    score: ScoreSchema,
    connection: ConnectionFactsSchema,
    connectionDns: ConnectionDnsSchema,
    envelope: EnvelopeSchema,
    message: MessageSummarySchema,
    authentication: AuthReportSchema.omit({ findings: true, verdict: true }).describe(
      'The message’s authentication (the same as `mxdoctor auth` reports), the envelope from the session',
    ),
    reputation: ReputationDataSchema,
    spam: SpamDataSchema.optional(),
    domainCheck: z
      .object({ domain: z.string(), id: z.string().optional(), url: z.string().optional() })
      .optional()
      .describe('The domain check of the From domain, when one was queued'),
    checks: z
      .array(FindingSchema)
      .describe('Findings, connection first, then authentication, reputation, message, spam'),
    resolvers: z.array(z.string()),
    dnsLog: z.array(DnsLogEntrySchema),
  })
  .describe('mxdoctor inbound test report');
export type InboundReport = z.infer<typeof InboundReportSchema>;

/** The published JSON Schema of the inbound report (docs/inbound.schema.json). */
export function inboundJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(InboundReportSchema, { target: 'draft-2020-12', unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
}
