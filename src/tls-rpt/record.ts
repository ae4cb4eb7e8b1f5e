import { parseTagList } from '../dns/tag-list.js';
import type { Parsed } from '../dns/tag-list.js';

/** TLS-RPT (RFC 8460) policy records: a pure parser that keeps the exact problem. */

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
    if (/^mailto:[^\s@]+@[^\s@][^\s@.]*\.[^\s@]+$/i.test(raw)) uris.push({ uri: raw, scheme: 'mailto' });
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
