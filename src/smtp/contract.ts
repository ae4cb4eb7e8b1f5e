import { z } from 'zod';

/**
 * The part of the SMTP check's output that other checks consume: what TLS each MX address
 * presented. DANE (TLSA matching), MTA-STS (enforce mode needs STARTTLS with a trusted,
 * matching certificate on every MX) and monitoring (certificate changes, expiry) read only
 * these fields, through `tlsObservationsOf(ctx.upstream('smtp'))`. The SMTP check owns them:
 * it may add fields, never rename or remove these.
 */

export const CertFactsSchema = z.object({
  subject: z.string().describe('Subject DN, RFC 4514 style'),
  commonName: z.string().optional(),
  sans: z.array(z.string()).describe('subjectAltName DNS names (and IP addresses as "IP:x")'),
  issuer: z.string().describe('Issuer DN'),
  serial: z.string().describe('Serial number, hex'),
  notBefore: z.string().describe('ISO 8601'),
  notAfter: z.string().describe('ISO 8601'),
  keyAlgorithm: z.string().describe('rsa, ec, ed25519, ed448, dsa or unknown'),
  keyBits: z.number().int().describe('RSA modulus bits or EC curve size'),
  curve: z.string().optional(),
  signatureAlgorithm: z.string().describe('e.g. sha256WithRSAEncryption'),
  selfSigned: z.boolean().describe('Subject equals issuer and the signature verifies with its own key'),
  isCa: z.boolean().describe('basicConstraints cA'),
  sha256: z.string().describe('SHA-256 of the DER certificate, lower-case hex'),
  sha512: z.string().describe('SHA-512 of the DER certificate, lower-case hex'),
  spkiSha256: z.string().describe('SHA-256 of the DER SubjectPublicKeyInfo, lower-case hex'),
  spkiSha512: z.string().describe('SHA-512 of the DER SubjectPublicKeyInfo, lower-case hex'),
  der: z.string().describe('The DER certificate, base64 (for DANE matching type 0 and audits)'),
});
export type CertFacts = z.infer<typeof CertFactsSchema>;

export const TlsObservationSchema = z.object({
  host: z.string().describe('MX host name (SNI sent)'),
  address: z.string(),
  port: z.number().int(),
  starttls: z
    .enum(['offered', 'not_offered', 'unknown'])
    .describe('unknown when EHLO was never answered (connection refused, 421, timeout…)'),
  handshake: z.enum(['ok', 'failed', 'not_attempted']),
  error: z.string().optional().describe('Why STARTTLS or the handshake failed, exactly'),
  protocol: z.string().optional().describe('e.g. TLSv1.3'),
  cipher: z.string().optional(),
  chain: z.array(CertFactsSchema).describe('Certificates as presented, leaf first'),
  trusted: z.boolean().optional().describe('Chain validates to a trusted root (system + extra CAs)'),
  trustError: z.string().optional(),
  hostnameMatches: z.boolean().optional().describe('Leaf is valid for the MX host name (RFC 6125)'),
  cached: z
    .object({ storedAt: z.string() })
    .optional()
    .describe('Set when this came from the shared connection cache'),
});
export type TlsObservation = z.infer<typeof TlsObservationSchema>;

/** Reads the TLS observations out of the SMTP check's data (empty when SMTP did not run). */
export function tlsObservationsOf(smtpData: unknown): TlsObservation[] {
  const tls = (smtpData as { tls?: unknown } | undefined)?.tls;
  return Array.isArray(tls) ? (tls as TlsObservation[]) : [];
}

/**
 * Per-session facts other checks read (PTR consistency compares the banner and EHLO host
 * names with the address's PTR; consistency and monitoring compare sessions). Read through
 * `sessionSummariesOf(ctx.upstream('smtp'))`.
 */
export const SessionSummarySchema = z.object({
  host: z.string(),
  address: z.string(),
  /** The host name the 220 greeting announces (first word after the code), when it does. */
  bannerHostname: z.string().optional(),
  /** The host name in the first line of the EHLO reply, when given. */
  ehloHostname: z.string().optional(),
});
export type SessionSummary = z.infer<typeof SessionSummarySchema>;

/** Reads the session summaries out of the SMTP check's data (`data.smtp.sessions`). */
export function sessionSummariesOf(smtpData: unknown): SessionSummary[] {
  const sessions = (smtpData as { sessions?: unknown } | undefined)?.sessions;
  return Array.isArray(sessions) ? (sessions as SessionSummary[]) : [];
}

/**
 * Whether a check that compares with the SMTP probe had its data: `ran`, `disabled`
 * (--no-smtp) or `not_run` (the probe failed or is not registered).
 */
export const SmtpAvailabilitySchema = z.enum(['ran', 'disabled', 'not_run']);
export type SmtpAvailability = z.infer<typeof SmtpAvailabilitySchema>;

export function smtpAvailability(smtpEnabled: boolean, smtpData: unknown): SmtpAvailability {
  return !smtpEnabled ? 'disabled' : smtpData === undefined ? 'not_run' : 'ran';
}

/**
 * Why a comparison with the probe could not be made, and the status to give it: switching
 * SMTP off is a choice (info); a probe that did not run or did not reach the address is
 * "could not test" (error). `missing` says what was missing when the probe did run.
 */
export function smtpNotTested(
  availability: SmtpAvailability,
  missing: string,
): { why: string; status: 'info' | 'error' } {
  if (availability === 'disabled') return { why: 'SMTP probing was switched off', status: 'info' };
  if (availability === 'not_run') return { why: 'the SMTP check did not run', status: 'error' };
  return { why: missing, status: 'error' };
}
