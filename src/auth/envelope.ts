import { ipFamily } from '../net/ip-family.js';
import { entryHop, hopsOf, parseAuthResults, parseReceivedSpf, stripComments } from './headers.js';
import type { Field, Hop } from './headers.js';
import type { Envelope } from './model.js';

/**
 * Which envelope (client IP, MAIL FROM, HELO) the receiving server saw, from the trace headers
 * it added. Pure.
 *
 * What is trusted: the headers the receiving system itself wrote — those above and including
 * the entry hop's Received header (the topmost Received whose connecting address is public;
 * hops above it from loopback or private addresses are handoffs inside the receiving
 * organisation), and the Received-SPF and Authentication-Results right below it.
 * Anything lower was written by earlier hops or by the sender and proves nothing (RFC 8601
 * §5, RFC 7208 §9.1). Within the trusted block, for each value: the option given on the
 * command line, then Received-SPF (written by the SPF check itself), then
 * Authentication-Results (smtp.mailfrom, smtp.helo), then the entry hop's Received header
 * (IP, HELO) and the topmost Return-Path (MAIL FROM, RFC 5321 §4.4).
 */

/** Fields a receiver may write right below its own Received header. */
const TRACE_BELOW: ReadonlySet<string> = new Set(['received-spf', 'authentication-results']);

export interface EnvelopeOverrides {
  ip?: string;
  mailFrom?: string;
  helo?: string;
  /**
   * The values were seen in the SMTP session by `by`, the receiver itself (the inbound test):
   * nothing in the message was written by the receiving system, so no header is trusted.
   */
  session?: { by: string };
}

export interface EnvelopeDecision {
  envelope: Envelope;
  /** Header fields (by index) written by the receiving system. */
  trustedUntil: number;
  entry?: Hop;
}

/** The address inside "<…>" of a Return-Path or a MAIL FROM, "" for "<>". */
export function pathAddress(value: string): string | undefined {
  const v = stripComments(value).trim();
  const m = /<([^<>]*)>/.exec(v);
  const addr = (m ? m[1]! : v).trim();
  if (addr === '') return m ? '' : undefined;
  return /^[^\s@]+@[^\s@]+$/.test(addr) ? addr : undefined;
}

