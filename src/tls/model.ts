import { z } from 'zod';

/**
 * The certificate and TLS model every part of mxdoctor shares: the facts of one certificate
 * (read with node-forge, see certificate.ts) and what one TLS handshake to an MX address
 * showed. The SMTP probe fills them; DANE, MTA-STS, monitoring and the report read them.
 * Fields may be added, never renamed or removed (they are part of the report's JSON).
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
