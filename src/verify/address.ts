import { createRequire } from 'node:module';
import { normalizeDomain } from '../input/domain.js';
import type { NormalizedDomain } from '../input/domain.js';

/**
 * Email address syntax for verification (RFC 5321 §4.1.2 and §4.5.3.1, with RFC 6531's UTF-8
 * local parts and IDN domains), role accounts and disposable domains. Pure, except that the
 * disposable-domain list is read once from the disposable-email-domains-js package (a
 * maintained list, not ours).
 */

export interface ParsedAddress {
  /** As given, trimmed. */
  input: string;
  local: string;
  domain: NormalizedDomain;
  /** local@ascii-domain: what RCPT TO asks for. */
  address: string;
  /** The local part is quoted ("john doe"@example.com). */
  quoted: boolean;
  /** The local part has non-ASCII characters: it needs SMTPUTF8 (RFC 6531). */
  utf8: boolean;
  /** A role account (postmaster@, info@, sales@…), usually read by several people or none. */
  role: boolean;
  /** The domain (or a parent) is on the disposable-domain list. */
  disposable: boolean;
}

export type AddressParse =
  { ok: true; address: ParsedAddress } | { ok: false; reason: string; error: string };

// RFC 5321 atext, plus any non-ASCII character (RFC 6531 §3.3 UTF8-non-ascii).
const DOT_STRING =
  /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~\u0080-\u{10ffff}-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~\u0080-\u{10ffff}-]+)*$/u;

/** Local parts of role accounts (lower case, before any +tag). */
export const ROLE_ACCOUNTS: ReadonlySet<string> = new Set([
  'abuse',
  'admin',
  'administrator',
  'billing',
  'compliance',
  'contact',
  'devnull',
  'dns',
  'ftp',
  'hello',
  'help',
  'hostmaster',
  'info',
  'inoc',
  'ispfeedback',
  'ispsupport',
  'jobs',
  'list',
  'list-request',
  'mailer-daemon',
  'marketing',
  'media',
  'news',
  'newsletter',
  'no-reply',
  'noc',
  'noreply',
  'null',
  'office',
  'orders',
  'phish',
  'phishing',
  'postmaster',
  'privacy',
  'registrar',
  'remove',
  'root',
  'sales',
  'security',
  'spam',
  'support',
  'sysadmin',
  'tech',
  'unsubscribe',
  'usenet',
  'uucp',
  'webmaster',
  'www',
]);

let disposableSet: Set<string> | undefined;

function disposableDomains(): Set<string> {
  if (!disposableSet) {
    const require = createRequire(import.meta.url);
    const list = (
      require('disposable-email-domains-js') as { disposableEmailBlocklist: () => string[] }
    ).disposableEmailBlocklist();
    disposableSet = new Set(list.map((d) => d.toLowerCase()));
  }
  return disposableSet;
}

/** Whether a domain, or a domain it is under, is a known disposable-address provider. */
export function isDisposableDomain(ascii: string): boolean {
  const set = disposableDomains();
  const labels = ascii.toLowerCase().split('.');
  for (let i = 0; i < labels.length - 1; i++) if (set.has(labels.slice(i).join('.'))) return true;
  return false;
}

export function isRoleAccount(local: string): boolean {
  return ROLE_ACCOUNTS.has(local.toLowerCase().replace(/\+.*$/, ''));
}

/** A quoted-string local part (RFC 5321 qtextSMTP / quoted-pairSMTP, RFC 6531 UTF-8): whether it is well formed. */
function validQuoted(local: string): boolean {
  if (local.length < 2 || !local.startsWith('"') || !local.endsWith('"')) return false;
  for (let i = 1; i < local.length - 1; i++) {
    const c = local.charCodeAt(i);
    if (c === 0x5c) {
      const n = local.charCodeAt(++i);
      if (i >= local.length - 1 || n < 32 || n > 126) return false;
    } else if (c === 0x22 || (c < 32 && c !== 9) || c === 127) return false;
  }
  return true;
}

export function parseAddress(raw: string): AddressParse {
  const input = raw.trim().replace(/^<(.*)>$/, '$1');
  const bad = (reason: string, error: string): AddressParse => ({ ok: false, reason, error });
  if (input === '') return bad('empty', 'no address was given');
  const at = input.lastIndexOf('@');
  if (at < 0) return bad('no_at', `${show(input)} has no "@": an address is local-part@domain`);
  const local = input.slice(0, at);
  const domainText = input.slice(at + 1);
  if (local === '') return bad('no_local_part', `${show(input)} has nothing before the "@"`);
  if (domainText.startsWith('['))
    return bad(
      'address_literal',
      `${show(input)} names an address literal, not a domain: there is no MX to ask`,
    );
  const quoted = local.startsWith('"');
  if (quoted ? !validQuoted(local) : !DOT_STRING.test(local)) {
    return bad(
      'invalid_local_part',
      `the local part of ${show(input)} is not valid (RFC 5321 §4.1.2: letters, digits and !#$%&'*+/=?^_\`{|}~- separated by single dots, or a quoted string)`,
    );
  }
  if (Buffer.byteLength(local) > 64)
    return bad(
      'local_part_too_long',
      `the local part of ${show(input)} is longer than 64 octets (RFC 5321 §4.5.3.1.1)`,
    );
  const parsed = normalizeDomain(domainText);
  if (!parsed.ok) return bad('invalid_domain', `the domain of ${show(input)}: ${parsed.error}`);
  const address = `${local}@${parsed.domain.ascii}`;
  if (Buffer.byteLength(address) > 254)
    return bad('too_long', `${show(input)} is longer than 254 octets (RFC 5321 §4.5.3.1.3)`);
  return {
    ok: true,
    address: {
      input,
      local,
      domain: parsed.domain,
      address,
      quoted,
      utf8: [...local].some((c) => c.charCodeAt(0) > 0x7f),
      role: !quoted && isRoleAccount(local),
      disposable: isDisposableDomain(parsed.domain.ascii),
    },
  };
}

function show(text: string): string {
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 77)}...` : text);
}
