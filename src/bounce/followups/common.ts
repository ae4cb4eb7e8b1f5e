import { domainOf } from '../explain.js';
import { classifyAddress } from '../../net/address-guard.js';
import { ipInDiagnostic, isHostAddress, sendingHop } from '../received.js';
import type { BounceRecord, Diagnosis, Original } from '../model.js';
import { normalizeDomain } from '../../input/domain.js';
import type { SessionRecord } from '../../smtp/model.js';
import type { TargetResult } from './types.js';

/**
 * Small helpers the follow-ups share: where a record's sending IP, sender and recipient
 * domains come from, and how remote text is quoted in a verdict sentence.
 */

/** "a, b, c and 2 more". */
export function list(items: readonly string[], max = 4): string {
  if (items.length <= 1) return items.join('');
  if (items.length <= max) return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
  return `${items.slice(0, max).join(', ')} and ${items.length - max} more`;
}

/** Remote text for a sentence: one line, at most `max` characters. */
export function quote(text: string, max = 160): string {
  const t = text.replace(/\s+/g, ' ').trim();
  return t.length <= max ? t : `${t.slice(0, max - 1)}…`;
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** A domain from an address or name, normalised to ASCII, or why it cannot be used. */
export function domainTarget(
  domain: string | null,
  what: string,
): { ok: true; ascii: string } | { ok: false; why: string } {
  if (!domain) return { ok: false, why: `the bounce does not name ${what}.` };
  const parsed = normalizeDomain(domain);
  if (!parsed.ok) return { ok: false, why: `${what} ${JSON.stringify(domain)} is not a valid domain name.` };
  return { ok: true, ascii: parsed.domain.ascii };
}

/** The recipient's domain (ASCII). */
export function recipientDomainOf(
  record: BounceRecord,
): { ok: true; ascii: string } | { ok: false; why: string } {
  return domainTarget(domainOf(record.recipient), 'the recipient domain');
}

/** The original message a record is about (in an mbox of several bounces, its own message's). */
export function originalOf(record: BounceRecord, diagnosis: Diagnosis): Original {
  return record.messageIndex !== undefined
    ? (diagnosis.originals?.[record.messageIndex] ?? diagnosis.original)
    : diagnosis.original;
}

/** Where a sending IP comes from. */
export type IpSource = 'refusal' | 'headers';

export type SendingIp =
  | { ok: true; ip: string; from: IpSource }
  | {
      ok: false;
      why: string;
      /** A non-public sending IP the bounce does name (left out without MXDOCTOR_ALLOW_PRIVATE); kind: "private", "loopback"… */
      nonPublic?: { ip: string; from: IpSource; kind: string };
    };

/**
 * The IP address that sent the refused message: the one the refusal itself names, else the
 * sending hop of the returned headers' Received chain — public addresses first. Private and
 * loopback addresses count only with `allowPrivate` (MXDOCTOR_ALLOW_PRIVATE: they are real
 * targets then, and the refusal's outranks the headers' public hop, as a public one does);
 * without it, a bounce that names only such an address gets a reason that says which and where.
 */
export function sendingIpOf(record: BounceRecord, diagnosis: Diagnosis, allowPrivate: boolean): SendingIp {
  const original = originalOf(record, diagnosis);
  const namedAny = record.clientIp ? null : ipInDiagnostic(record.diagnostic, isHostAddress);
  const hopAny = original.sendingIp ? null : (sendingHop(original.received, isHostAddress)?.ip ?? null);
  if (record.clientIp) return { ok: true, ip: record.clientIp, from: 'refusal' };
  if (allowPrivate && namedAny) return { ok: true, ip: namedAny, from: 'refusal' };
  if (original.sendingIp) return { ok: true, ip: original.sendingIp, from: 'headers' };
  if (allowPrivate && hopAny) return { ok: true, ip: hopAny, from: 'headers' };
  const ip = namedAny ?? hopAny;
  if (ip) {
    const from: IpSource = namedAny ? 'refusal' : 'headers';
    const kind = classifyAddress(ip).category.replace(/_/g, '-');
    return {
      ok: false,
      why: `the sending IP ${ip} ${from === 'refusal' ? 'named in the refusal' : 'in the returned headers'} is a ${kind} address`,
      nonPublic: { ip, from, kind },
    };
  }
  return {
    ok: false,
    why: 'neither the refusal nor the returned headers name the sending IP address; paste the whole bounce, with the original message’s headers.',
  };
}

/**
 * Why a follow-up about the sending IP could not run: the reason of sendingIpOf, completed
 * with what a non-public address means for this check ("blocklists do not list private
 * addresses").
 */
export function sendingIpWhy(
  ip: Extract<SendingIp, { ok: false }>,
  nonPublic: (kind: string) => string,
): string {
  return ip.nonPublic ? `${ip.why}; ${nonPublic(ip.nonPublic.kind)}.` : ip.why;
}

/** The envelope sender (Return-Path, or whom the bounce went to), else the From address. */
export function senderOf(original: Original): string | null {
  return original.sender ?? original.from;
}

/** The domain of the original From (what DMARC protects), else the envelope sender's. */
export function fromDomainOf(original: Original): string | null {
  return domainOf(original.from) ?? domainOf(original.sender);
}

/** A could-not-test target result. */
export function noTarget(why: string): TargetResult {
  return { ok: false, why };
}

/** The transcript lines of SMTP sessions, "C: …" / "S: …", bounded, for a follow-up's details. */
export function transcriptLines(sessions: readonly SessionRecord[], max = 80): string[] {
  const out: string[] = [];
  for (const s of sessions) {
    out.push(`* session to ${s.host} [${s.address}]:${s.port} (${s.kind})`);
    for (const t of s.transcript) {
      if (out.length >= max) return [...out, '… (truncated)'];
      out.push(`${t.dir}: ${t.line}`);
    }
  }
  return out;
}
