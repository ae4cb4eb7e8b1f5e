/**
 * Mailboxes in a header field value (RFC 5322 §3.4), read leniently: enough to count the
 * addresses of From, find the address and domain behind a display name, and notice a display
 * name that is itself an address. Pure, linear in the length of the value.
 */
export interface Mailbox {
  /** The display name as written (quotes removed), empty when none. */
  name: string;
  /** local@domain, as written. */
  address: string;
  /** The domain, lower case, without a trailing dot ("" when the address has none). */
  domain: string;
}

/** Splits at commas outside quotes, angle brackets and comments. */
function splitList(value: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  let angle = 0;
  let comment = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (c === '\\' && i + 1 < value.length) {
      cur += c + value[++i];
      continue;
    }
    if (quoted) {
      if (c === '"') quoted = false;
    } else if (c === '"') quoted = true;
    else if (c === '(') comment++;
    else if (c === ')' && comment > 0) comment--;
    else if (c === '<' && comment === 0) angle++;
    else if (c === '>' && angle > 0 && comment === 0) angle--;
    if (c === ',' && !quoted && angle === 0 && comment === 0) {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out.map((s) => s.trim()).filter(Boolean);
}

function stripComments(value: string): string {
  let out = '';
  let depth = 0;
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (c === '\\' && i + 1 < value.length) {
      if (depth === 0) out += c + value[i + 1];
      i++;
      continue;
    }
    if (!quoted && c === '(') depth++;
    else if (!quoted && c === ')' && depth > 0) depth--;
    else if (depth === 0) {
      if (c === '"') quoted = !quoted;
      out += c;
    }
  }
  return out;
}

export function domainOf(address: string): string {
  const at = address.lastIndexOf('@');
  return at < 0
    ? ''
    : address
        .slice(at + 1)
        .trim()
        .toLowerCase()
        .replace(/\.$/, '');
}

/** The mailboxes of an address-list value (groups flattened, at most 100). */
export function parseMailboxes(value: string): Mailbox[] {
  const boxes: Mailbox[] = [];
  // "group: a@b, c@d;" — drop the group name and the closing semicolon.
  const flat = stripComments(value)
    .replace(/^[^"<>,@]*:(?![^<]*>)/, '')
    .replace(/;\s*$/, '');
  for (const item of splitList(flat).slice(0, 100)) {
    const lt = item.lastIndexOf('<');
    const gt = item.lastIndexOf('>');
    let name = '';
    let address: string;
    if (lt >= 0 && gt > lt) {
      address = item.slice(lt + 1, gt).trim();
      name = item.slice(0, lt).trim();
    } else {
      address = item.trim();
    }
    if (name.startsWith('"') && name.endsWith('"') && name.length >= 2)
      name = name.slice(1, -1).replace(/\\(.)/g, '$1');
    boxes.push({ name, address, domain: domainOf(address) });
  }
  return boxes;
}

const LOCAL_CHAR = /[A-Za-z0-9._%+-]/;
const DOMAIN_CHAR = /[A-Za-z0-9.-]/;

/** Whether a text is a host name with a top-level label of letters ("bank.example"). */
function looksLikeDomain(domain: string): boolean {
  const labels = domain.split('.');
  return (
    labels.length >= 2 &&
    labels.every((l) => /^[A-Za-z0-9-]{1,63}$/.test(l)) &&
    /^[A-Za-z]{2,63}$/.test(labels[labels.length - 1]!)
  );
}

/**
 * An address-like text inside a display name ("support@bank.example" <x@elsewhere>). A scan
 * outwards from each "@" (no regular expression over the whole name), over the first 500
 * characters.
 */
export function addressInName(name: string): string | undefined {
  const text = name.slice(0, 500);
  for (let at = text.indexOf('@'); at >= 0; at = text.indexOf('@', at + 1)) {
    let start = at;
    while (start > 0 && at - start < 64 && LOCAL_CHAR.test(text[start - 1]!)) start--;
    let end = at + 1;
    while (end < text.length && DOMAIN_CHAR.test(text[end]!)) end++;
    const local = text.slice(start, at);
    let stop = end;
    while (stop > at + 1 && text[stop - 1] === '.') stop--;
    const domain = text.slice(at + 1, stop);
    if (local && looksLikeDomain(domain)) return `${local}@${domain}`;
  }
  return undefined;
}
