import { randomBytes } from 'node:crypto';

/**
 * One-time test addresses: `test-<token>@<domain>`, the token 26 characters of base32
 * (RFC 4648 alphabet, lower case: local parts survive senders that fold case) carrying 130
 * random bits, so an address cannot be guessed. The receiver accepts an address only while
 * its test waits for a message, and only once. Pure apart from the random token.
 */

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';
/** 26 × 5 = 130 bits of randomness. */
export const TOKEN_LENGTH = 26;
const TOKEN = new RegExp(`^[a-z2-7]{${TOKEN_LENGTH}}$`);
const LOCAL = new RegExp(`^test-([a-z2-7]{${TOKEN_LENGTH}})$`);

/** A fresh random token (130 bits). */
export function newTestToken(): string {
  const bytes = randomBytes(TOKEN_LENGTH);
  let out = '';
  // Each byte picks one of 32 symbols: 256 is a multiple of 32, so there is no bias.
  for (const b of bytes) out += ALPHABET[b & 31];
  return out;
}

export function isTestToken(token: string): boolean {
  return TOKEN.test(token);
}

export function testAddress(token: string, domain: string): string {
  return `test-${token}@${domain}`;
}

export type RecipientVerdict =
  | { kind: 'test'; token: string }
  /** Not the receiver's domain: relaying, refused. */
  | { kind: 'relay'; domain: string }
  /** The receiver's domain, but no test address. */
  | { kind: 'unknown' };

/**
 * What a RCPT TO address is to the receiver. The domain is compared case-insensitively, with
 * an optional trailing dot; the local part of a test address case-insensitively too.
 */
export function classifyRecipient(address: string, domain: string): RecipientVerdict {
  const at = address.lastIndexOf('@');
  if (at <= 0) return { kind: 'unknown' };
  const local = address.slice(0, at).toLowerCase();
  const rcptDomain = address
    .slice(at + 1)
    .toLowerCase()
    .replace(/\.$/, '');
  if (rcptDomain !== domain.toLowerCase()) return { kind: 'relay', domain: rcptDomain.slice(0, 255) };
  const m = LOCAL.exec(local);
  return m ? { kind: 'test', token: m[1]! } : { kind: 'unknown' };
}
