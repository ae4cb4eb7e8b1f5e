import { normalizeDomain } from './domain.js';
import type { NormalizedDomain } from './domain.js';

/**
 * An address whose delivery is to be verified (RCPT TO, nothing sent): the one validator of
 * the CLI's --verify, the API's and the web form's `verify`. The address must be at the
 * checked domain, and its local part printable ASCII without spaces, quotes, brackets or
 * separators: no control character (NUL, CR, LF, ESC, DEL…) can reach an SMTP command line,
 * the stored report or a page. Pure.
 */
export type VerifyAddress = { ok: true; address: string } | { ok: false; problem: string };

/** Longest local part (RFC 5321 §4.5.3.1.1). */
export const MAX_LOCAL_PART = 64;

// Printable ASCII (0x21–0x7e) without what needs quoting or separates addresses.
const LOCAL_PART = /^[!#-'*+\-./0-9=?A-Z^-~]+$/;
// eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

function show(text: string): string {
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 77)}...` : text);
}

/**
 * Checks `raw` as an address to verify at `domain` (when known) and normalises it: the
 * domain in ASCII, lower case. The problem, when there is one, is a sentence that starts
 * with the address as given.
 */
export function parseVerifyAddress(raw: string, domain?: NormalizedDomain): VerifyAddress {
  const text = raw.trim();
  const example = `postmaster@${domain?.unicode ?? 'example.com'}`;
  if (CONTROL.test(text))
    return {
      ok: false,
      problem: `${show(raw)} contains a control character; give a plain address like ${example}.`,
    };
  const at = text.lastIndexOf('@');
  const local = at > 0 ? text.slice(0, at) : '';
  const parsed = at > 0 ? normalizeDomain(text.slice(at + 1)) : undefined;
  if (!local || !parsed?.ok)
    return { ok: false, problem: `${show(raw)} is not an email address; give addresses like ${example}.` };
  if (domain && parsed.domain.ascii !== domain.ascii)
    return {
      ok: false,
      problem: `${show(raw)} is not at ${domain.unicode}: only addresses at ${domain.unicode} can be verified, since their delivery is tested on its MX hosts (addresses to verify must be at the checked domain).`,
    };
  if (local.length > MAX_LOCAL_PART || !LOCAL_PART.test(local))
    return {
      ok: false,
      problem: `${show(raw)}: the local part must be at most ${MAX_LOCAL_PART} characters of printable ASCII without spaces, quotes, brackets, "\\", ",", ";" or ":" (quoted and non-ASCII local parts are not supported).`,
    };
  return { ok: true, address: `${local}@${parsed.domain.ascii}` };
}
