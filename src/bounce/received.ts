import { classifyAddress, connectAllowed } from '../net/address-guard.js';
import { ipFamily } from '../net/ip-family.js';
import type { ReceivedHop } from './model.js';
import { squash } from './reply.js';

/**
 * The Received chain (RFC 5321 §4.4) of a returned message: who handed the message to whom.
 * Formats vary by MTA — "from helo (rdns [ip]) by host" (Postfix, sendmail), "from helo
 * ([ip]) by" (Exim), "from unknown (HELO helo) (ip)" (qmail), "from host (ip) by host over
 * TLS" (Microsoft) — so the parser looks for the from-clause's address loosely.
 */

/** At most this many hops are kept (a looping message can carry hundreds). */
export const MAX_HOPS = 30;

export function parseReceived(value: string): ReceivedHop {
  const v = squash(value);
  const byAt = v.search(/\bby\s/i);
  const fromPart = /^from\s/i.test(v) ? (byAt > 0 ? v.slice(0, byAt) : v) : '';
  const byMatch = /\bby\s+([^\s;()]+)/i.exec(v);
  const fromName = /^from\s+([^\s;()]+)/i.exec(fromPart)?.[1] ?? null;
  // The connecting address is the one the receiver saw, in the comment: "from helo (rdns [ip])";
  // a bracketed address before it is only what the client claimed in HELO.
  let ip: string | null = null;
  const seen = /\([^()]*?\[(?:IPv6:)?([0-9a-f:.]+)\]/i.exec(fromPart)?.[1]?.replace(/^::ffff:/i, '');
  if (seen && ipFamily(seen)) ip = seen;
  const anyAddress =
    /\[(?:IPv6:)?([0-9a-f:.]+)\]|\(([0-9a-f:.]{7,})\)|(?<![\w.:])(\d{1,3}(?:\.\d{1,3}){3})(?![\w.])/gi;
  for (const m of ip ? [] : fromPart.matchAll(anyAddress)) {
    const candidate = (m[1] ?? m[2] ?? m[3] ?? '').replace(/^::ffff:/i, '');
    if (ipFamily(candidate)) {
      ip = candidate;
      break;
    }
  }
  // Prefer the looked-up name in "(rdns [ip])" over the HELO name.
  const rdns = /\(\s*([a-z0-9][a-z0-9.-]*\.[a-z]{2,})\.?\s*\[/i.exec(fromPart)?.[1] ?? null;
  const name =
    rdns ??
    (fromName && !/^\[/.test(fromName) && !ipFamily(fromName) && !/^(?:unknown|localhost)$/i.test(fromName)
      ? fromName
      : null);
  return {
    from: name ? name.toLowerCase().replace(/\.$/, '') : null,
    ip,
    by: byMatch ? byMatch[1]!.toLowerCase().replace(/\.$/, '') : null,
  };
}

/** Whether an address can be the outside world's view of a sender (not loopback, private…). */
export function isOutsideAddress(ip: string): boolean {
  const c = classifyAddress(ip).category;
  // Documentation ranges stand in for public addresses in published examples.
  return c === 'public' || c === 'documentation';
}

/** Whether an address can be a host's at all (not unspecified, multicast or broadcast). */
export function isHostAddress(ip: string): boolean {
  return connectAllowed(ip, true).ok;
}

/**
 * The address that handed the message to the outside world: the newest hop whose
 * connecting address is public. In a bounce the remote server wrote, that is the sender's
 * outbound MTA; in one the sender's own MTA wrote, it is the closest public hop it saw.
 * `accept` widens "public" (isHostAddress: a private network's outside world).
 */
export function sendingHop(
  hops: readonly ReceivedHop[],
  accept: (ip: string) => boolean = isOutsideAddress,
): ReceivedHop | null {
  return hops.find((h) => h.ip && accept(h.ip)) ?? null;
}

/**
 * The IP address a refusal quotes as the client's ("Client host [192.0.2.1]", "from
 * 192.0.2.1"): the first cue's that `accept` takes (by default, an outside address).
 */
export function ipInDiagnostic(
  text: string,
  accept: (ip: string) => boolean = isOutsideAddress,
): string | null {
  const cues = [
    /client (?:host )?\[([0-9a-f:.]+)\]/i,
    /\[([0-9a-f:.]+)\]\s*(?:the ip address sending|is (?:not|listed|blocked|on)|blocked|has been)/i,
    /(?:messages from|mail from|connections? from|sending ip|ip address|ip|address|client|host|from|for|server)\s*\[?(\d{1,3}(?:\.\d{1,3}){3}|[0-9a-f]*:[0-9a-f:]+)\]?(?![\w.])/i,
    /[?&]ip=(\d{1,3}(?:\.\d{1,3}){3})/i,
    /\b(\d{1,3}(?:\.\d{1,3}){3})\b(?= (?:is listed|has sent|is blocked|blocked|is not allowed|does not have))/i,
  ];
  for (const re of cues) {
    const m = re.exec(text);
    if (m && ipFamily(m[1]!) && accept(m[1]!)) return m[1]!;
  }
  return null;
}
