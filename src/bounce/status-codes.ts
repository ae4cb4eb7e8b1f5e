// Long on purpose: one data table of RFC 3463 / IANA / provider status codes and their
// reasons; its order is the lookup order, and splitting it would hide overlaps between ranges.
import type { Reason } from './model.js';

/**
 * Enhanced status codes (RFC 3463 and the IANA "SMTP Enhanced Status Codes" registry, plus
 * the provider-specific codes Microsoft documents for Exchange Online / Outlook.com) mapped
 * to reasons. Each entry has a weight: how much the code alone says. A specific code such as
 * X.1.1 or X.7.26 is strong; catch-alls such as X.0.0, X.7.1 or X.2.0 are weak, and a
 * well-known phrase in the reply text overrides them (see classify.ts).
 *
 * `code` is either exact ("5.7.606") or class-independent ("X.1.1"); `upTo` makes a range of
 * detail numbers within the same class and subject ("5.7.606" … "5.7.649").
 *
 * Why one file of 600 lines: it is one lookup table and the few lines that read it. statusRule
 * tries the exact and ranged provider codes first, then the registry's class-independent code,
 * so where a code sits in STATUS_RULES is part of its meaning; split by source (RFC, IANA,
 * Microsoft), a reader would have to know the order of the files to know what a code means.
 * The rows are data, one per code, in registry order, each with the note of its source.
 */
export interface StatusRule {
  code: string;
  upTo?: number;
  reason: Reason;
  weight: number;
  /** What the code means, from its source. */
  note: string;
}

/** Strength tiers shared with the pattern table. */
export const W = {
  /** A provider/MTA phrase that means one thing only. */
  exactPhrase: 0.95,
  /** A specific enhanced status code. */
  strongStatus: 0.85,
  /** A well-known, unambiguous stock phrase. */
  phrase: 0.75,
  /** A code that usually, not always, means this. */
  mediumStatus: 0.6,
  /** A phrase that hints at the reason. */
  weakPhrase: 0.5,
  /** A catch-all code. */
  weakStatus: 0.3,
  /** Only the basic reply code. */
  basic: 0.2,
} as const;

