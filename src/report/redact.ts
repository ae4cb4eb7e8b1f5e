/**
 * Hides the addresses a check verified from readers who are not its owner (see access.ts):
 * every occurrence of an address's local part right before an "@" — in the options, the
 * findings, the SMTP transcripts (RCPT TO:<…>), the servers' replies that echo it, progress
 * messages — becomes "[hidden]", so "ceo@example.com is undeliverable" reads
 * "[hidden]@example.com is undeliverable". The domain stays: it is the checked domain.
 * Pure; returns a copy and never changes its input.
 */
export const HIDDEN = '[hidden]';

/** Characters of a local part (RFC 5322 atext and "."), for the match's left boundary. */
const LOCAL_CHAR = "A-Za-z0-9.!#$%&'*+/=?^_`{|}~-";

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}

/** A replacer for the local parts of `addresses`, or undefined when there is nothing to hide. */
export function addressHider(addresses: readonly string[]): ((text: string) => string) | undefined {
  const locals = [
    ...new Set(
      addresses
        .map((a) => a.slice(0, Math.max(0, a.lastIndexOf('@'))))
        .filter((l) => l !== '' && l !== HIDDEN),
    ),
  ];
  if (locals.length === 0) return undefined;
  // Longest first, so "a.b" wins over "b"; a literal alternation with a one-character
  // look-behind and look-ahead runs in linear time.
  locals.sort((x, y) => y.length - x.length);
  const pattern = new RegExp(`(?<![${LOCAL_CHAR}])(?:${locals.map(escape).join('|')})(?=@)`, 'gi');
  return (text) => text.replace(pattern, HIDDEN);
}

/** A deep copy of `value` (plain JSON data) with the local parts of `addresses` hidden. */
export function redactAddresses<T>(value: T, addresses: readonly string[]): T {
  const hide = addressHider(addresses);
  if (!hide) return value;
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return hide(v);
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [hide(k), walk(x)]));
    }
    return v;
  };
  return walk(value) as T;
}
