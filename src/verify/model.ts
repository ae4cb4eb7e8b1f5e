import { z } from 'zod';
import { ReplySchema } from '../smtp/model.js';

/**
 * What address verification reports, as plain data: one result per address given (in the
 * order given), the facts per domain (MX, catch-all) and the sessions held per MX address.
 * These schemas are the published shape of `mxdoctor verify --json` and of the
 * verifications API (the OpenAPI document is generated from them).
 */

export const VERIFY_VERDICTS = ['deliverable', 'undeliverable', 'risky', 'unknown'] as const;
export const VerifyVerdictSchema = z
  .enum(VERIFY_VERDICTS)
  .describe(
    'deliverable: the domain’s MX accepted the address; undeliverable: it cannot receive mail (bad syntax, no such domain, no MX, the MX refused the recipient); risky: accepted, but by a domain that accepts every address, for a role account, a disposable domain, or a full mailbox; unknown: no answer about the address itself (greylisted, the probe refused, a timeout, the server stopped answering the probe) — never read as undeliverable',
  );
export type VerifyVerdict = z.infer<typeof VerifyVerdictSchema>;

export const VerifyResultSchema = z.object({
  input: z.string().describe('The address as given'),
  address: z.string().optional().describe('The address asked (domain in ASCII), when its syntax is valid'),
  domain: z.string().optional().describe('Its domain, in ASCII'),
  verdict: VerifyVerdictSchema,
  reason: z
    .string()
    .describe(
      'Machine-readable: accepted, catch_all, role_account, disposable, mailbox_full, user_unknown, relay_denied, mailbox_moved, invalid_syntax, no_such_domain, null_mx, no_mx, dangling_mx, dns_error, greylisted, probe_refused, probe_stopped, temporary, timeout, unreachable, smtputf8, quoted_local_part, not_asked',
    ),
  explanation: z.string().describe('The verdict in a sentence, quoting the reply when there was one'),
  reply: ReplySchema.optional().describe('The raw reply to RCPT TO (or to MAIL FROM when that was refused)'),
  mx: z.object({ host: z.string(), address: z.string() }).optional().describe('The MX address that answered'),
  flags: z.object({
    catchAll: z.boolean().nullable().describe('The domain accepts any address; null when not measured'),
    role: z.boolean(),
    disposable: z
      .boolean()
      .describe('The domain is on the disposable-domain list (disposable-email-domains-js)'),
    smtpUtf8: z.boolean().describe('The local part needs SMTPUTF8 (RFC 6531)'),
  }),
  retried: z.boolean().optional().describe('Asked again after greylisting'),
});
export type VerifyResult = z.infer<typeof VerifyResultSchema>;

export const VerifyDomainSchema = z.object({
  domain: z.string(),
  mx: z.enum(['mx', 'implicit', 'null', 'none', 'nxdomain', 'error']).describe('What the MX lookup found'),
  hosts: z.array(z.string()).describe('MX hosts in preference order'),
  catchAll: z
    .enum(['yes', 'no', 'unknown'])
    .describe('Whether a random address that cannot exist was accepted, measured once per domain'),
  catchAllProbe: z.string().optional().describe('The random address asked'),
});
export type VerifyDomain = z.infer<typeof VerifyDomainSchema>;

export const VerifyMxSchema = z.object({
  host: z.string(),
  address: z.string(),
  sessions: z.number().int().describe('SMTP sessions opened to this MX address'),
  recipients: z.number().int().describe('RCPT TO commands answered'),
  stopped: z
    .string()
    .optional()
    .describe('Why mxdoctor stopped asking this MX address (it refused the probe or stopped answering)'),
});
export type VerifyMx = z.infer<typeof VerifyMxSchema>;

export const VerificationSchema = z
  .object({
    startedAt: z.string(),
    finishedAt: z.string(),
    durationMs: z.number(),
    counts: z.object({
      deliverable: z.number().int(),
      undeliverable: z.number().int(),
      risky: z.number().int(),
      unknown: z.number().int(),
    }),
    results: z.array(VerifyResultSchema).describe('One per address, in the order given'),
    domains: z.array(VerifyDomainSchema),
    mx: z.array(VerifyMxSchema),
    probe: z.object({ ehloName: z.string(), mailFrom: z.string() }),
  })
  .describe('mxdoctor address verification: RCPT TO only, nothing is ever sent');
export type Verification = z.infer<typeof VerificationSchema>;
