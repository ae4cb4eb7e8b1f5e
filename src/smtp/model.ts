import { z } from 'zod';
import { SessionSummarySchema } from './contract.js';
import { TlsObservationSchema } from '../tls/model.js';

/**
 * What one SMTP session saw, as plain data (the SMTP check's `data.smtp.sessions[]`). The
 * session runner (session.ts) fills it; the pure evaluation (smtp/evaluate.ts) reads
 * it. Schemas here are the published shape (docs/report.schema.json).
 */

export const ReplySchema = z.object({
  code: z.number().int(),
  enhanced: z.string().optional(),
  lines: z.array(z.string()),
  text: z.string(),
});

export const CapabilitiesSchema = z.object({
  keywords: z.array(z.string()),
  params: z.record(z.string(), z.string()),
  size: z.number().optional(),
  pipelining: z.boolean(),
  eightBitMime: z.boolean(),
  smtpUtf8: z.boolean(),
  starttls: z.boolean(),
  chunking: z.boolean(),
  dsn: z.boolean(),
  enhancedStatusCodes: z.boolean(),
  requireTls: z.boolean(),
  auth: z.array(z.string()),
});

export const TranscriptEntrySchema = z.object({
  atMs: z.number().describe('Milliseconds since the session started'),
  dir: z.enum(['C', 'S', '*']).describe('C: sent by mxdoctor; S: received; *: event (connect, TLS, close)'),
  line: z.string(),
});

const OUT_OF_STEP =
  'The server spoke out of turn before or while this reply was read, so which command it answers is in doubt; no verdict is drawn from it';

/**
 * Reply lines a server sent out of turn (RFC 5321 §4.2: exactly one reply per command, in
 * order). From the first of them on, the pairing of replies with commands is in doubt.
 */
export const OutOfStepSchema = z.object({
  atMs: z.number().describe('When the lines arrived, in milliseconds since the session started'),
  phase: z.string().describe('The phase they were found in: banner, ehlo, starttls, mail, rcpt, rset, quit'),
  where: z.string().describe('e.g. "after the greeting", "before STARTTLS", "inside the EHLO reply"'),
  kind: z
    .enum(['stray', 'unexpected'])
    .describe(
      'stray: lines that no command asked for (discarded); unexpected: a reply whose code cannot answer the command it came after, a sign that replies have shifted',
    ),
  lines: z.array(z.string()),
});
export type OutOfStep = z.infer<typeof OutOfStepSchema>;

export const RcptRoleSchema = z.enum(['postmaster', 'verify', 'random']);
export type RcptRole = z.infer<typeof RcptRoleSchema>;

export const VerdictSchema = z.enum([
  'deliverable',
  'undeliverable',
  'mailbox_full',
  'greylisted',
  'blocked_probe',
  'temporary',
  'unknown',
]);

export const RcptResultSchema = z.object({
  to: z.string(),
  role: RcptRoleSchema,
  reply: ReplySchema.optional().describe(
    'Absent when no reply came (timeout, connection lost, MAIL refused)',
  ),
  verdict: VerdictSchema,
  reason: z.string().describe('user_unknown, relay_denied, dnsbl, sender_rejected, mail_refused, timeout …'),
  /** Phase at which the answer was given: "rcpt", or "mail" when MAIL FROM was already refused. */
  at: z.enum(['rcpt', 'mail', 'none']),
  outOfStep: z.boolean().optional().describe(`${OUT_OF_STEP} (verdict "unknown", reason "out_of_step")`),
});
export type RcptResult = z.infer<typeof RcptResultSchema>;

export const TransactionTestSchema = z.object({
  from: z.string().describe('Envelope sender ("" is the null reverse-path <>)'),
  to: z.string(),
  mailReply: ReplySchema.optional(),
  rcptReply: ReplySchema.optional(),
  error: z.string().optional().describe('Why the test did not complete'),
  outOfStep: z.boolean().optional().describe(OUT_OF_STEP),
});
export type TransactionTest = z.infer<typeof TransactionTestSchema>;

export const HandshakeSchema = z.object({
  protocol: z.string(),
  cipher: z.string(),
  cipherStandardName: z.string().optional(),
  group: z.string().optional(),
  alpn: z.string().optional(),
  sessionTicket: z.boolean().describe('The server offered session resumption (ticket or session ID)'),
  ms: z.number(),
});

export const SessionErrorSchema = z.object({
  code: z.string().describe('ETIMEDOUT, ECONNECTION, EPROTOCOL, ELIMIT, ETLS, EFORBIDDEN, EABORTED'),
  phase: z.string().describe('connect, banner, ehlo, helo, starttls, tls, mail, rcpt, rset, quit'),
  message: z.string(),
});

export const SessionKindSchema = z
  .enum(['probe', 'rcpt', 'plain_fallback', 'legacy_tls', 'greylist_retry', 'reconnect'])
  .describe(
    'probe: the full session (banner, EHLO, STARTTLS, recipients); rcpt: recipients only (connection facts came from the cache); plain_fallback: recipients without TLS after a failed handshake; legacy_tls: the TLS 1.0/1.1 handshake; greylist_retry: greylisted recipients asked again; reconnect: the recipient tests repeated at once in a new session because the first deferred every recipient (connection-level greylisting such as Postfix postscreen)',
  );

