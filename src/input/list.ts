import { normalizeDomain } from './domain.js';
import type { NormalizedDomain } from './domain.js';

/**
 * Lists of domains or addresses, one a line, as `mxdoctor check --file`, `mxdoctor verify
 * --file` and the batch API read them. Pure: text in, entries with their line numbers out.
 * Blank lines and comments (a `#` at the start of a line or after white space) are skipped;
 * a line that is not valid is reported with its number and the rest of the list still counts.
 * A CSV export works too: the first field of each line is taken, and a header line whose
 * first field is "domain", "email" or "address" is skipped.
 */

export interface ListLine {
  /** 1-based line number in the input. */
  line: number;
  /** The line's entry, trimmed, comment removed. */
  text: string;
}

export interface InvalidLine {
  line: number;
  text: string;
  error: string;
}

export interface ListLimits {
  /** Most entries accepted; the rest are reported as one invalid line. */
  maxEntries: number;
  /** Longest line considered (RFC 5321 limits a path to 256 octets). */
  maxLineLength: number;
}

export const DEFAULT_LIST_LIMITS: ListLimits = { maxEntries: 100_000, maxLineLength: 1024 };

const HEADER = /^(?:domain|domains|email|e-mail|address|addresses|mail)$/i;

/** Splits a list into entries (line number + text); comments, blanks and a CSV header are skipped. */
export function listLines(
  text: string,
  limits: ListLimits = DEFAULT_LIST_LIMITS,
): { entries: ListLine[]; invalid: InvalidLine[] } {
  const entries: ListLine[] = [];
  const invalid: InvalidLine[] = [];
  const lines = text.replace(/^\uFEFF/, '').split(/\r\n|\r|\n/);
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    const line = i + 1;
    if (raw.length > limits.maxLineLength) {
      invalid.push({
        line,
        text: `${raw.slice(0, 40)}…`,
        error: `longer than ${limits.maxLineLength} characters`,
      });
      continue;
    }
    const hash = raw.search(/(?:^|\s)#/);
    let entry = (hash >= 0 ? raw.slice(0, hash) : raw).trim();
    // A CSV export: the first field, unquoted.
    if (/[,;\t]/.test(entry)) entry = entry.split(/[,;\t]/)[0]!.trim();
    if (/^".*"$/.test(entry)) entry = entry.slice(1, -1).trim();
    if (entry === '') continue;
    if (entries.length === 0 && invalid.length === 0 && HEADER.test(entry)) continue;
    if (entries.length >= limits.maxEntries) {
      invalid.push({
        line,
        text: entry,
        error: `more than ${limits.maxEntries} entries; the rest of the list was not read`,
      });
      break;
    }
    entries.push({ line, text: entry });
  }
  return { entries, invalid };
}

export interface DomainEntry {
  line: number;
  /** What the line said (a domain or an address). */
  input: string;
  domain: NormalizedDomain;
}

/**
 * The domains of a list (one domain or address a line), each once: a line whose domain
 * appeared earlier is reported as a duplicate, with the line it repeats.
 */
export function domainList(
  text: string,
  limits: ListLimits = DEFAULT_LIST_LIMITS,
): { domains: DomainEntry[]; invalid: InvalidLine[]; duplicates: (ListLine & { of: number })[] } {
  const { entries, invalid } = listLines(text, limits);
  const domains: DomainEntry[] = [];
  const duplicates: (ListLine & { of: number })[] = [];
  const seen = new Map<string, number>();
  for (const e of entries) {
    const parsed = normalizeDomain(e.text);
    if (!parsed.ok) {
      invalid.push({ line: e.line, text: e.text, error: parsed.error });
      continue;
    }
    const first = seen.get(parsed.domain.ascii);
    if (first !== undefined) {
      duplicates.push({ ...e, of: first });
      continue;
    }
    seen.set(parsed.domain.ascii, e.line);
    domains.push({ line: e.line, input: e.text, domain: parsed.domain });
  }
  invalid.sort((a, b) => a.line - b.line);
  return { domains, invalid, duplicates };
}
