import { z } from 'zod';

/**
 * What the TLS depth scan of one MX address found: plain, serialisable facts (no
 * judgement — evaluate.ts turns them into findings). Fields may be added, never renamed.
 */

export const HandshakeSummarySchema = z.object({
  n: z.number().int().describe('1-based position: the nth connection of this scan'),
  purpose: z.enum(['ciphers', 'order', 'curves', 'kex_hash', 'renegotiation']),
  version: z.string().describe('The only protocol version offered'),
  offered: z.number().int().describe('How many cipher suites were offered'),
  firstOffered: z.string().optional().describe('The suite offered first (client preference)'),
  groups: z.array(z.string()).optional().describe('Key-exchange groups offered, when restricted'),
  sigalgs: z.string().optional().describe('Signature algorithms offered, when restricted'),
  outcome: z.enum(['accepted', 'refused', 'failed']),
  protocol: z.string().optional(),
  suite: z.string().optional().describe('IANA name of the suite the server chose'),
  group: z.string().optional(),
  renegotiation: z.enum(['allowed', 'refused', 'no_answer']).optional(),
  error: z.string().optional(),
  ms: z.number(),
});
export type HandshakeSummary = z.infer<typeof HandshakeSummarySchema>;

export const VersionResultSchema = z.object({
  version: z.enum(['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3']),
  supported: z.boolean().nullable().describe('null: could not be determined (budget, failures)'),
  accepted: z.array(z.string()).describe('IANA names of accepted suites, in the order found'),
  complete: z.boolean().describe('Every suite mxdoctor can offer in this version was tried'),
  note: z.string().optional(),
});
export type VersionResult = z.infer<typeof VersionResultSchema>;

export const DeepTlsScanSchema = z.object({
  host: z.string(),
  address: z.string(),
  port: z.number().int(),
  status: z
    .enum(['scanned', 'no_starttls', 'unreachable', 'forbidden', 'error'])
    .describe('scanned, or why no handshake could be made'),
  error: z.string().optional(),
  cap: z.number().int().describe('Most handshakes allowed for this address'),
  handshakes: z.array(HandshakeSummarySchema).describe('Every connection made, in order'),
  capReached: z.boolean(),
  stopped: z.string().optional().describe('Why the scan stopped early (repeated connection failures)'),
  versions: z.array(VersionResultSchema),
  dhBits: z.array(z.number().int()).describe('Sizes of finite-field DH groups the server used'),
  groups: z.object({
    accepted: z.array(z.string()).describe('Key-exchange groups the server accepted'),
    refused: z.array(z.string()).describe('Groups offered alone (or last) that the server refused'),
    complete: z.boolean(),
    version: z.string().optional().describe('Protocol version the groups were tested with'),
    note: z.string().optional(),
  }),
  order: z.object({
    result: z.enum(['server', 'client', 'not_applicable', 'not_tested']),
    version: z.string().optional(),
    /** Suites chosen when offered worst-first and best-first. */
    picks: z.array(z.string()),
    note: z.string().optional(),
  }),
  kexHash: z.object({
    sha2: z
      .boolean()
      .nullable()
      .describe('Signs the key exchange with SHA-2 when the client offers only SHA-2'),
    sha1: z
      .boolean()
      .nullable()
      .describe('Signs the key exchange with SHA-1 when the client offers only SHA-1'),
    note: z.string().optional(),
  }),
  renegotiation: z.enum(['allowed', 'refused', 'no_answer', 'not_applicable', 'not_tested']),
  ocsp: z.object({
    stapled: z.boolean(),
    status: z.string().optional().describe('OCSPResponse responseStatus (RFC 6960 §4.2.1)'),
    bytes: z.number().int().optional(),
  }),
  untestable: z.array(z.string()).describe("What Node's OpenSSL cannot test, so was not tested"),
  ms: z.number(),
});
export type DeepTlsScan = z.infer<typeof DeepTlsScanSchema>;