export const STATUS_RULES: readonly StatusRule[] = [
  // RFC 3463 §3.1–3.8 and the IANA registry.
  { code: 'X.0.0', reason: 'unknown', weight: 0.1, note: 'Other undefined status' },
  { code: 'X.1.0', reason: 'user_unknown', weight: 0.25, note: 'Other address status' },
  { code: 'X.1.1', reason: 'user_unknown', weight: W.strongStatus, note: 'Bad destination mailbox address' },
  { code: 'X.1.2', reason: 'host_unknown', weight: W.strongStatus, note: 'Bad destination system address' },
  {
    code: 'X.1.3',
    reason: 'user_unknown',
    weight: W.mediumStatus,
    note: 'Bad destination mailbox address syntax',
  },
  {
    code: 'X.1.4',
    reason: 'user_unknown',
    weight: W.mediumStatus,
    note: 'Destination mailbox address ambiguous',
  },
  { code: 'X.1.5', reason: 'delivered', weight: W.weakStatus, note: 'Destination address valid' },
  {
    code: 'X.1.6',
    reason: 'has_moved',
    weight: W.strongStatus,
    note: 'Destination mailbox has moved, no forwarding address',
  },
  { code: 'X.1.7', reason: 'rejected', weight: W.strongStatus, note: 'Bad sender’s mailbox address syntax' },
  { code: 'X.1.8', reason: 'rejected', weight: W.strongStatus, note: 'Bad sender’s system address' },
  {
    code: 'X.1.9',
    reason: 'delivered',
    weight: W.weakStatus,
    note: 'Message relayed to non-compliant mailer (RFC 3886)',
  },
  {
    code: 'X.1.10',
    reason: 'not_accept',
    weight: W.mediumStatus,
    note: 'Recipient address has null MX (RFC 7505); Microsoft uses 5.1.10 for "recipient not found"',
  },
  { code: 'X.2.0', reason: 'mailbox_full', weight: 0.15, note: 'Other or undefined mailbox status' },
  {
    code: 'X.2.1',
    reason: 'suspended',
    weight: W.mediumStatus,
    note: 'Mailbox disabled, not accepting messages',
  },
  { code: 'X.2.2', reason: 'mailbox_full', weight: W.strongStatus, note: 'Mailbox full' },
  {
    code: 'X.2.3',
    reason: 'exceed_limit',
    weight: W.strongStatus,
    note: 'Message length exceeds administrative limit',
  },
  { code: 'X.2.4', reason: 'mailer_error', weight: W.mediumStatus, note: 'Mailing list expansion problem' },
  {
    code: 'X.3.0',
    reason: 'system_error',
    weight: W.weakStatus,
    note: 'Other or undefined mail system status',
  },
  { code: 'X.3.1', reason: 'system_full', weight: W.strongStatus, note: 'Mail system full' },
  {
    code: 'X.3.2',
    reason: 'not_accept',
    weight: W.mediumStatus,
    note: 'System not accepting network messages',
  },
  {
    code: 'X.3.3',
    reason: 'system_error',
    weight: W.mediumStatus,
    note: 'System not capable of selected features',
  },
  { code: 'X.3.4', reason: 'message_too_large', weight: W.strongStatus, note: 'Message too big for system' },
  { code: 'X.3.5', reason: 'system_error', weight: W.strongStatus, note: 'System incorrectly configured' },
  {
    code: 'X.3.6',
    reason: 'policy_violation',
    weight: W.weakStatus,
    note: 'Requested priority was changed (RFC 6710)',
  },
  {
    code: 'X.4.0',
    reason: 'network_error',
    weight: W.weakStatus,
    note: 'Other or undefined network or routing status',
  },
  { code: 'X.4.1', reason: 'network_error', weight: W.mediumStatus, note: 'No answer from host' },
  { code: 'X.4.2', reason: 'network_error', weight: W.mediumStatus, note: 'Bad connection' },
  { code: 'X.4.3', reason: 'system_error', weight: W.mediumStatus, note: 'Directory server failure' },
  { code: 'X.4.4', reason: 'host_unknown', weight: W.mediumStatus, note: 'Unable to route' },
  { code: 'X.4.5', reason: 'system_error', weight: W.mediumStatus, note: 'Mail system congestion' },
  { code: 'X.4.6', reason: 'network_error', weight: W.strongStatus, note: 'Routing loop detected' },
  { code: 'X.4.7', reason: 'expired', weight: W.strongStatus, note: 'Delivery time expired' },
  { code: 'X.5.0', reason: 'syntax_error', weight: W.weakStatus, note: 'Other or undefined protocol status' },
  { code: 'X.5.1', reason: 'syntax_error', weight: W.mediumStatus, note: 'Invalid command' },
  { code: 'X.5.2', reason: 'syntax_error', weight: W.mediumStatus, note: 'Syntax error' },
  { code: 'X.5.3', reason: 'rate_limited', weight: W.mediumStatus, note: 'Too many recipients' },
  { code: 'X.5.4', reason: 'syntax_error', weight: W.mediumStatus, note: 'Invalid command arguments' },
  { code: 'X.5.5', reason: 'system_error', weight: W.mediumStatus, note: 'Wrong protocol version' },
  {
    code: 'X.5.6',
    reason: 'syntax_error',
    weight: W.mediumStatus,
    note: 'Authentication exchange line too long (RFC 4954)',
  },
  {
    code: 'X.6.0',
    reason: 'content_error',
    // The subject alone says it: class 6 is always about the message's content or media.
    weight: W.mediumStatus,
    note: 'Other or undefined media error',
  },
  { code: 'X.6.1', reason: 'content_error', weight: W.mediumStatus, note: 'Media not supported' },
  {
    code: 'X.6.2',
    reason: 'content_error',
    weight: W.mediumStatus,
    note: 'Conversion required and prohibited',
  },
  {
    code: 'X.6.3',
    reason: 'content_error',
    weight: W.mediumStatus,
    note: 'Conversion required but not supported',
  },
  { code: 'X.6.4', reason: 'content_error', weight: W.mediumStatus, note: 'Conversion with loss performed' },
  { code: 'X.6.5', reason: 'content_error', weight: W.mediumStatus, note: 'Conversion failed' },
  {
    code: 'X.6.6',
    reason: 'content_error',
    weight: W.mediumStatus,
    note: 'Message content not available (RFC 4468)',
  },
  {
    code: 'X.6.7',
    reason: 'content_error',
    weight: W.mediumStatus,
    note: 'Non-ASCII addresses not permitted (RFC 6531)',
  },
  {
    code: 'X.6.8',
    reason: 'content_error',
    weight: W.mediumStatus,
    note: 'UTF-8 string reply is required (RFC 6531)',
  },
  {
    code: 'X.6.9',
    reason: 'content_error',
    weight: W.mediumStatus,
    note: 'UTF-8 header message cannot be transferred (RFC 6531)',
  },
  { code: 'X.6.10', reason: 'content_error', weight: W.mediumStatus, note: 'Duplicated (RFC 6531)' },
  { code: 'X.7.0', reason: 'security_error', weight: 0.25, note: 'Other or undefined security status' },
  {
    code: 'X.7.1',
    reason: 'policy_violation',
    weight: 0.25,
    note: 'Delivery not authorized, message refused',
  },
  {
    code: 'X.7.2',
    reason: 'policy_violation',
    weight: W.mediumStatus,
    note: 'Mailing list expansion prohibited',
  },
  {
    code: 'X.7.3',
    reason: 'security_error',
    weight: W.mediumStatus,
    note: 'Security conversion required but not possible',
  },
  {
    code: 'X.7.4',
    reason: 'security_error',
    weight: W.mediumStatus,
    note: 'Security features not supported',
  },
  { code: 'X.7.5', reason: 'security_error', weight: W.mediumStatus, note: 'Cryptographic failure' },
  {
    code: 'X.7.6',
    reason: 'security_error',
    weight: W.mediumStatus,
    note: 'Cryptographic algorithm not supported',
  },
  { code: 'X.7.7', reason: 'security_error', weight: W.mediumStatus, note: 'Message integrity failure' },
  {
    code: 'X.7.8',
    reason: 'security_error',
    weight: W.mediumStatus,
    note: 'Authentication credentials invalid (RFC 4954)',
  },
  {
    code: 'X.7.9',
    reason: 'security_error',
    weight: W.weakStatus,
    note: 'Authentication mechanism is too weak (RFC 4954); Yahoo uses it for policy refusals',
  },
  { code: 'X.7.10', reason: 'tls_required', weight: W.strongStatus, note: 'Encryption needed (RFC 5248)' },
  {
    code: 'X.7.11',
    reason: 'tls_required',
    weight: W.strongStatus,
    note: 'Encryption required for requested authentication mechanism (RFC 4954)',
  },
  {
    code: 'X.7.12',
    reason: 'security_error',
    weight: W.mediumStatus,
    note: 'A password transition is needed (RFC 4954); Microsoft: sender not authenticated by organization',
  },
  { code: 'X.7.13', reason: 'suspended', weight: W.strongStatus, note: 'User account disabled (RFC 5248)' },
  {
    code: 'X.7.14',
    reason: 'security_error',
    weight: W.mediumStatus,
    note: 'Trust relationship required (RFC 5248)',
  },
  {
    code: 'X.7.15',
    reason: 'policy_violation',
    weight: W.mediumStatus,
    note: 'Priority level is too low (RFC 6710)',
  },
  {
    code: 'X.7.16',
    reason: 'message_too_large',
    weight: W.mediumStatus,
    note: 'Message is too big for the specified priority (RFC 6710)',
  },
  {
    code: 'X.7.17',
    reason: 'has_moved',
    weight: W.strongStatus,
    note: 'Mailbox owner has changed (RFC 7293)',
  },
  {
    code: 'X.7.18',
    reason: 'has_moved',
    weight: W.strongStatus,
    note: 'Domain owner has changed (RFC 7293)',
  },
  {
    code: 'X.7.19',
    reason: 'has_moved',
    weight: W.weakStatus,
    note: 'RRVS test cannot be completed (RFC 7293)',
  },
  {
    code: 'X.7.20',
    reason: 'auth_failure',
    weight: W.strongStatus,
    note: 'No passing DKIM signature found (RFC 7372)',
  },
  {
    code: 'X.7.21',
    reason: 'auth_failure',
    weight: W.strongStatus,
    note: 'No acceptable DKIM signature found (RFC 7372)',
  },
  {
    code: 'X.7.22',
    reason: 'auth_failure',
    weight: W.strongStatus,
    note: 'No valid author-matched DKIM signature found (RFC 7372)',
  },
  {
    code: 'X.7.23',
    reason: 'auth_failure',
    weight: W.strongStatus,
    note: 'SPF validation failed (RFC 7372)',
  },
  { code: 'X.7.24', reason: 'auth_failure', weight: W.strongStatus, note: 'SPF validation error (RFC 7372)' },
  {
    code: 'X.7.25',
    reason: 'require_ptr',
    weight: W.strongStatus,
    note: 'Reverse DNS validation failed (RFC 7372)',
  },
  {
    code: 'X.7.26',
    reason: 'auth_failure',
    weight: W.strongStatus,
    note: 'Multiple authentication checks failed (RFC 7372); Gmail: sender unauthenticated',
  },
  {
    code: 'X.7.27',
    reason: 'rejected',
    weight: W.strongStatus,
    note: 'Sender address has null MX (RFC 7505)',
  },
  {
    code: 'X.7.28',
    reason: 'rate_limited',
    weight: W.strongStatus,
    note: 'Mail flood detected (RFC 8689 registry)',
  },
  {
    code: 'X.7.29',
    reason: 'auth_failure',
    weight: W.strongStatus,
    note: 'ARC validation failure (RFC 8617)',
  },
  {
    code: 'X.7.30',
    reason: 'tls_required',
    weight: W.strongStatus,
    note: 'REQUIRETLS support required (RFC 8689)',
  },

  // Microsoft Exchange Online / Outlook.com, from Microsoft's published NDR reference.
  {
    code: '5.1.10',
    reason: 'user_unknown',
    weight: W.mediumStatus,
    note: 'Microsoft: RESOLVER.ADR.RecipientNotFound (recipient not found by SMTP address lookup)',
  },
  {
    code: '5.1.8',
    reason: 'rejected',
    weight: W.strongStatus,
    note: 'Microsoft: access denied, bad outbound sender',
  },
  {
    code: '5.1.90',
    reason: 'rate_limited',
    weight: W.strongStatus,
    note: 'Microsoft: daily recipient limit reached',
  },
  {
    code: '5.2.121',
    reason: 'rate_limited',
    weight: W.strongStatus,
    note: 'Microsoft: recipient’s per-hour message receive limit from specific sender exceeded',
  },
  {
    code: '5.2.122',
    reason: 'rate_limited',
    weight: W.strongStatus,
    note: 'Microsoft: recipient’s per-hour message receive limit exceeded',
  },
  {
    code: '5.4.1',
    reason: 'user_unknown',
    weight: W.mediumStatus,
    note: 'Microsoft: recipient address rejected, access denied (directory-based edge blocking)',
  },
  {
    code: '5.4.14',
    reason: 'network_error',
    weight: W.strongStatus,
    note: 'Microsoft: hop count exceeded, possible mail loop',
  },
  { code: '5.4.300', reason: 'expired', weight: W.strongStatus, note: 'Microsoft: message expired' },
  {
    code: '5.4.310',
    reason: 'host_unknown',
    weight: W.strongStatus,
    note: 'Microsoft: DNS domain does not exist',
  },
  { code: '5.4.312', reason: 'network_error', weight: W.strongStatus, note: 'Microsoft: DNS query failed' },
  {
    code: '5.4.316',
    reason: 'network_error',
    weight: W.strongStatus,
    note: 'Microsoft: message expired, connection refused',
  },
  { code: '4.4.316', reason: 'network_error', weight: W.strongStatus, note: 'Microsoft: connection refused' },
  {
    code: '5.6.11',
    reason: 'content_error',
    weight: W.strongStatus,
    note: 'Microsoft: invalid characters (bare line feeds)',
  },
  {
    code: '5.7.57',
    reason: 'security_error',
    weight: W.strongStatus,
    note: 'Microsoft: client was not authenticated to send anonymous mail',
  },
  {
    code: '5.7.64',
    reason: 'relaying_denied',
    weight: W.strongStatus,
    note: 'Microsoft: TenantAttribution, relay access denied',
  },
  {
    code: '5.7.54',
    reason: 'relaying_denied',
    weight: W.strongStatus,
    note: 'Microsoft: unable to relay recipient in non-accepted domain',
  },
  {
    code: '5.7.501',
    upTo: 503,
    reason: 'blocked',
    weight: W.strongStatus,
    note: 'Microsoft: access denied, spam abuse detected / banned sender',
  },
  {
    code: '5.7.508',
    reason: 'auth_failure',
    weight: W.strongStatus,
    note: 'Microsoft: access denied, sender’s SPF record has hard-failed',
  },
  {
    code: '5.7.509',
    reason: 'auth_failure',
    weight: W.strongStatus,
    note: 'Microsoft: access denied, sending domain does not pass DMARC verification',
  },
  {
    code: '5.7.510',
    reason: 'blocked',
    weight: W.strongStatus,
    note: 'Microsoft: access denied, does not accept email over IPv6',
  },
  {
    code: '5.7.511',
    reason: 'blocked',
    weight: W.strongStatus,
    note: 'Microsoft: access denied, banned sender',
  },
  {
    code: '5.7.512',
    reason: 'not_compliant_rfc',
    weight: W.strongStatus,
    note: 'Microsoft: message must be RFC 5322 section 3.6.2 compliant',
  },
  {
    code: '5.7.513',
    reason: 'blocked',
    weight: W.strongStatus,
    note: 'Microsoft: client host blocked by a partner',
  },
  {
    code: '5.7.515',
    reason: 'auth_failure',
    weight: W.strongStatus,
    note: 'Microsoft: sending domain doesn’t meet the required authentication level',
  },
  {
    code: '5.7.520',
    reason: 'policy_violation',
    weight: W.strongStatus,
    note: 'Microsoft: organization does not allow external forwarding',
  },
  {
    code: '5.7.606',
    upTo: 649,
    reason: 'blocked',
    weight: W.strongStatus,
    note: 'Microsoft: access denied, banned sending IP',
  },
  {
    code: '4.7.650',
    upTo: 683,
    reason: 'bad_reputation',
    weight: W.strongStatus,
    note: 'Microsoft: temporarily rate limited due to IP reputation',
  },
  {
    code: '5.7.650',
    upTo: 683,
    reason: 'bad_reputation',
    weight: W.strongStatus,
    note: 'Microsoft: refused due to IP reputation',
  },
  {
    code: '5.7.700',
    upTo: 750,
    reason: 'blocked',
    weight: W.strongStatus,
    note: 'Microsoft: tenant or client blocked from sending',
  },
];

