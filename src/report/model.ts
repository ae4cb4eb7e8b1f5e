import { z } from 'zod';
import { DNS_RCODES } from './rcodes.js';
import { DEFAULT_CHECK_OPTIONS as DEFAULTS } from './check-options.js';
import { TimelineSchema } from './timeline.js';

/**
 * The report: plain JSON, versioned, described by zod schemas from which the published JSON
 * Schema (docs/report.schema.json) is generated. Bump SCHEMA_VERSION on any change that
 * removes or renames a field or changes its meaning; adding optional fields does not.
 */
export const SCHEMA_VERSION = 1;

export const STATUSES = ['pass', 'warn', 'fail', 'info', 'error'] as const;
export const StatusSchema = z
  .enum(STATUSES)
  .describe(
    'pass: as it should be; warn: weakens delivery or security; fail: breaks delivery or is clearly wrong; info: a neutral fact; error: could not be determined (never a failure of the domain)',
  );
export type Status = z.infer<typeof StatusSchema>;

/** Finding IDs are dotted snake_case names, e.g. "mx.ip_literal", "tls.certificate.expiry". */
export const FINDING_ID = /^[a-z0-9_]+(\.[a-z0-9_]+)+$/;

export const SubjectSchema = z
  .object({
    host: z.string().optional().describe('MX host (or other host) the finding is about'),
    address: z.string().optional().describe('IP address the finding is about'),
    name: z.string().optional().describe('DNS name, email address or selector the finding is about'),
  })
  .describe('What the finding is about, when it is about one MX host, address or name');
export type Subject = z.infer<typeof SubjectSchema>;

export const FindingSchema = z.object({
  id: z.string().regex(FINDING_ID).describe('Stable finding ID; see docs/checks.md'),
  status: StatusSchema,
  title: z.string().describe('Short name of what was checked'),
  summary: z.string().describe('What was found, in plain words, quoting the exact value at fault'),
  details: z.record(z.string(), z.unknown()).describe('Machine-readable facts behind the finding'),
  remedy: z.string().optional().describe('How to fix it (present for warn and fail)'),
  subject: SubjectSchema.optional(),
  check: z.string().describe('Name of the check that produced the finding'),
});
export type Finding = z.infer<typeof FindingSchema>;

export const DnsLogEntrySchema = z.object({
  name: z.string(),
  type: z.string(),
  server: z.string(),
  transport: z.enum(['udp', 'tcp']),
  rcode: z.enum(DNS_RCODES),
  answers: z.number().int(),
  ad: z.boolean(),
  ra: z
    .boolean()
    .optional()
    .describe('Recursion available: false when the server is authoritative-only (absent without an answer)'),
  truncated: z.boolean(),
  ms: z.number(),
  atMs: z.number(),
  error: z.string().optional(),
});

export const AddressSchema = z.object({
  address: z.string(),
  family: z.union([z.literal(4), z.literal(6)]),
  category: z
    .string()
    .describe('"public", or the special-purpose range it falls in (private, loopback, documentation…)'),
});
export type MxAddress = z.infer<typeof AddressSchema>;

export const MxHostSchema = z.object({
  name: z.string().describe('Host name (ASCII, lower case, no trailing dot)'),
  preference: z.number().int(),
  implicit: z.boolean().describe('No MX record: the domain itself is used (RFC 5321 §5.1)'),
  ipLiteral: z.boolean().describe('The MX target is an IP address written as a name'),
  cnameChain: z.array(z.string()).describe('CNAMEs followed from the MX target to its addresses'),
  addresses: z.array(AddressSchema),
  lookup: z
    .object({ a: z.string(), aaaa: z.string() })
    .describe('Outcome (rcode) of the A and AAAA lookups of this host'),
});
export type MxHost = z.infer<typeof MxHostSchema>;

export const MxSetSchema = z.object({
  kind: z
    .enum(['mx', 'implicit', 'null', 'none', 'nxdomain', 'error'])
    .describe(
      'mx: MX records; implicit: no MX, the domain A/AAAA is used; null: RFC 7505 null MX; none: no MX and no address; nxdomain: domain does not exist; error: could not be determined',
    ),
  hosts: z.array(MxHostSchema).describe('MX hosts in preference order'),
  ttl: z.number().optional(),
});
export type MxSet = z.infer<typeof MxSetSchema>;

export const DomainSchema = z.object({
  input: z.string().describe('What was asked, verbatim'),
  ascii: z.string().describe('Normalised domain in ASCII (punycode)'),
  unicode: z.string().describe('Normalised domain in Unicode'),
});

