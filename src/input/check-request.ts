import { z } from 'zod';
import { normalizeDomain, DOMAIN_ACCEPTS } from './domain.js';
import type { NormalizedDomain } from './domain.js';
import { DEFAULT_CHECK_OPTIONS } from '../report/model.js';
import type { CheckOptions } from '../report/model.js';

/**
 * A request for a domain check, as the API, the web form and monitors give it: the zod
 * schema (which the OpenAPI document also publishes) and the validation that turns it into
 * a normalised domain and check options, with every problem named by field.
 */

export const MAX_VERIFY = 10;
export const MAX_SELECTORS = 20;

export const CheckRequestSchema = z
  .object({
    domain: z
      .string()
      .max(1024)
      .describe('Domain to check (Unicode names are fine), or an email address whose domain is checked'),
    verify: z
      .array(z.string().max(320))
      .max(MAX_VERIFY)
      .optional()
      .describe(
        `Up to ${MAX_VERIFY} addresses at the checked domain whose delivery is verified with RCPT TO (no message is sent)`,
      ),
    dkimSelectors: z
      .array(z.string().max(253))
      .max(MAX_SELECTORS)
      .optional()
      .describe(`Up to ${MAX_SELECTORS} DKIM selectors to look up in addition to the built-in list`),
    options: z
      .object({
        smtp: z.boolean().optional().describe('Contact the MX hosts over SMTP (default true)'),
        tls: z
          .enum(['light', 'deep'])
          .optional()
          .describe('deep: scan every MX address for cipher suites, key exchange and more (default light)'),
        submission: z
          .boolean()
          .optional()
          .describe('Probe the submission ports 465/587 even without RFC 6186 SRV records (default false)'),
      })
      .strict()
      .optional(),
  })
  .strict()
  .describe('A domain check to queue');
export type CheckRequest = z.infer<typeof CheckRequestSchema>;

export interface FieldError {
  field: string;
  message: string;
}

export type ParsedCheckRequest =
  { ok: true; domain: NormalizedDomain; options: CheckOptions } | { ok: false; errors: FieldError[] };

const SELECTOR =
  /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9_-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9_-]{0,61}[a-z0-9])?)*$/i;

function fieldOf(path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : acc ? `${acc}.${String(p)}` : String(p)),
    '',
  );
}

/**
 * Validates a check request (from JSON or the web form) into a normalised domain and
 * options. Every problem is reported with its field and what is accepted.
 */
export function parseCheckRequest(input: unknown): ParsedCheckRequest {
  const parsed = CheckRequestSchema.safeParse(input);
  if (!parsed.success) {
    return {
      ok: false,
      errors: parsed.error.issues.map((issue) => {
        const field = fieldOf(issue.path) || 'body';
        if (issue.code === 'unrecognized_keys') {
          return {
            field: fieldOf([...issue.path, issue.keys[0] ?? '']) || 'body',
            message: `Unknown field ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}; accepted: domain, verify, dkimSelectors, options.smtp, options.tls, options.submission.`,
          };
        }
        if (issue.code === 'invalid_type' && issue.path.length === 0) {
          return {
            field: 'body',
            message: 'The body must be a JSON object such as {"domain": "example.com"}.',
          };
        }
        if (issue.code === 'invalid_type' && field === 'domain') {
          return { field, message: `domain is required: ${DOMAIN_ACCEPTS}.` };
        }
        return { field, message: `${field}: ${issue.message}.` };
      }),
    };
  }
  const req = parsed.data;
  const errors: FieldError[] = [];
  const d = normalizeDomain(req.domain);
  if (!d.ok) errors.push({ field: 'domain', message: d.error });
  const verify: string[] = [];
  (req.verify ?? []).forEach((raw, i) => {
    const address = raw.trim();
    const at = address.lastIndexOf('@');
    const local = at > 0 ? address.slice(0, at) : '';
    const dom = at > 0 ? normalizeDomain(address.slice(at + 1)) : undefined;
    if (!local || !dom?.ok || /[\s<>()\\,;:"[\]]/.test(local) || local.length > 64) {
      errors.push({
        field: `verify[${i}]`,
        message: `${JSON.stringify(address.slice(0, 80))} is not an email address; give addresses like postmaster@example.com.`,
      });
      return;
    }
    if (d.ok && dom.domain.ascii !== d.domain.ascii) {
      errors.push({
        field: `verify[${i}]`,
        message: `${JSON.stringify(address)} is not at ${d.domain.unicode}; addresses to verify must be at the checked domain (their delivery is tested on its MX hosts).`,
      });
      return;
    }
    verify.push(`${local}@${dom.domain.ascii}`);
  });
  const selectors: string[] = [];
  (req.dkimSelectors ?? []).forEach((raw, i) => {
    const s = withoutDomainkey(raw.trim());
    if (!SELECTOR.test(s)) {
      errors.push({
        field: `dkimSelectors[${i}]`,
        message: `${JSON.stringify(raw.slice(0, 80))} is not a DKIM selector; selectors are DNS labels such as "google" or "s1.2024" (letters, digits, hyphens, dots).`,
      });
      return;
    }
    selectors.push(s.toLowerCase());
  });
  if (errors.length > 0 || !d.ok) return { ok: false, errors };
  return {
    ok: true,
    domain: d.domain,
    options: {
      ...DEFAULT_CHECK_OPTIONS,
      verify,
      dkimSelectors: selectors,
      smtp: req.options?.smtp ?? DEFAULT_CHECK_OPTIONS.smtp,
      ...(req.options?.tls === 'deep' ? { tls: 'deep' as const } : {}),
      ...(req.options?.submission ? { submission: true } : {}),
    },
  };
}

/**
 * "s1._domainkey.example.com" → "s1": what `/\._domainkey(\..*)?$/i` removes, without reading
 * the rest of the text again from every "._domainkey" in it.
 */
function withoutDomainkey(s: string): string {
  const cut = s.search(/\._domainkey(?:\.|$)/i);
  // A line break after it: the pattern would not match there (and the selector is invalid anyway).
  return cut >= 0 && !/[\n\r\u2028\u2029]/.test(s.slice(cut)) ? s.slice(0, cut) : s;
}
