import { z } from 'zod';
import { CertFactsSchema } from '../tls/model.js';

/**
 * What the submission probe saw (RFC 6186 discovery, RFC 8314 implicit TLS on 465, STARTTLS
 * on 587): plain data; evaluate.ts judges it. Fields may be added, never renamed.
 */

export const SubmissionTargetSchema = z.object({
  host: z.string(),
  port: z.number().int(),
  mode: z
    .enum(['implicit', 'starttls'])
    .describe('implicit: TLS from the first byte (RFC 8314); starttls: RFC 3207'),
  from: z.enum(['srv', 'guess']).describe('srv: an RFC 6186/8314 SRV record; guess: smtp./mail.<domain>'),
});
export type SubmissionTarget = z.infer<typeof SubmissionTargetSchema>;

export const SubmissionProbeSchema = SubmissionTargetSchema.extend({
  address: z.string().optional(),
  outcome: z
    .enum(['ok', 'forbidden', 'no_address', 'connect_failed', 'tls_failed', 'smtp_failed'])
    .describe('ok: the session got as far as the last EHLO'),
  error: z.string().optional(),
  banner: z.string().optional().describe('First line of the greeting'),
  /** Only for mode starttls: the EHLO before TLS. */
  plain: z
    .object({
      keywords: z.array(z.string()),
      auth: z.array(z.string()).describe('SASL mechanisms offered before TLS'),
      authOffered: z.boolean(),
      starttls: z.boolean(),
    })
    .optional(),
  tls: z
    .object({
      protocol: z.string(),
      cipher: z.string(),
      chain: z.array(CertFactsSchema),
      trusted: z.boolean(),
      trustError: z.string().optional(),
      hostnameMatches: z.boolean(),
      names: z.array(z.string()),
      daysLeft: z.number().int(),
      expiry: z.string(),
    })
    .optional(),
  /** The EHLO after TLS (or on the implicit-TLS connection). */
  secure: z.object({ keywords: z.array(z.string()), auth: z.array(z.string()) }).optional(),
  ms: z.number(),
});
export type SubmissionProbe = z.infer<typeof SubmissionProbeSchema>;

export const SubmissionDataSchema = z.object({
  /** Why the check ran: asked for (--submission) or the domain publishes SRV records. */
  reason: z.enum(['requested', 'srv']),
  srv: z.object({
    submissions: z.array(z.string()).describe('_submissions._tcp records, "priority weight port target"'),
    submission: z.array(z.string()).describe('_submission._tcp records'),
    rcodes: z.array(z.string()),
    /** A record with target "." says the service is not offered (RFC 2782, RFC 6186 §3.4). */
    declined: z.array(z.enum(['submissions', 'submission'])),
  }),
  guessed: z.array(z.string()).describe('Host names tried when no SRV record exists'),
  probes: z.array(SubmissionProbeSchema),
});
export type SubmissionData = z.infer<typeof SubmissionDataSchema>;
