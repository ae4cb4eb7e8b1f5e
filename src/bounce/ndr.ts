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

export const ADDRESS_RE =
  /<?([a-z0-9.!#$%&'*+/=?^_`{|}~-]+@(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,63}|[a-z0-9.!#$%&'*+/=?^_`{|}~-]+@\[[0-9a-f:.]+\])>?/gi;

/** Lines that start the returned message (the separator itself is dropped). */
const RETURNED_MARKERS: readonly RegExp[] = [
  /^[ \t]*-{2,}[ \t]*(?:this is a )?copy of (?:the|your) message/im,
  // qmail "--- Below this line is a copy of the message."; OpenSMTPD "Below is a copy of the
  // original message:".
  /^[ \t]*-*[ \t]*below (?:this line )?is a copy of the (?:original )?message/im,
  /^[ \t]*-*[ \t]*(?:original|returned|unsent|undelivered|rejected) message(?: headers)?(?: follows?)?[ \t.:]*-*[ \t]*$/im,
  /^[ \t]*-{2,}[ \t]*(?:original|returned|unsent|undelivered) message/im,
  /^[ \t]*-*[ \t]*(?:the )?(?:original )?message headers? follows?[ \t.:]*-*[ \t]*$/im,
  /^[ \t]*-*[ \t]*(?:headers of the original message|original message headers|the headers of your message)\b/im,
  /^[ \t]*-*[ \t]*(?:a copy of the original message|the original message (?:is )?(?:attached|below|follows))\b/im,
  /^[ \t]*-*[ \t]*(?:bounced|returned|original)[ \t]+e-?mail:?[ \t]*$/im,
  /^[ \t]*-*[ \t]*(?:content-type|content-description): (?:message\/rfc822|text\/rfc822-headers|undelivered message)/im,
];

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
  let cut = -1;
  let skip = 0;
  for (const re of RETURNED_MARKERS) {
    const m = re.exec(text);
    if (m && (cut < 0 || m.index < cut)) {
      cut = m.index;
      skip = m[0].length;
    }
  }
  const lines = text.split(/\r?\n/);
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
  for (const [i, raw] of lines.entries()) {
    let line = raw.trim().replace(BULLET, '');
    line = line.replace(LABELS, '');
    // sendmail: "550 5.1.1 <a@b>... User unknown"; qmail-ish "5.1.1 <a@b>:".
    line = line.replace(/^(?:[245]\d\d[ -](?:[245]\.\d{1,3}\.\d{1,3}\s+)?)(?=<)/, '');
    const m = /^<?([^\s<>()"',;:]+@[^\s<>()"',;:\]]+[a-z0-9\]])>?/i.exec(line);
    if (m && new RegExp(ADDRESS_RE.source, 'i').test(m[1]!)) {
      const rest = line.slice(m[0].length);
      if (AFTER_ADDRESS.test(rest)) {
        const expanded = /^\s*\(expanded from:?\s*<?([^\s<>()]+@[^\s<>()]+?)>?\)/i.exec(rest);
        hits.push({
          line: i,
          address: normalizeAddress(m[1]!),
          original: expanded ? normalizeAddress(expanded[1]!) : null,
        });
        continue;
      }
    }
    // sendmail transcript: ">>> RCPT To:<a@b>".
    const rcpt = /^>>>\s*RCPT\s+TO:\s*<([^<>\s]+@[^<>\s]+)>/i.exec(raw.trim());
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

/** Sentences that name the failed recipient inline. */
const SENTENCE_CUES =
  /(?:error delivering your (?:mail|message) to|(?:wasn'?t|was not|could not be|couldn'?t be|cannot be|can'?t be|has not been) (?:delivered|sent) to|failed to deliver (?:your message )?to|delivery to(?: the following recipients?)?(?: failed)?|undeliverable to|your message to|message for|recipient|addressed to|sent to)\s*:?\s*<?([^\s<>()"',;]+@[^\s<>()"',;]+[a-z0-9])>?/gi;

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
  const lines = notice.split(/\r?\n/);
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
    for (const m of notice.matchAll(SENTENCE_CUES)) {
      const address = normalizeAddress(m[1]!.replace(/\.$/, ''));
      if (excluded(address)) continue;
      const line = notice.slice(0, m.index).split(/\r?\n/).length - 1;
      hits.push({ line, address, original: null });
    }
  }
  // Group the lines after each hit (up to the next hit of another address) under that address.
  const byAddress = new Map<string, { original: string | null; parts: string[] }>();
  hits.sort((a, b) => a.line - b.line);
  for (const [k, hit] of hits.entries()) {
    const end = k + 1 < hits.length ? hits[k + 1]!.line : lines.length;
    const key = hit.address.toLowerCase();
    const entry = byAddress.get(key) ?? { original: hit.original, parts: [] };
    entry.original ??= hit.original;
    entry.parts.push(lines.slice(hit.line, Math.max(end, hit.line + 1)).join('\n'));
    byAddress.set(key, entry);
  }
  const out: TextRecipient[] = [];
  for (const [key, entry] of byAddress) {
    const hit = hits.find((h) => h.address.toLowerCase() === key)!;
    out.push({ recipient: hit.address, originalRecipient: entry.original, block: entry.parts.join('\n') });
  }
  // Recipients X-Failed-Recipients names but the notice does not show.
  for (const f of failed) {
    if (!byAddress.has(f.toLowerCase())) out.push({ recipient: f, originalRecipient: null, block: '' });
  }
  return out;
}

/** Every address in a text, in order, de-duplicated. */
export function addressesIn(text: string): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const m of text.matchAll(ADDRESS_RE)) {
    const a = normalizeAddress(m[1]!);
    if (!seen.has(a.toLowerCase())) {
      seen.add(a.toLowerCase());
      out.push(a);
    }
  }
  return out;
}
