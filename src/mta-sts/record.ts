import { parseTagList } from '../dns/tag-list.js';

/**
 * MTA-STS (RFC 8461) and TLS-RPT (RFC 8460) records, and BIMI assertion records: pure
 * parsers that keep the exact problem, plus MX pattern matching (§4.1).
 */

export interface StsTxt {
  id: string;
  /** Extension tags (allowed, ignored). */
  extensions: string[];
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

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
    const m = /^([A-Za-z0-9_]+)[ \t]*:[ \t]*(.*?)[ \t]*$/.exec(line);
    if (!m) return { ok: false, error: `line ${i + 1} "${line.slice(0, 60)}" is not "key: value"` };
    const key = m[1]!.toLowerCase();
    if (!['version', 'mode', 'mx', 'max_age'].includes(key)) warnings.push(`unknown key "${m[1]}" (ignored)`);
    fields.set(key, [...(fields.get(key) ?? []), m[2]!]);
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

export interface TlsRptRecord {
  rua: { uri: string; scheme: 'mailto' | 'https' }[];
}

/** `_smtp._tls.<domain>` TXT (RFC 8460 §3). */
export function parseTlsRpt(text: string): Parsed<TlsRptRecord> {
  const list = parseTagList(text);
  if (!list.ok) return { ok: false, error: list.error };
  if (list.tags[0]?.name !== 'v' || list.tags[0].value !== 'TLSRPTv1') {
    return { ok: false, error: 'the record must start with "v=TLSRPTv1"' };
  }
  const rua = list.map.get('rua')?.value;
  if (rua === undefined || rua.trim() === '') return { ok: false, error: 'the required tag rua= is missing' };
  const uris: TlsRptRecord['rua'] = [];
  for (const raw of rua.split(',').map((u) => u.trim())) {
    if (/^mailto:[^\s@]+@[^\s@]+\.[^\s@]+$/i.test(raw)) uris.push({ uri: raw, scheme: 'mailto' });
    else if (/^https:\/\/[^\s/]+/i.test(raw)) {
      try {
        new URL(raw);
        uris.push({ uri: raw, scheme: 'https' });
      } catch {
        return { ok: false, error: `rua: "${raw}" is not a valid https: URL` };
      }
    } else {
      return { ok: false, error: `rua: "${raw}" must be a mailto: address or an https: URL` };
    }
  }
  return { ok: true, value: { rua: uris } };
}

export interface BimiRecord {
  /** l=: the SVG logo URL; "" for a declination record. */
  logo: string;
  /** a=: the VMC/CMC (evidence document) URL, when given. */
  authority?: string;
  problems: string[];
}

/** `default._bimi.<domain>` TXT: v=BIMI1; l=…; a=… */
export function parseBimi(text: string): Parsed<BimiRecord> {
  const list = parseTagList(text);
  if (!list.ok) return { ok: false, error: list.error };
  if (list.tags[0]?.name !== 'v' || list.tags[0].value !== 'BIMI1') {
    return { ok: false, error: 'the record must start with "v=BIMI1"' };
  }
  const logo = list.map.get('l')?.value;
  if (logo === undefined) return { ok: false, error: 'the l= tag (logo URL) is missing' };
  const authority = list.map.get('a')?.value;
  const problems: string[] = [];
  if (logo !== '') {
    let url: URL | undefined;
    try {
      url = new URL(logo.split(',')[0]!.trim());
    } catch {
      problems.push(`l=${logo} is not a URL`);
    }
    if (url && url.protocol !== 'https:') problems.push(`l=${logo} must be an https: URL`);
    if (url && !url.pathname.toLowerCase().endsWith('.svg'))
      problems.push(`l=${logo} should point at an SVG file (SVG Tiny PS)`);
  }
  if (authority) {
    try {
      if (new URL(authority).protocol !== 'https:') problems.push(`a=${authority} must be an https: URL`);
    } catch {
      problems.push(`a=${authority} is not a URL`);
    }
  }
  return { ok: true, value: { logo, ...(authority ? { authority } : {}), problems } };
}