/** An enhanced status code split into its numbers. */
export interface StatusCode {
  class: number;
  subject: number;
  detail: number;
  text: string;
}

export function parseStatus(text: string | null | undefined): StatusCode | null {
  if (!text) return null;
  const m = /^\s*([245])\.(\d{1,3})\.(\d{1,3})\b/.exec(text);
  if (!m) return null;
  return {
    class: Number(m[1]),
    subject: Number(m[2]),
    detail: Number(m[3]),
    text: `${m[1]}.${Number(m[2])}.${Number(m[3])}`,
  };
}

/** STATUS_RULES indexed for `statusRule`: built on first use, once per process. */
interface StatusIndex {
  /** Exact and ranged codes by "class.subject", in table order. */
  specific: Map<string, { detail: number; upTo: number; rule: StatusRule }[]>;
  /** The first class-independent rule of each "X.subject.detail". */
  generic: Map<string, StatusRule>;
}
let statusIndex: StatusIndex | undefined;

function indexStatusRules(): StatusIndex {
  const specific: StatusIndex['specific'] = new Map();
  const generic: StatusIndex['generic'] = new Map();
  for (const rule of STATUS_RULES) {
    if (rule.code.startsWith('X.')) {
      if (!generic.has(rule.code)) generic.set(rule.code, rule);
      continue;
    }
    const r = parseStatus(rule.code);
    if (!r) throw new Error(`status rule ${rule.code} is not a status code (src/bounce/status-codes.ts)`);
    const key = `${r.class}.${r.subject}`;
    let list = specific.get(key);
    if (!list) specific.set(key, (list = []));
    list.push({ detail: r.detail, upTo: rule.upTo ?? r.detail, rule });
  }
  return { specific, generic };
}

