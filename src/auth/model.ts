import { z } from 'zod';
import { FindingSchema } from '../report/model.js';

/**
 * What `mxdoctor auth`, `POST /api/v1/authentications` and the web page report about a
 * received message: the envelope (and where each part of it came from), SPF, every DKIM
 * signature, the ARC chain, DMARC with alignment and disposition, BIMI eligibility, the
 * message's own Authentication-Results compared with ours, and findings (`auth.*`) in the
 * project's finding format. Plain data.
 */

export const HeaderRefSchema = z.object({
  header: z
    .string()
    .describe(
      'Received-SPF, Authentication-Results, Received, Return-Path, "option" (--ip, --mail-from, --helo), or "session" (seen by the receiver in the SMTP session, the inbound test)',
    ),
  index: z.number().int().optional().describe('Position of the header field from the top (1-based)'),
  why: z.string().describe('Why this header was trusted for the value'),
});

export const EnvelopeSchema = z.object({
  ip: z.string().optional().describe('The connecting client IP address'),
  mailFrom: z.string().optional().describe('The envelope sender (MAIL FROM); "" for the null sender <>'),
  helo: z.string().optional().describe('The HELO/EHLO name of the client'),
  sources: z.object({
    ip: HeaderRefSchema.optional(),
    mailFrom: HeaderRefSchema.optional(),
    helo: HeaderRefSchema.optional(),
  }),
  receivedBy: z.string().optional().describe('The receiving host that accepted the message from outside'),
});
export type Envelope = z.infer<typeof EnvelopeSchema>;

export const SPF_RESULTS = ['pass', 'fail', 'softfail', 'neutral', 'none', 'permerror', 'temperror'] as const;

export const AuthSpfSchema = z.object({
  evaluated: z.boolean().describe('false when the connecting IP or the identity was unknown'),
  identity: z.enum(['mailfrom', 'helo']).optional(),
  domain: z.string().optional(),
  result: z.enum(SPF_RESULTS).optional(),
  reason: z.string().optional(),
  record: z.string().optional(),
  lookups: z.number().int().optional(),
});

export const AuthDkimSchema = z.object({
  domain: z.string().describe('d='),
  selector: z.string().describe('s='),
  algorithm: z.string().optional(),
  result: z.enum(['pass', 'fail', 'neutral', 'policy', 'permerror', 'temperror']),
  comment: z
    .string()
    .optional()
    .describe('Why, when not pass: body hash mismatch, bad signature, no key, expired…'),
  keyType: z.string().optional(),
  keyBits: z.number().int().optional(),
  signedHeaders: z.array(z.string()),
  bodyLengthLimit: z.number().int().optional().describe('l=: how many body octets the signature covers'),
  unsignedBodyBytes: z.number().int().optional().describe('Body octets after l= that no signature covers'),
  signedAt: z.string().optional(),
  expiresAt: z.string().optional(),
  aligned: z.boolean().describe('d= aligns with the From domain under the DMARC policy’s adkim mode'),
});
export type AuthDkim = z.infer<typeof AuthDkimSchema>;

export const AuthArcSchema = z.object({
  result: z.enum(['pass', 'fail', 'none']),
  instances: z.number().int().describe('ARC sets (i=) in the chain'),
  comment: z.string().optional(),
  /** What the last sealer's ARC-Authentication-Results said. */
  sealer: z.string().optional(),
  sealedResults: z.record(z.string(), z.string()).optional(),
});

export const AuthDmarcSchema = z.object({
  fromDomain: z.string().optional(),
  policyDomain: z.string().optional(),
  record: z.string().optional(),
  policy: z.enum(['none', 'quarantine', 'reject']).optional(),
  pct: z.number().int().optional(),
  adkim: z.enum(['r', 's']).optional(),
  aspf: z.enum(['r', 's']).optional(),
  spfAligned: z.boolean(),
  dkimAligned: z.boolean(),
  result: z.enum(['pass', 'fail', 'none', 'temperror', 'permerror']),
  disposition: z
    .enum(['none', 'quarantine', 'reject'])
    .describe('What a receiver applying the policy does: none (deliver), quarantine (spam folder) or reject'),
  reason: z.string(),
});

export const AuthBimiSchema = z.object({
  eligible: z.boolean(),
  selector: z.string(),
  record: z.string().optional(),
  logo: z.string().optional(),
  authority: z.string().optional(),
  reasons: z.array(z.string()).describe('Why the logo would not be shown, when not eligible'),
});

export const ReceiverVerdictSchema = z.object({
  authservId: z.string(),
  index: z.number().int(),
  trusted: z
    .boolean()
    .describe('Added by the receiving system (above the hop that accepted the message from outside)'),
  results: z.record(z.string(), z.string()).describe('method → result as the receiver recorded it'),
  differences: z.array(z.string()).describe('Where our result differs from the receiver’s'),
});

export const AuthReportSchema = z
  .object({
    checkedAt: z.string(),
    durationMs: z.number(),
    message: z.object({
      from: z.array(z.string()),
      subject: z.string().optional(),
      messageId: z.string().optional(),
      date: z.string().optional(),
      sizeBytes: z.number().int(),
    }),
    envelope: EnvelopeSchema,
    spf: AuthSpfSchema,
    spfHelo: AuthSpfSchema.optional().describe(
      'SPF for the HELO identity (RFC 7208 §2.3), when asked for (the inbound test)',
    ),
    dkim: z.array(AuthDkimSchema),
    arc: AuthArcSchema,
    dmarc: AuthDmarcSchema,
    bimi: AuthBimiSchema,
    receivers: z.array(ReceiverVerdictSchema),
    verdict: z
      .enum(['pass', 'warn', 'fail'])
      .describe('fail if any finding failed, else warn if any warned, else pass'),
    findings: z.array(FindingSchema),
  })
  .describe('mxdoctor authentication of a received message');
export type AuthReport = z.infer<typeof AuthReportSchema>;
