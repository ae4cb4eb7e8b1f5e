/**
 * Human-readable non-delivery reports: the many MTAs and providers that write a note instead
 * of (or besides) an RFC 3464 report. The layouts differ, but they share a grammar:
 *   - a notice, then the returned message after a separator ("--- Below this line is a copy
 *     of the message.", "------ This is a copy of the message, including all the headers.",
 *     "----- Original message -----", "Message headers follow.") or simply a header block;
 *   - each failed recipient starts a line ("<a@b>:", "  a@b", "a@b on <date>", "* a@b",
 *     "Delivery failed: a@b", "550 5.1.1 <a@b>... User unknown"), followed by its reason;
 *   - sendmail-style transcripts tie replies to recipients through ">>> RCPT To:<a@b>".
 * This module finds those pieces without knowing which MTA wrote the note.
 */
import { containsAddress, scanAddresses } from './address.js';
import { firstMatchingLine, splitLines } from './lines.js';

/** Lines that start the returned message (the separator itself is dropped), tried line by line. */
const RETURNED_MARKERS: readonly RegExp[] = [
  /^[ \t]*-{2,}[ \t]*(?:this is a )?copy of (?:the|your) message/i,
  // qmail "--- Below this line is a copy of the message."; OpenSMTPD "Below is a copy of the
  // original message:".
  /^[ \t]*(?:-+[ \t]*)?below (?:this line )?is a copy of the (?:original )?message/i,
  /^[ \t]*(?:-+[ \t]*)?(?:original|returned|unsent|undelivered|rejected) message(?: headers)?(?: follows?)?[ \t.:]*(?:-+[ \t]*)?$/i,
  /^[ \t]*-{2,}[ \t]*(?:original|returned|unsent|undelivered) message/i,
  /^[ \t]*(?:-+[ \t]*)?(?:the )?(?:original )?message headers? follows?[ \t.:]*(?:-+[ \t]*)?$/i,
  /^[ \t]*(?:-+[ \t]*)?(?:headers of the original message|original message headers|the headers of your message)\b/i,
  /^[ \t]*(?:-+[ \t]*)?(?:a copy of the original message|the original message (?:is )?(?:attached|below|follows))\b/i,
  /^[ \t]*(?:-+[ \t]*)?(?:bounced|returned|original)[ \t]+e-?mail:?[ \t]*$/i,
  /^[ \t]*(?:-+[ \t]*)?(?:content-type|content-description): (?:message\/rfc822|text\/rfc822-headers|undelivered message)/i,
];

/** A word every marker line holds. */
const MARKER_CUE = /message|e-?mail|content-(?:type|description)/gi;

const HEADER_NAMES =
  /^(?:return-path|received|from|to|cc|subject|date|message-id|dkim-signature|mime-version|content-type|content-transfer-encoding|delivered-to|x-[\w-]+|authentication-results|arc-[\w-]+|reply-to|sender|user-agent|references|in-reply-to|list-[\w-]+|domainkey-signature|thread-[\w-]+|importance|precedence)\s*:/i;

