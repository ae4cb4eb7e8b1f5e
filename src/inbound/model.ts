import { z } from 'zod';

/**
 * What the receiver records of a delivery (the connection, the envelope) beside the message
 * bytes, as plain data: it is stored in Redis and read by the worker that analyses it. Every
 * string in it came from the client and is bounded and stripped of control characters.
 */

export const CertificateSummarySchema = z.object({
  subject: z.string(),
  issuer: z.string(),
  subjectAltNames: z.array(z.string()),
  validFrom: z.string(),
  validTo: z.string(),
  fingerprint256: z.string(),
  selfSigned: z.boolean(),
});
export type CertificateSummary = z.infer<typeof CertificateSummarySchema>;

export const TlsFactsSchema = z.object({
  offered: z.boolean().describe('STARTTLS was offered in the EHLO reply'),
  used: z.boolean().describe('The client started TLS before sending the message'),
  protocol: z.string().optional().describe('TLS version negotiated, e.g. TLSv1.3'),
  cipher: z.string().optional().describe('Cipher suite (OpenSSL name)'),
  cipherStandard: z.string().optional().describe('Cipher suite (IANA name)'),
  sni: z.string().optional().describe('Server name the client asked for (SNI)'),
  clientCertificate: CertificateSummarySchema.optional().describe('Certificate the client presented'),
  receiverCertificate: z
    .enum(['configured', 'self-signed'])
    .describe('self-signed: a certificate generated at start (development); senders that verify refuse it'),
  failed: z.string().optional().describe('A TLS handshake that failed, and why'),
});
export type TlsFacts = z.infer<typeof TlsFactsSchema>;

export const TranscriptLineSchema = z.object({
  atMs: z.number(),
  dir: z.enum(['C', 'S', 'I']),
  line: z.string(),
});

export const ConnectionFactsSchema = z.object({
  sessionId: z.string(),
  remoteAddress: z.string().describe('The sending IP address'),
  remotePort: z.number().int(),
  localAddress: z.string(),
  localPort: z.number().int(),
  connectedAt: z.string(),
  helo: z
    .object({ command: z.enum(['EHLO', 'HELO']), name: z.string() })
    .optional()
    .describe('The greeting of the transaction that delivered the message'),
  tls: TlsFactsSchema,
  earlyTalk: z
    .object({ bytes: z.number().int(), preview: z.string() })
    .optional()
    .describe('The client sent this before the greeting'),
  pipelining: z.object({
    offered: z.boolean(),
    misuse: z.array(z.object({ after: z.string(), next: z.string(), atMs: z.number() })),
    groups: z.number().int().describe('Pipelined groups sent the way RFC 2920 allows'),
  }),
  transcript: z.array(TranscriptLineSchema).describe('Commands and replies (not the message)'),
  transcriptOmitted: z.number().int(),
  transactions: z.number().int().describe('Messages delivered in this session, this one included'),
});
export type ConnectionFacts = z.infer<typeof ConnectionFactsSchema>;

export const EnvelopeSchema = z.object({
  mailFrom: z.string().describe('MAIL FROM address; empty for the null sender <>'),
  mailFromParams: z.record(z.string(), z.string()).describe('MAIL FROM parameters (BODY, SIZE, SMTPUTF8…)'),
  rcptTo: z.string(),
  size: z.number().int().describe('Bytes of the message as received'),
  receivedAt: z.string(),
});
export type Envelope = z.infer<typeof EnvelopeSchema>;

/** A delivery to a test address: who sent it, how, and what envelope (the bytes travel beside it). */
export const DeliverySchema = z.object({
  connection: ConnectionFactsSchema,
  envelope: EnvelopeSchema,
});
export type Delivery = z.infer<typeof DeliverySchema>;