export const CountsSchema = z.object({
  pass: z.number().int(),
  warn: z.number().int(),
  fail: z.number().int(),
  info: z.number().int(),
  error: z.number().int(),
});

/** Version of the scoring method of report/grade.ts (docs/score.md). */
export const SCORE_METHOD = 'mxdoctor-score-1';

export const AreaScoreSchema = z.object({
  area: z.string().describe('Area of the report (the groups of the terminal and web reports)'),
  weight: z.number().describe('Weight of the area in the total'),
  score: z
    .number()
    .int()
    .min(0)
    .max(100)
    .nullable()
    .describe('0–100, or null when no finding of the area could be counted (only info or error)'),
  counted: z.number().int().describe('Findings counted (pass, warn, fail)'),
  notCounted: z.number().int().describe('Findings left out: info (neutral) and error (could not test)'),
});
export type AreaScore = z.infer<typeof AreaScoreSchema>;

export const ScoreSchema = z
  .object({
    value: z
      .number()
      .int()
      .min(0)
      .max(100)
      .nullable()
      .describe('0–100; null when nothing could be counted (every finding info or error)'),
    method: z.string().describe('Version of the scoring method (docs/score.md)'),
    areas: z.array(AreaScoreSchema),
  })
  .describe(
    'A 0–100 score with a breakdown per area (docs/score.md); "could not test" (error) and info never count against the domain',
  );
export type Score = z.infer<typeof ScoreSchema>;

/** Options a check was run with (recorded in the report, and part of a job's identity). */
export const CheckOptionsSchema = z.object({
  verify: z.array(z.string()).describe('Addresses whose delivery was verified by RCPT TO'),
  dkimSelectors: z.array(z.string()).describe('DKIM selectors asked for in addition to the built-in list'),
  smtp: z.boolean().describe('Whether MX hosts were contacted over SMTP'),
  greylistRetryMs: z.number().int().describe('Delay before re-trying greylisted recipients; 0 = no retry'),
  dnsbls: z.array(z.string()).optional().describe('DNSBL zones to query instead of the default list'),
  tls: z
    .enum(['light', 'deep'])
    .optional()
    .describe(
      'deep: scan every MX address for cipher suites, key exchange and more (tls_deep check); absent: light',
    ),
  submission: z
    .boolean()
    .optional()
    .describe(
      'Probe the submission ports even without RFC 6186 SRV records (they are probed when published)',
    ),
});
export type CheckOptions = z.infer<typeof CheckOptionsSchema>;

export const DEFAULT_CHECK_OPTIONS: CheckOptions = DEFAULTS;

/** Builds the report schema; `data` holds each check's own output, keyed by check name. */
export function buildReportSchema(dataShape: Record<string, z.ZodType>) {
  return z
    .object({
      schemaVersion: z.literal(SCHEMA_VERSION),
      tool: z.object({ name: z.literal('mxdoctor'), version: z.string() }),
      domain: DomainSchema,
      startedAt: z.string().describe('ISO 8601'),
      finishedAt: z.string().describe('ISO 8601'),
      durationMs: z.number(),
      verdict: z
        .enum(['pass', 'warn', 'fail'])
        .describe('fail if any finding failed, else warn if any warned, else pass'),
      complete: z.boolean().describe('false when some finding is "error" (could not be determined)'),
      counts: CountsSchema,
      score: ScoreSchema.optional(),
      options: CheckOptionsSchema,
      resolvers: z.array(z.string()).describe('DNS resolvers used, ip:port'),
      mx: MxSetSchema,
      checks: z.array(FindingSchema).describe('Findings, in check order'),
      data: z
        .object(Object.fromEntries(Object.entries(dataShape).map(([k, v]) => [k, v.optional()])))
        .describe('Per-check details (transcripts, parsed records…), keyed by check name'),
      dnsLog: z.array(DnsLogEntrySchema).describe('Every DNS query sent on the wire during the check'),
      timeline: TimelineSchema.optional().describe(
        'Where the time went: every DNS query, SMTP session phase and HTTPS fetch step, in ms since the check started (absent in reports made before it existed)',
      ),
    })
    .describe('mxdoctor domain check report');
}

export type ReportBase = z.infer<ReturnType<typeof buildReportSchema>>;
export type Report = Omit<ReportBase, 'data'> & { data: Record<string, unknown> };