/** Where a bare header block (the returned message without a marker) starts, or -1. */
function headerBlockStart(lines: readonly string[]): number {
  for (let i = 0; i < lines.length; i++) {
    if (!HEADER_NAMES.test(lines[i]!)) continue;
    if (i > 0 && lines[i - 1]!.trim() !== '' && !/^[ \t]*[-=_#*]{3,}/.test(lines[i - 1]!)) continue;
    let fields = 0;
    let strong = false;
    for (let j = i; j < Math.min(lines.length, i + 40); j++) {
      const line = lines[j]!;
      if (line.trim() === '') break;
      if (/^[ \t]/.test(line)) continue;
      if (!/^[\x21-\x39\x3b-\x7e]+\s*:/.test(line)) break;
      fields++;
      if (/^(?:received|return-path|message-id|date|from|dkim-signature|mime-version)\s*:/i.test(line))
        strong = true;
    }
    if (fields >= 3 && strong) return i;
  }
  return -1;
}

export interface NoticeSplit {
  notice: string;
  returned: string | null;
}

/** Splits a report's text into the notice and the returned message (when inline). */
export function splitReturned(text: string): NoticeSplit {
  const marker = firstMatchingLine(text, RETURNED_MARKERS, MARKER_CUE);
  let cut = marker?.index ?? -1;
  let skip = marker?.length ?? 0;
  const lines = splitLines(text);
  const hb = headerBlockStart(lines);
  if (hb >= 0) {
    const at = lines.slice(0, hb).reduce((n, l) => n + l.length + 1, 0);
    if (cut < 0 || at < cut) {
      cut = at;
      skip = 0;
    }
  }
  if (cut < 0) return { notice: text, returned: null };
  return {
    notice: text.slice(0, cut),
    // The rest of the marker line ("." or "-----" after "… copy of the message") is not the message.
    returned: text
      .slice(cut + skip)
      .replace(/^[^\n]*\n/, (first) => (/^[\s\-=.:]*$/.test(first) ? '' : first)),
  };
}

export interface TextRecipient {
  recipient: string;
  /** The address before alias expansion (Postfix "expanded from"). */
  originalRecipient: string | null;
  /** The lines that talk about this recipient. */
  block: string;
}

const LABELS =
  /^(?:(?:final[- ]|original[- ]|failed[- ]|invalid[- ]|unknown[- ]|bad[- ])?recipient(?:s|\(s\))?(?:[- ]address(?:es)?)?|(?:e-?mail )?address(?:es)?|delivery (?:has )?failed(?: to)?|delivery to|failed(?: address(?:es)?)?|undeliverable(?: to)?|rcpt to|(?:could not|cannot|couldn'?t) be delivered to|destinataire|empf(?:ä|ae)nger|宛先|受信者|送信先|[\w ]*mailbox)\s*[:：]\s*/i;
const BULLET = /^(?:[*•·>-]|\d+[.)])\s+/;
/** What may follow an address that starts a recipient line. */
const AFTER_ADDRESS =
  /^(?:$|\s*[:;,]|\s*\.\.\.|\s+on\s|\s*\[|\s*\(|\s+-+\s|\s*<|\s.*(?:\b(?:error|invalid|unknown|fail(?:ed|ure)?|reject(?:ed)?|refused|denied|full|quota|unable|no such|does not|not (?:found|exist|reachable|valid))\b|\b[245]\d\d\b))/i;

interface Hit {
  line: number;
  address: string;
  original: string | null;
}

function normalizeAddress(address: string): string {
  const at = address.lastIndexOf('@');
  return at < 0 ? address : `${address.slice(0, at)}@${address.slice(at + 1).toLowerCase()}`;
}

/** Addresses that sit where a failed recipient is named, line by line. */
function recipientHits(lines: readonly string[], localParts: ReadonlyMap<string, string>): Hit[] {
  const hits: Hit[] = [];
  // By index: most of a notice's lines are skipped at once, and until the optimising compiler
  // takes the loop on, the iterator of entries() cost a call and two allocations per line.
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    // Every hit names an address, but for a bare local part that X-Failed-Recipients completes.
    if (!raw.includes('@') && localParts.size === 0) continue;
    let line = raw.trim().replace(BULLET, '');
    line = line.replace(LABELS, '');
    // sendmail: "550 5.1.1 <a@b>... User unknown"; qmail-ish "5.1.1 <a@b>:".
    line = line.replace(/^(?:[245]\d\d[ -](?:[245]\.\d{1,3}\.\d{1,3}\s+)?)(?=<)/, '');
    // The local part stops at the first "@" (the domain part may hold more): one way to split,
    // so a token of many "@" is read once, not once per "@".
    const m = /^<?([^\s<>()"',;:@]+@[^\s<>()"',;:\]]+[a-z0-9\]])>?/i.exec(line);
    if (m && containsAddress(m[1]!)) {
      const rest = line.slice(m[0].length);
      if (AFTER_ADDRESS.test(rest)) {
        const expanded = /^\s*\(expanded from:?\s*<?([^\s<>()@]+@[^\s<>()]+?)>?\)/i.exec(rest);
        hits.push({
          line: i,
          address: normalizeAddress(m[1]!),
          original: expanded ? normalizeAddress(expanded[1]!) : null,
        });
        continue;
      }
    }
    // sendmail transcript: ">>> RCPT To:<a@b>".
    const rcpt = /^>>>\s*RCPT\s+TO:\s*<([^<>\s@]+@[^<>\s]+)>/i.exec(raw.trim());
    if (rcpt) {
      hits.push({ line: i, address: normalizeAddress(rcpt[1]!), original: null });
      continue;
    }
    // A local part alone, when X-Failed-Recipients names the full address (Exim with a bare local part).
    const bare = raw.trim();
    const full = localParts.get(bare.toLowerCase());
    if (full && /^\s{1,8}\S+$/.test(raw)) hits.push({ line: i, address: full, original: null });
  }
  return hits;
}

/**
 * Sentences that name the failed recipient inline. The address is bounded as RFC 5321 §4.5.3.1
 * bounds it (64 octets of local part, 255 of domain): a cue word can recur inside one long
 * token, and each occurrence reads at most one address's length of it.
 */
const SENTENCE_CUES =
  /(?:error delivering your (?:mail|message) to|(?:wasn'?t|was not|could not be|couldn'?t be|cannot be|can'?t be|has not been) (?:delivered|sent) to|failed to deliver (?:your message )?to|delivery to(?: the following recipients?)?(?: failed)?|undeliverable to|your message to|message for|recipient|addressed to|sent to)\s*(?::\s*)?<?([^\s<>()"',;@]{1,64}@[^\s<>()"',;]{1,254}[a-z0-9])>?/gi;

/**
 * The failed recipients a notice names, each with the text about it. `exclude` lists
 * addresses that are not recipients (the bounce's own To, the original sender, postmaster).
 * `failed` is X-Failed-Recipients when present: it names the recipients for sure.
 */
export function extractRecipients(
  notice: string,
  exclude: ReadonlySet<string>,
  failed: readonly string[] = [],
): TextRecipient[] {
  const lines = splitLines(notice);
  const localParts = new Map<string, string>();
  for (const f of failed) localParts.set(f.slice(0, f.lastIndexOf('@')).toLowerCase(), f);
  const excluded = (a: string): boolean =>
    exclude.has(a.toLowerCase()) ||
    /^(?:postmaster|mailer-daemon|mail-daemon|abuse|support|help|noreply|no-reply)@/i.test(a);

  let hits = recipientHits(lines, localParts).filter((h) => !excluded(h.address));
  if (failed.length > 0) {
    const wanted = new Set(failed.map((f) => f.toLowerCase()));
    const matching = hits.filter((h) => wanted.has(h.address.toLowerCase()));
    hits = matching;
  }
  if (hits.length === 0) {
    // No recipient line: look for a sentence naming one.
    // Line numbers counted as the matches advance, not from the start for each one.
    let line = 0;
    let counted = 0;
    for (const m of notice.matchAll(SENTENCE_CUES)) {
      const address = normalizeAddress(m[1]!.replace(/\.$/, ''));
      if (excluded(address)) continue;
      for (let nl = notice.indexOf('\n', counted); nl >= 0 && nl < m.index; nl = notice.indexOf('\n', nl + 1))
        line++;
      counted = m.index;
      hits.push({ line, address, original: null });
    }
  }
  // Group the lines after each hit (up to the next hit of another address) under that address,
  // at most MAX_BLOCK characters per address: hits that share one long line each get that line.
  const byAddress = new Map<
    string,
    { address: string; original: string | null; parts: string[]; size: number }
  >();
  hits.sort((a, b) => a.line - b.line);
  let last: { from: number; to: number; max: number; text: string } | null = null;
  for (const [k, hit] of hits.entries()) {
    const end = k + 1 < hits.length ? hits[k + 1]!.line : lines.length;
    const key = hit.address.toLowerCase();
    const entry = byAddress.get(key) ?? { address: hit.address, original: hit.original, parts: [], size: 0 };
    entry.original ??= hit.original;
    byAddress.set(key, entry);
    if (entry.size >= MAX_BLOCK) continue;
    const range = { from: hit.line, to: Math.max(end, hit.line + 1), max: MAX_BLOCK - entry.size };
    // Hits on one line share the very same text (later steps remember what they read per text).
    const part: string =
      last && last.from === range.from && last.to === range.to && last.max === range.max
        ? last.text
        : blockText(lines, range.from, range.to, range.max);
    // Field by field: a spread copy gets a new hidden class each time (V8 11), and `last.from`
    // above went megamorphic.
    last = { from: range.from, to: range.to, max: range.max, text: part };
    entry.parts.push(part);
    entry.size += part.length + 1;
  }
  const out: TextRecipient[] = [];
  for (const entry of byAddress.values()) {
    out.push({ recipient: entry.address, originalRecipient: entry.original, block: entry.parts.join('\n') });
  }
  // Recipients X-Failed-Recipients names but the notice does not show.
  for (const f of failed) {
    if (!byAddress.has(f.toLowerCase())) out.push({ recipient: f, originalRecipient: null, block: '' });
  }
  return out;
}

/**
 * The most text kept about one recipient. A reason is a few lines (the longest real ones, with
 * a transcript, are under 4,000 characters); what goes beyond is not about this recipient, and
 * each record reads its text several times.
 */
export const MAX_BLOCK = 8_000;

/** Lines [from, to) joined, cut at `max` characters without joining more than needed. */
function blockText(lines: readonly string[], from: number, to: number, max: number): string {
  let out = '';
  for (let i = from; i < to && out.length < max; i++) out += (i > from ? '\n' : '') + lines[i]!;
  return out.length > max ? out.slice(0, max) : out;
}

/** Every address in a text, in order, de-duplicated. */
export function addressesIn(text: string): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const m of scanAddresses(text)) {
    const a = normalizeAddress(m.address);
    if (!seen.has(a.toLowerCase())) {
      seen.add(a.toLowerCase());
      out.push(a);
    }
  }
  return out;
}
