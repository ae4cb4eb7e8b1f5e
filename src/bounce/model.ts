import { z } from 'zod';
import { BOUNCE_SCHEMA_VERSION } from './schema-version.js';

/**
 * The bounce diagnosis: plain JSON described by zod, from which docs/bounce.schema.json is
 * generated. The shape is public API (CLI --json, later the HTTP API): add optional fields,
 * never rename or remove one without bumping BOUNCE_SCHEMA_VERSION (schema-version.ts). The
 * parser imports only types from here.
 */
export { BOUNCE_SCHEMA_VERSION };

/** The fixed reason taxonomy; docs/bounces.md explains each one. */
export const REASONS = [
  'user_unknown',
  'host_unknown',
  'has_moved',
  'not_accept',
  'mailbox_full',
  'suspended',
  'exceed_limit',
  'blocked',
  'bad_reputation',
  'require_ptr',
  'rejected',
  'auth_failure',
  'tls_required',
  'relaying_denied',
  'policy_violation',
  'security_error',
  'spam_detected',
  'virus_detected',
  'content_error',
  'not_compliant_rfc',
  'filtered',
  'suppressed',
  'message_too_large',
  'rate_limited',
  'expired',
  'network_error',
  'system_error',
  'system_full',
  'mailer_error',
  'syntax_error',
  'unknown',
  'delivered',
  'vacation',
  'feedback',
] as const;
export const ReasonSchema = z
  .enum(REASONS)
  .describe('Why delivery failed, from the fixed taxonomy (docs/bounces.md)');
export type Reason = z.infer<typeof ReasonSchema>;

export const SIDES = [
  'sender_configuration',
  'sender_reputation',
  'recipient_address',
  'recipient_server',
  'network',
  'none',
] as const;
export const SideSchema = z
  .enum(SIDES)
  .describe(
    'Whose side the problem is on: the sender’s configuration (DNS, authentication, MTA), the sender’s reputation, the recipient’s address, the recipient’s server, the network between them, or none (not a failure)',
  );
export type Side = z.infer<typeof SideSchema>;

export const KINDS = ['dsn', 'ndr', 'smtp-reply', 'auto-reply', 'feedback'] as const;
export const KindSchema = z
  .enum(KINDS)
  .describe(
    'dsn: an RFC 3464 delivery status notification; ndr: a human-readable non-delivery report; smtp-reply: a bare SMTP reply; auto-reply: an RFC 3834 automatic reply (vacation); feedback: an ARF/feedback-loop complaint report',
  );
export type Kind = z.infer<typeof KindSchema>;

export const ACTIONS = ['failed', 'delayed', 'delivered', 'relayed', 'expanded'] as const;

export const VERDICTS = ['confirmed', 'not_confirmed', 'could_not_test'] as const;
export const FollowupSchema = z.object({
  id: z.string().describe('Stable follow-up ID, e.g. "recipient_domain", "sending_ip_ptr"'),
  title: z.string().describe('What was checked, e.g. "MX records of example.com"'),
  target: z.string().describe('The domain, address or IP the follow-up looked at'),
  verdict: z
    .enum(VERDICTS)
    .describe(
      'confirmed: the check found the cause the bounce states; not_confirmed: it did not (the problem may be fixed, intermittent or elsewhere); could_not_test: the check could not be run or was inconclusive',
    ),
  summary: z.string().describe('One sentence, e.g. "confirmed: example.com does not exist (NXDOMAIN)"'),
  details: z.record(z.string(), z.unknown()).describe('Machine-readable facts behind the verdict'),
});
export type Followup = z.infer<typeof FollowupSchema>;

export const ExplanationSchema = z.object({
  summary: z.string().describe('What happened, in one sentence'),
  side: SideSchema,
  nextSteps: z.array(z.string()).describe('Concrete things to do, most useful first'),
  hardNote: z.string().describe('Why this record is hard or soft, in plain words'),
});
export type Explanation = z.infer<typeof ExplanationSchema>;

export const BounceRecordSchema = z.object({
  recipient: z
    .string()
    .nullable()
    .describe('The recipient this record is about (lower-cased domain), null when the bounce names none'),
  originalRecipient: z
    .string()
    .nullable()
    .describe('The address as originally given (RFC 3464 Original-Recipient, Postfix "expanded from")'),
  action: z
    .enum(ACTIONS)
    .nullable()
    .describe(
      'RFC 3464 Action: failed, delayed, delivered, relayed or expanded; null for auto-replies and feedback',
    ),
  status: z
    .string()
    .nullable()
    .describe(
      'Enhanced status code (RFC 3463), e.g. "5.1.1"; derived from the reply text or basic code when the bounce states none',
    ),
  statusSource: z
    .enum(['dsn', 'reply', 'derived', 'none'])
    .describe('Where status came from: the DSN Status field, the quoted reply, derived by mxdoctor, or none'),
  replyCode: z
    .number()
    .int()
    .nullable()
    .describe('The SMTP reply code (RFC 5321), e.g. 550; null when the bounce quotes none'),
  smtpCommand: z
    .string()
    .nullable()
    .describe(
      'The SMTP stage the remote server refused at: CONNECT, HELO, MAIL, RCPT, DATA; null when unknown',
    ),
  reason: ReasonSchema,
  hard: z
    .boolean()
    .describe(
      'The address itself will never accept mail (user_unknown, host_unknown, has_moved, permanent not_accept): remove it from lists',
    ),
  permanent: z
    .boolean()
    .describe('The failure is final: a 5xx reply or 5.x.x status, or the sending MTA gave up'),
  remoteMta: z.string().nullable().describe('The server that refused, e.g. "mx.example.com [192.0.2.1]"'),
  reportingMta: z.string().nullable().describe('The MTA that wrote the bounce (RFC 3464 Reporting-MTA)'),
  clientIp: z
    .string()
    .nullable()
    .describe(
      'The sending IP address the refusal itself names ("Client host [192.0.2.1] blocked …"), when it names one',
    ),
  diagnostic: z.string().describe('The remote server’s reply or the MTA’s reason, whitespace-normalised'),
  confidence: z
    .number()
    .min(0)
    .max(1)
    .describe('How sure the classification is, 0–1: lower when the evidence is thin or points two ways'),
  runnerUp: ReasonSchema.nullable()
    .optional()
    .describe(
      'The strongest other reason the evidence supports (null when none): what the record might be instead',
    ),
  matched: z
    .array(z.string())
    .describe('IDs of the status codes and patterns the classification rests on, strongest first'),
  lastAttemptDate: z.string().nullable().describe('RFC 3464 Last-Attempt-Date, as given'),
  willRetryUntil: z.string().nullable().describe('RFC 3464 Will-Retry-Until, as given (delay notices)'),
  explanation: ExplanationSchema,
  followups: z
    .array(FollowupSchema)
    .describe('Follow-up checks run to confirm the cause (empty with --no-followup)'),
  messageIndex: z
    .number()
    .int()
    .min(0)
    .optional()
    .describe('For an mbox of several bounces: which message this record came from (index into `originals`)'),
});
export type BounceRecord = z.infer<typeof BounceRecordSchema>;

export const ReceivedHopSchema = z.object({
  from: z.string().nullable().describe('The host name the sender gave or that was looked up'),
  ip: z.string().nullable().describe('The connecting IP address'),
  by: z.string().nullable().describe('The host that received'),
});
export type ReceivedHop = z.infer<typeof ReceivedHopSchema>;

export const DkimSignatureRefSchema = z.object({
  domain: z.string().describe('The signing domain (d=)'),
  selector: z.string().describe('The key selector (s=): the key is published at <s>._domainkey.<d>'),
  algorithm: z.string().nullable().describe('The signing algorithm (a=), e.g. "rsa-sha256"'),
});
export type DkimSignatureRef = z.infer<typeof DkimSignatureRefSchema>;

export const HeaderLineSchema = z.object({
  name: z.string().describe('Field name as written'),
  value: z.string().describe('Unfolded value (RFC 2047 words decoded), truncated when very long'),
});
export type HeaderLine = z.infer<typeof HeaderLineSchema>;

export const OriginalSchema = z.object({
  from: z.string().nullable().describe('From of the original message'),
  sender: z
    .string()
    .nullable()
    .describe('Envelope sender (Return-Path, X-Postfix-Sender) of the original message'),
  to: z.array(z.string()).describe('To of the original message'),
  subject: z.string().nullable(),
  messageId: z.string().nullable(),
  date: z
    .string()
    .nullable()
    .describe('Date of the original message (ISO 8601 when it parses, else as given)'),
  sendingIp: z
    .string()
    .nullable()
    .describe('Public IP address that handed the message to the outside world, from the Received chain'),
  sendingHost: z.string().nullable().describe('Host name of that hop, when known'),
  received: z.array(ReceivedHopSchema).describe('The Received chain, newest first'),
  headersIncluded: z.boolean().describe('Whether the bounce returned the original message or its headers'),
  dkimSignatures: z
    .array(DkimSignatureRefSchema)
    .optional()
    .describe('The DKIM-Signature headers of the returned message (domain and selector of each)'),
  headers: z
    .array(HeaderLineSchema)
    .optional()
    .describe('The returned message’s header fields, in order (at most 200)'),
});
export type Original = z.infer<typeof OriginalSchema>;

export const ReporterSchema = z.object({
  from: z.string().nullable().describe('From of the bounce itself'),
  subject: z.string().nullable().describe('Subject of the bounce itself'),
  date: z.string().nullable(),
  reportingMta: z.string().nullable(),
  arrivalDate: z.string().nullable().describe('RFC 3464 Arrival-Date'),
});

export const DiagnosisSchema = z
  .object({
    schemaVersion: z.literal(BOUNCE_SCHEMA_VERSION),
    kind: KindSchema,
    bounces: z
      .array(BounceRecordSchema)
      .describe('One record per recipient, in the order the bounce lists them'),
    original: OriginalSchema,
    originals: z
      .array(OriginalSchema)
      .optional()
      .describe('For an mbox of several bounces: the original message of each (`original` is the first)'),
    reporter: ReporterSchema.describe('The bounce message itself'),
    warnings: z
      .array(z.string())
      .describe('Problems met while reading the input (broken MIME, unknown charset…)'),
  })
  .describe('mxdoctor bounce diagnosis');
export type Diagnosis = z.infer<typeof DiagnosisSchema>;

/** The published JSON Schema (draft 2020-12) of a diagnosis. */
export function bounceJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(DiagnosisSchema, { target: 'draft-2020-12', unrepresentable: 'any' });
  return {
    $id: 'https://github.com/mxdoctor/mxdoctor/docs/bounce.schema.json',
    title: 'mxdoctor bounce diagnosis',
    ...schema,
  };
}