/**
 * The best rule for a status code: exact or ranged provider codes first (the first in table
 * order whose class and subject match and whose detail is the code's or in its range), then
 * the RFC class-independent code.
 */
export function statusRule(status: string | null | undefined): StatusRule | null {
  const s = parseStatus(status);
  if (!s) return null;
  statusIndex ??= indexStatusRules();
  const list = statusIndex.specific.get(`${s.class}.${s.subject}`);
  if (list) {
    for (let i = 0; i < list.length; i++) {
      const e = list[i]!;
      if (s.detail >= e.detail && s.detail <= e.upTo) return e.rule;
    }
  }
  return statusIndex.generic.get(`X.${s.subject}.${s.detail}`) ?? null;
}

/** Basic reply codes (RFC 5321 §4.2.3) as a last resort. */
export const BASIC_RULES: Record<number, { reason: Reason; note: string }> = {
  421: { reason: 'system_error', note: 'Service not available, closing transmission channel' },
  450: { reason: 'mailbox_full', note: 'Mailbox unavailable (busy or temporarily blocked)' },
  451: { reason: 'system_error', note: 'Local error in processing' },
  452: { reason: 'system_full', note: 'Insufficient system storage' },
  500: { reason: 'syntax_error', note: 'Syntax error, command unrecognized' },
  501: { reason: 'syntax_error', note: 'Syntax error in parameters or arguments' },
  502: { reason: 'syntax_error', note: 'Command not implemented' },
  503: { reason: 'syntax_error', note: 'Bad sequence of commands' },
  504: { reason: 'syntax_error', note: 'Command parameter not implemented' },
  521: { reason: 'not_accept', note: 'Host does not accept mail (RFC 7504)' },
  530: { reason: 'security_error', note: 'Authentication required (RFC 4954)' },
  535: { reason: 'security_error', note: 'Authentication credentials invalid (RFC 4954)' },
  550: { reason: 'user_unknown', note: 'Mailbox unavailable (not found, no access, or policy)' },
  551: { reason: 'has_moved', note: 'User not local; please try <forward-path>' },
  552: { reason: 'exceed_limit', note: 'Exceeded storage allocation' },
  553: { reason: 'user_unknown', note: 'Mailbox name not allowed' },
  554: { reason: 'unknown', note: 'Transaction failed' },
  556: { reason: 'not_accept', note: 'Domain does not accept mail (RFC 7504)' },
};

/** Derives an enhanced status from a reason when the bounce states none (RFC 3463 codes). */
export const STATUS_FOR_REASON: Partial<Record<Reason, string>> = {
  user_unknown: 'X.1.1',
  host_unknown: 'X.1.2',
  has_moved: 'X.1.6',
  not_accept: 'X.1.10',
  mailbox_full: 'X.2.2',
  suspended: 'X.2.1',
  exceed_limit: 'X.2.3',
  blocked: 'X.7.1',
  bad_reputation: 'X.7.1',
  require_ptr: 'X.7.25',
  rejected: 'X.1.8',
  auth_failure: 'X.7.26',
  tls_required: 'X.7.10',
  relaying_denied: 'X.7.1',
  policy_violation: 'X.7.1',
  security_error: 'X.7.0',
  spam_detected: 'X.7.1',
  virus_detected: 'X.7.1',
  content_error: 'X.6.0',
  not_compliant_rfc: 'X.6.0',
  filtered: 'X.2.0',
  message_too_large: 'X.3.4',
  rate_limited: 'X.7.28',
  expired: 'X.4.7',
  network_error: 'X.4.0',
  system_error: 'X.3.0',
  system_full: 'X.3.1',
  mailer_error: 'X.3.0',
  syntax_error: 'X.5.2',
  suppressed: 'X.1.1',
  unknown: 'X.0.0',
};
