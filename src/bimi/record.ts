import { parseTagList } from '../dns/tag-list.js';
import type { Parsed } from '../dns/tag-list.js';

/** BIMI assertion records (draft-brand-indicators-for-message-identification): a pure parser. */

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