export const SessionRecordSchema = SessionSummarySchema.extend({
  kind: SessionKindSchema,
  port: z.number().int(),
  family: z.union([z.literal(4), z.literal(6)]),
  startedAt: z.string(),
  durationMs: z.number(),
  connect: z.object({
    ok: z.boolean(),
    ms: z.number().optional(),
    failure: z.enum(['refused', 'timeout', 'unreachable', 'reset', 'forbidden', 'error']).optional(),
    error: z.string().optional(),
  }),
  banner: z
    .object({ reply: ReplySchema, ms: z.number(), unsolicited: z.array(z.string()).optional() })
    .optional(),
  ehlo: z
    .object({
      verb: z.enum(['EHLO', 'HELO']),
      reply: ReplySchema,
      /** The refused EHLO reply when the session fell back to HELO. */
      ehloRefused: ReplySchema.optional(),
      capabilities: CapabilitiesSchema.optional(),
      clientAddress: z.string().optional().describe('Our address as the server reported it'),
      outOfStep: z.boolean().optional().describe(`${OUT_OF_STEP} (the extensions may be incomplete)`),
    })
    .optional(),
  starttls: z
    .object({
      reply: ReplySchema.optional(),
      handshake: HandshakeSchema.optional(),
      error: z.string().optional(),
      /** Plaintext the server sent after its 220 to STARTTLS (discarded; CVE-2011-0411 class). */
      injected: z.array(z.string()).optional(),
      chainErrors: z.array(z.string()).optional(),
      outOfStep: z.boolean().optional().describe(OUT_OF_STEP),
    })
    .optional(),
  ehloTls: z
    .object({
      reply: ReplySchema,
      capabilities: CapabilitiesSchema.optional(),
      added: z.array(z.string()),
      removed: z.array(z.string()),
      changed: z.array(z.string()),
      outOfStep: z.boolean().optional().describe(OUT_OF_STEP),
    })
    .optional(),
  legacy: z
    .object({
      accepted: z.boolean(),
      protocol: z.string().optional(),
      cipher: z.string().optional(),
      error: z.string().optional(),
      errorCode: z.string().optional(),
    })
    .optional()
    .describe('legacy_tls sessions: whether a TLS 1.0/1.1-only handshake succeeded'),
  mail: z
    .object({
      from: z.string(),
      reply: ReplySchema.optional(),
      outOfStep: z.boolean().optional().describe(OUT_OF_STEP),
    })
    .optional(),
  rcpts: z.array(RcptResultSchema),
  nullSender: TransactionTestSchema.optional(),
  relay: TransactionTestSchema.optional(),
  quit: z.boolean().describe('The session ended with QUIT answered'),
  error: SessionErrorSchema.optional().describe('Why the session stopped before its plan was done'),
  outOfStep: z
    .array(OutOfStepSchema)
    .optional()
    .describe(
      'Where the server spoke out of turn, in the order received (the lines are in the transcript too)',
    ),
  bareLineFeeds: z.number().int(),
  bytesIn: z.number().int(),
  cached: z.object({ storedAt: z.string() }).optional(),
  transcript: z.array(TranscriptEntrySchema),
});
export type SessionRecord = z.infer<typeof SessionRecordSchema>;

export const RcptVerdictRecordSchema = z.object({
  address: z.string(),
  verdict: z.enum([...VerdictSchema.options, 'risky']),
  reason: z.string(),
  reply: ReplySchema.optional(),
  host: z.string().optional(),
  ipAddress: z.string().optional(),
  retried: z.boolean().optional(),
});
export type RcptVerdictRecord = z.infer<typeof RcptVerdictRecordSchema>;

export const SmtpDataSchema = z.object({
  port: z.number().int(),
  probe: z.object({
    ehloName: z.string(),
    mailFrom: z.string(),
    clientAddresses: z.array(z.string()).describe('Our address as servers reported it back'),
    proxy: z.string().optional().describe('The SOCKS5 egress proxy the probe went through (no credentials)'),
    proxyBound: z
      .array(z.string())
      .optional()
      .describe('Addresses the proxy reported connecting from (SOCKS5 BND.ADDR)'),
  }),
  tested: z
    .array(z.object({ host: z.string(), address: z.string() }))
    .describe('MX addresses probed (after the host and address caps)'),
  skipped: z
    .array(z.object({ host: z.string(), address: z.string().optional(), why: z.string() }))
    .describe('MX hosts and addresses not probed, and why'),
  tls: z.array(TlsObservationSchema),
  sessions: z.array(SessionRecordSchema),
  recipients: z
    .array(RcptVerdictRecordSchema)
    .describe('Verdict per verified address (postmaster and --verify)'),
  catchAll: z.object({
    state: z.enum(['yes', 'no', 'unknown']),
    confidence: z.enum(['high', 'medium', 'low']).optional(),
    probes: z.array(z.string()).describe('Random local parts tried'),
  }),
  greylistRetryMs: z.number().int(),
  reprobedAt: z.string().optional().describe('When the recipients were last asked again (service re-probe)'),
  reprobe: z
    .object({
      scheduledAt: z.string().describe('When the service will ask again, ISO 8601'),
      addresses: z.array(z.string()).describe('The greylisted addresses it will ask about'),
      attempt: z.number().int().min(1),
    })
    .optional()
    .describe('Set while a greylisting re-probe is scheduled by the service; cleared when it has run'),
});
export type SmtpData = z.infer<typeof SmtpDataSchema>;
