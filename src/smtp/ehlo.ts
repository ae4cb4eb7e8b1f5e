import type { SmtpReply } from './reply.js';

/**
 * The service extensions of an EHLO reply (RFC 5321 §4.1.1.1: the first line greets, each
 * further line names one extension keyword with optional parameters). Pure.
 */
export interface EhloCapabilities {
  /** Every keyword, upper case, in the order offered. */
  keywords: string[];
  /** Parameters per keyword (upper-case keyword → raw parameter text). */
  params: Record<string, string>;
  /** SIZE limit in bytes (RFC 1870); 0 means "no fixed limit"; undefined when SIZE has no number. */
  size?: number;
  pipelining: boolean;
  eightBitMime: boolean;
  smtpUtf8: boolean;
  starttls: boolean;
  chunking: boolean;
  dsn: boolean;
  enhancedStatusCodes: boolean;
  requireTls: boolean;
  /** SASL mechanisms offered (RFC 4954), upper case; empty when AUTH is not offered. */
  auth: string[];
}

/** The extensions the report explains, in display order. */
export const KNOWN_EXTENSIONS = [
  'SIZE',
  'PIPELINING',
  '8BITMIME',
  'SMTPUTF8',
  'STARTTLS',
  'CHUNKING',
  'DSN',
  'ENHANCEDSTATUSCODES',
  'REQUIRETLS',
  'AUTH',
] as const;

const KEYWORD = /^[A-Za-z0-9][A-Za-z0-9-]*$/;

export function parseEhlo(reply: SmtpReply): EhloCapabilities {
  const keywords: string[] = [];
  const params: Record<string, string> = {};
  for (const line of reply.lines.slice(1)) {
    const text = line.slice(4).trim();
    if (!text) continue;
    const [word = '', ...rest] = text.split(/\s+/);
    // Old servers wrote "AUTH=LOGIN PLAIN"; treat it as AUTH.
    const keyword = (word.startsWith('AUTH=') ? 'AUTH' : word).toUpperCase();
    if (!KEYWORD.test(keyword)) continue;
    const param = word.startsWith('AUTH=') ? [word.slice(5), ...rest].join(' ') : rest.join(' ');
    if (!(keyword in params)) keywords.push(keyword);
    params[keyword] = params[keyword] ? `${params[keyword]} ${param}`.trim() : param;
  }
  const has = (k: string): boolean => k in params;
  const caps: EhloCapabilities = {
    keywords,
    params,
    pipelining: has('PIPELINING'),
    eightBitMime: has('8BITMIME'),
    smtpUtf8: has('SMTPUTF8'),
    starttls: has('STARTTLS'),
    chunking: has('CHUNKING'),
    dsn: has('DSN'),
    enhancedStatusCodes: has('ENHANCEDSTATUSCODES'),
    requireTls: has('REQUIRETLS'),
    auth: has('AUTH') ? [...new Set(params.AUTH!.toUpperCase().split(/\s+/).filter(Boolean))] : [],
  };
  if (has('SIZE')) {
    const n = /^\d+$/.test(params.SIZE!) ? Number(params.SIZE) : undefined;
    if (n !== undefined) caps.size = n;
  }
  return caps;
}

/** Keywords added and removed between two EHLO replies (e.g. before and after STARTTLS). */
export function diffExtensions(
  before: EhloCapabilities,
  after: EhloCapabilities,
): { added: string[]; removed: string[]; changed: string[] } {
  const added = after.keywords.filter((k) => !(k in before.params));
  const removed = before.keywords.filter((k) => !(k in after.params));
  const changed = after.keywords.filter((k) => k in before.params && before.params[k] !== after.params[k]);
  return { added, removed, changed };
}
