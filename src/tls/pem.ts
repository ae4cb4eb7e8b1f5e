/** PEM certificates (RFC 7468): the blocks of a text, and the DER of one block. */

export const PEM_BEGIN = '-----BEGIN CERTIFICATE-----';
export const PEM_END = '-----END CERTIFICATE-----';

/**
 * The PEM certificate blocks of a text, in order, each BEGIN up to the first END after it, at
 * most `max` of them; found with indexOf, linear in the text.
 */
export function pemBlocks(text: string, max = Infinity): string[] {
  const out: string[] = [];
  let from = 0;
  while (out.length < max) {
    const begin = text.indexOf(PEM_BEGIN, from);
    if (begin < 0) break;
    const end = text.indexOf(PEM_END, begin + PEM_BEGIN.length);
    if (end < 0) break;
    out.push(text.slice(begin, end + PEM_END.length));
    from = end + PEM_END.length;
  }
  return out;
}

/**
 * The DER bytes of a PEM certificate (BEGIN CERTIFICATE first), when its body is plain
 * base64 that any decoder reads alike; undefined for anything else, which OpenSSL may still
 * read in its own way.
 */
export function pemDer(pem: string): Buffer | undefined {
  const begin = pem.indexOf(PEM_BEGIN);
  const end = begin < 0 ? -1 : pem.indexOf(PEM_END, begin + PEM_BEGIN.length);
  if (end < 0 || !/^\s*$/.test(pem.slice(0, begin))) return undefined;
  const body = pem.slice(begin + PEM_BEGIN.length, end).replace(/\s+/g, '');
  return body.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(body)
    ? Buffer.from(body, 'base64')
    : undefined;
}
