import { parseTagList } from '../dns/tag-list.js';
import type { Parsed } from '../dns/tag-list.js';

/**
 * MTA-STS (RFC 8461) records and policies: pure parsers that keep the exact problem, plus
 * MX pattern matching (§4.1).
 */

export interface StsTxt {
  id: string;
  /** Extension tags (allowed, ignored). */
  extensions: string[];
}

/** `_mta-sts.<domain>` TXT: "v=STSv1; id=…" (RFC 8461 §3.1). */
export function parseStsTxt(text: string): Parsed<StsTxt> {
  const list = parseTagList(text);
  if (!list.ok) return { ok: false, error: list.error };
  if (list.tags[0]?.name !== 'v' || list.tags[0].value !== 'STSv1') {
    return { ok: false, error: 'the record must start with "v=STSv1"' };
  }
  const id = list.map.get('id')?.value;
  if (id === undefined) return { ok: false, error: 'the required tag id= is missing' };
  if (!/^[A-Za-z0-9]{1,32}$/.test(id)) {
    return {
      ok: false,
      error: `id=${id} must be 1 to 32 letters and digits (RFC 8461 §3.1), e.g. id=20250101T000000`,
    };
  }
  return {
    ok: true,
    value: {
      id,
      extensions: list.tags
        .filter((t) => t.name !== 'v' && t.name !== 'id')
        .map((t) => `${t.name}=${t.value}`),
    },
  };
}

export type StsMode = 'enforce' | 'testing' | 'none';

export interface StsPolicy {
  version: string;
  mode: StsMode;
  mx: string[];
  maxAge: number;
  lineEndings: 'crlf' | 'lf' | 'mixed' | 'none';
  /** Non-fatal: unknown keys, duplicates. */
  warnings: string[];
}

/** Largest max_age (RFC 8461 §3.2: 31557600 seconds, about a year). */
export const MAX_MAX_AGE = 31_557_600;

/** The policy file (RFC 8461 §3.2): key: value lines, CRLF (LF accepted). */
export function parseStsPolicy(text: string): Parsed<StsPolicy> {
  const crlf = (text.match(/\r\n/g) ?? []).length;
  const lf = (text.match(/(?<!\r)\n/g) ?? []).length;
  const lineEndings = crlf && lf ? 'mixed' : crlf ? 'crlf' : lf ? 'lf' : 'none';
  if (/\r(?!\n)/.test(text))
    return { ok: false, error: 'the policy contains a bare CR; lines must end in CRLF (or LF)' };
  const fields = new Map<string, string[]>();
  const warnings: string[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    const m = /^([A-Za-z0-9_]+)[ \t]*:(.*)$/.exec(line);
    if (!m) return { ok: false, error: `line ${i + 1} "${line.slice(0, 60)}" is not "key: value"` };
    const key = m[1]!.toLowerCase();
    if (!['version', 'mode', 'mx', 'max_age'].includes(key)) warnings.push(`unknown key "${m[1]}" (ignored)`);
    fields.set(key, [...(fields.get(key) ?? []), trimBlanks(m[2]!)]);
  }
  for (const key of ['version', 'mode', 'max_age']) {
    if ((fields.get(key)?.length ?? 0) > 1)
      warnings.push(`"${key}" appears ${fields.get(key)!.length} times; senders use the first`);
  }
  const version = fields.get('version')?.[0];
  if (version !== 'STSv1') {
    return {
      ok: false,
      error:
        version === undefined ? 'the "version: STSv1" line is missing' : `version: ${version} is not "STSv1"`,
    };
  }
  const mode = fields.get('mode')?.[0];
  if (mode !== 'enforce' && mode !== 'testing' && mode !== 'none') {
    return {
      ok: false,
      error:
        mode === undefined ? 'the "mode:" line is missing' : `mode: ${mode} is not enforce, testing or none`,
    };
  }
  const maxAgeText = fields.get('max_age')?.[0];
  if (maxAgeText === undefined) return { ok: false, error: 'the "max_age:" line is missing' };
  if (!/^\d{1,10}$/.test(maxAgeText) || Number(maxAgeText) > MAX_MAX_AGE) {
    return {
      ok: false,
      error: `max_age: ${maxAgeText} must be a number of seconds from 0 to ${MAX_MAX_AGE}`,
    };
  }
  const mx = (fields.get('mx') ?? []).map((p) => p.toLowerCase().replace(/\.$/, ''));
  const badMx = mx.find(
    (p) => !/^(\*\.)?([a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/.test(p),
  );
  if (badMx !== undefined)
    return { ok: false, error: `mx: ${badMx} is not a host name or "*.domain" pattern` };
  if (mx.length === 0 && mode !== 'none') {
    return { ok: false, error: `mode ${mode} needs at least one "mx:" line` };
  }
  return { ok: true, value: { version, mode, mx, maxAge: Number(maxAgeText), lineEndings, warnings } };
}

/** RFC 8461 §4.1: "*.example.com" matches exactly one label in place of "*". */
export function mxMatchesPattern(host: string, pattern: string): boolean {
  const h = host.toLowerCase().replace(/\.$/, '');
  const p = pattern.toLowerCase();
  if (!p.startsWith('*.')) return h === p;
  const suffix = p.slice(1);
  if (!h.endsWith(suffix)) return false;
  const label = h.slice(0, -suffix.length);
  return label.length > 0 && !label.includes('.');
}

/** A value without the spaces and tabs around it (scanned, not a pattern tried at every blank). */
function trimBlanks(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && (s[start] === ' ' || s[start] === '\t')) start++;
  while (end > start && (s[end - 1] === ' ' || s[end - 1] === '\t')) end--;
  return s.slice(start, end);
}