export function decideEnvelope(
  fields: readonly Field[],
  overrides: EnvelopeOverrides = {},
): EnvelopeDecision {
  if (overrides.session) return sessionEnvelope(overrides, overrides.session.by);
  const hops = hopsOf(fields);
  const entry = entryHop(hops);
  // Trusted: everything above the entry hop's Received, that header, and the Received-SPF and
  // Authentication-Results headers right below it (Gmail writes them there). The first other
  // field below ends what the receiver wrote.
  let trustedUntil = 0;
  if (entry) {
    trustedUntil = entry.hop.field.index;
    while (fields[trustedUntil] && TRACE_BELOW.has(fields[trustedUntil]!.key)) trustedUntil++;
  }
  const trusted = fields.filter((f) => f.index <= trustedUntil);
  const where = entry
    ? `added by ${entry.hop.by ?? 'the receiving host'}, which accepted the message from ${entry.hop.ip}${entry.internal.length ? ` (the ${entry.internal.length} Received header${entry.internal.length === 1 ? '' : 's'} above it ${entry.internal.length === 1 ? 'is an internal handoff' : 'are internal handoffs'})` : ''}`
    : '';

  const env: Envelope = { sources: {} };
  if (entry?.hop.by) env.receivedBy = entry.hop.by;
  const spfHeader = trusted.filter((f) => f.key === 'received-spf').map(parseReceivedSpf)[0];
  const ar = trusted.filter((f) => f.key === 'authentication-results').map(parseAuthResults);
  const arSpf = ar.flatMap((h) => h.results.filter((r) => r.method === 'spf').map((r) => ({ h, r })))[0];

  // Client IP.
  if (overrides.ip) {
    env.ip = overrides.ip;
    env.sources.ip = { header: 'option', why: 'given with --ip' };
  } else if (spfHeader?.keys['client-ip'] && ipFamily(spfHeader.keys['client-ip'])) {
    env.ip = spfHeader.keys['client-ip'];
    env.sources.ip = {
      header: 'Received-SPF',
      index: spfHeader.field.index,
      why: `client-ip= of the receiver's own SPF check (${where})`,
    };
  } else if (entry?.hop.ip) {
    env.ip = entry.hop.ip;
    env.sources.ip = {
      header: 'Received',
      index: entry.hop.field.index,
      why: `the connecting address of the topmost Received header from a public address (${where})`,
    };
  }

  // MAIL FROM.
  const returnPath = fields.find((f) => f.key === 'return-path');
  const rpAddress = returnPath ? pathAddress(returnPath.value) : undefined;
  if (overrides.mailFrom !== undefined) {
    env.mailFrom = pathAddress(overrides.mailFrom) ?? overrides.mailFrom;
    env.sources.mailFrom = { header: 'option', why: 'given with --mail-from' };
  } else if (spfHeader?.keys['envelope-from'] !== undefined) {
    env.mailFrom = pathAddress(spfHeader.keys['envelope-from']) ?? spfHeader.keys['envelope-from'];
    env.sources.mailFrom = {
      header: 'Received-SPF',
      index: spfHeader.field.index,
      why: `envelope-from= of the receiver's own SPF check (${where})`,
    };
  } else if (arSpf?.r.props['smtp.mailfrom']) {
    env.mailFrom = arSpf.r.props['smtp.mailfrom'];
    env.sources.mailFrom = {
      header: 'Authentication-Results',
      index: arSpf.h.field.index,
      why: `smtp.mailfrom of ${arSpf.h.authservId}'s SPF result (${where})`,
    };
  } else if (
    returnPath &&
    rpAddress !== undefined &&
    (trustedUntil === 0 || returnPath.index <= trustedUntil)
  ) {
    env.mailFrom = rpAddress;
    env.sources.mailFrom = {
      header: 'Return-Path',
      index: returnPath.index,
      why: 'the topmost Return-Path, written at final delivery from MAIL FROM (RFC 5321 §4.4)',
    };
  }

  // HELO.
  if (overrides.helo) {
    env.helo = overrides.helo;
    env.sources.helo = { header: 'option', why: 'given with --helo' };
  } else if (spfHeader?.keys.helo) {
    env.helo = spfHeader.keys.helo;
    env.sources.helo = {
      header: 'Received-SPF',
      index: spfHeader.field.index,
      why: `helo= of the receiver's own SPF check (${where})`,
    };
  } else if (entry?.hop.helo) {
    env.helo = entry.hop.helo;
    env.sources.helo = {
      header: 'Received',
      index: entry.hop.field.index,
      why: `the name the client gave in its from-clause (${where})`,
    };
  }
  return { envelope: env, trustedUntil, ...(entry ? { entry: entry.hop } : {}) };
}

/** The envelope of a message received by `by` itself: the session's values, no header trusted. */
function sessionEnvelope(overrides: EnvelopeOverrides, by: string): EnvelopeDecision {
  const env: Envelope = { sources: {}, receivedBy: by };
  const source = { header: 'session', why: `seen by ${by} in the SMTP session that delivered the message` };
  if (overrides.ip) {
    env.ip = overrides.ip;
    env.sources.ip = source;
  }
  if (overrides.mailFrom !== undefined) {
    env.mailFrom = pathAddress(overrides.mailFrom) ?? overrides.mailFrom;
    env.sources.mailFrom = source;
  }
  if (overrides.helo) {
    env.helo = overrides.helo;
    env.sources.helo = source;
  }
  return { envelope: env, trustedUntil: 0 };
}

/** The addresses of a From header: "Name <a@b>, c@d" → ["a@b", "c@d"]. */
export function fromAddresses(value: string): string[] {
  const text = stripComments(value);
  const out: string[] = [];
  let quoted = false;
  let part = '';
  const flush = (): void => {
    const angle = /<([^<>]*)>/.exec(part);
    const addr = (angle ? angle[1]! : part).trim().replace(/^"|"$/g, '');
    if (/^[^\s@]+@[^\s@]+$/.test(addr)) out.push(addr);
    part = '';
  };
  for (const c of text) {
    if (c === '"') quoted = !quoted;
    if (c === ',' && !quoted) flush();
    else part += c;
  }
  flush();
  return out;
}
