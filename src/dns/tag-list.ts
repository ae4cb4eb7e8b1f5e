/**
 * The tag=value list shared by DMARC (RFC 7489 §6.4), DKIM keys (RFC 6376 §3.2), MTA-STS and
 * TLS-RPT TXT records, and BIMI: tags separated by ";", optional whitespace around names,
 * values and separators, an optional final ";". Pure.
 */
export interface Tag {
  name: string;
  value: string;
  /** Offset of the tag in the record. */
  at: number;
}

export type TagListParse =
  { ok: true; tags: Tag[]; map: Map<string, Tag> } | { ok: false; error: string; at: number };

export function parseTagList(text: string, options: { caseInsensitiveNames?: boolean } = {}): TagListParse {
  const tags: Tag[] = [];
  const map = new Map<string, Tag>();
  let offset = 0;
  const parts = text.split(';');
  for (let i = 0; i < parts.length; i++) {
    const raw = parts[i]!;
    const at = offset;
    offset += raw.length + 1;
    if (raw.trim() === '') {
      // Only the last part may be empty (a trailing ";").
      if (i === parts.length - 1 || i === 0) continue;
      return { ok: false, error: `empty tag between ";" separators`, at };
    }
    const eq = raw.indexOf('=');
    if (eq < 0) return { ok: false, error: `"${raw.trim()}" is not a tag=value pair`, at };
    let name = raw.slice(0, eq).trim();
    if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(name)) {
      return { ok: false, error: `"${name}" is not a valid tag name`, at };
    }
    if (options.caseInsensitiveNames) name = name.toLowerCase();
    const value = raw.slice(eq + 1).trim();
    if (map.has(name)) return { ok: false, error: `tag "${name}" appears twice`, at };
    const tag = { name, value, at: at + raw.indexOf(raw.trimStart()) };
    tags.push(tag);
    map.set(name, tag);
  }
  return { ok: true, tags, map };
}

/** The outcome of parsing one record: its value, or the exact problem in words. */
export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };
