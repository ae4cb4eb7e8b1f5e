import { domainToASCII, domainToUnicode } from 'node:url';
import { ipFamily } from '../net/ip-family.js';

/**
 * Turns what a person types into a domain name we can check: trims, lower-cases, drops a
 * trailing dot, converts IDNs to punycode (UTS #46 via WHATWG URL), takes the domain of an
 * email address. Rejects anything that is not a registrable-looking DNS name with a message
 * that says what is accepted. Pure.
 */
export interface NormalizedDomain {
  /** What the user typed, verbatim. */
  input: string;
  /** The domain in ASCII (punycode) form, lower case, no trailing dot: what DNS is asked. */
  ascii: string;
  /** The Unicode form for display; equals `ascii` for non-IDN names. */
  unicode: string;
  /** Set when the input was an email address: its local part. */
  localPart?: string;
}

export type DomainParseResult = { ok: true; domain: NormalizedDomain } | { ok: false; error: string };

export const DOMAIN_ACCEPTS =
  'a domain name such as example.com (Unicode names like bücher.example are fine) or an email address such as user@example.com';

const LDH_LABEL = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;

function reject(error: string): DomainParseResult {
  return { ok: false, error: `${error}. Expected ${DOMAIN_ACCEPTS}.` };
}

function show(text: string): string {
  const clipped = text.length > 80 ? `${text.slice(0, 77)}...` : text;
  return JSON.stringify(clipped);
}

export function normalizeDomain(raw: string): DomainParseResult {
  const input = raw;
  // UTS #46 maps the ideographic and full-width full stops to "." (label separators).
  let text = raw.trim().replace(/[\u3002\uff0e\uff61]/g, '.');
  if (text === '') return reject('No domain was given');
  if (/[\s]/.test(text)) return reject(`${show(raw)} contains spaces`);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text) || /^(mailto|https?):/i.test(text)) {
    return reject(`${show(raw)} is a URL, not a domain; give just the host part`);
  }
  if (text.includes('/')) return reject(`${show(raw)} contains "/" — give a domain, not a URL or path`);

  let localPart: string | undefined;
  const at = text.lastIndexOf('@');
  if (at >= 0) {
    localPart = text.slice(0, at);
    text = text.slice(at + 1);
    if (localPart === '') return reject(`${show(raw)} has nothing before "@"`);
    if (text === '') return reject(`${show(raw)} has no domain after "@"`);
    if (text.startsWith('[')) return reject(`${show(raw)} uses an address literal; give a domain name`);
  }

  const bare = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  if (ipFamily(bare) || /^\d+(\.\d+){3}\.?$/.test(bare)) {
    return reject(
      `${show(raw)} is an IP address; mxdoctor checks domains (to check a server, give its domain)`,
    );
  }
  if (text.endsWith('.')) text = text.slice(0, -1);
  if (text.endsWith('.')) return reject(`${show(raw)} ends with an empty label ("..")`);
  if (text.startsWith('.')) return reject(`${show(raw)} starts with a dot`);
  if (text.includes('..')) return reject(`${show(raw)} contains an empty label ("..")`);

  // Octet limits apply to the ASCII form; check the raw labels first for a precise message.
  const rawLabels = text.split('.');
  if (rawLabels.length < 2) {
    return reject(`${show(raw)} is a single label; mail domains have at least two (e.g. example.com)`);
  }
  // Anything but letters, marks, digits, ".", "-" and "_". ASCII text (nearly every input)
  // takes the same test without Unicode's property classes, which cost ~0.5 ms to compile at
  // the start of every `mxdoctor check` (in ASCII, \p{L} is A-Z a-z, \p{N} 0-9, \p{M} none).
  const allowed = /^[\0-\x7f]*$/.test(text) ? /[^A-Za-z0-9.\-_]/ : /[^\p{L}\p{M}\p{N}.\-_]/u;
  const badChar = allowed.exec(text);
  if (badChar)
    return reject(
      `${show(raw)} contains the character ${JSON.stringify(badChar[0])}, which is not allowed in domain names`,
    );
  if (text.includes('_')) return reject(`${show(raw)} contains "_", which is not allowed in host names`);

  if (/^\d+$/.test(rawLabels[rawLabels.length - 1]!)) {
    return reject(`${show(raw)} ends in an all-numeric label, which no top-level domain is`);
  }
  const ascii = domainToASCII(text.toLowerCase());
  if (ascii === '') return reject(`${show(raw)} is not a valid internationalised domain name`);
  if (ascii.length > 253) return reject(`The domain is ${ascii.length} octets long; the limit is 253`);
  const labels = ascii.split('.');
  for (const label of labels) {
    if (label.length > 63) {
      return reject(`The label ${show(label)} is ${label.length} octets long; the limit is 63`);
    }
    if (!LDH_LABEL.test(label)) {
      return reject(
        `The label ${show(label)} is not valid: labels use letters, digits and hyphens and do not start or end with a hyphen`,
      );
    }
  }
  const tld = labels[labels.length - 1]!;
  if (/^\d+$/.test(tld))
    return reject(`${show(raw)} ends in an all-numeric label, which no top-level domain is`);

  const unicode = domainToUnicode(ascii) || ascii;
  const domain: NormalizedDomain = { input, ascii, unicode };
  if (localPart !== undefined) domain.localPart = localPart;
  return { ok: true, domain };
}

/** Lower-case, no trailing dot: the form in which DNS names are compared. */
export function canonicalName(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}
