import { parseReceived } from '../bounce/received.js';
import { isOutsideAddress } from '../bounce/received.js';

/**
 * The header section of a received message, and what its trace headers say: Received
 * (RFC 5321 §4.4), Received-SPF (RFC 7208 §9.1), Authentication-Results (RFC 8601) and
 * Return-Path. Pure and bounded: at most MAX_HEADER_BYTES of header and MAX_FIELDS fields
 * are read; every pattern runs in linear time.
 */

export const MAX_HEADER_BYTES = 1024 * 1024;
export const MAX_FIELDS = 2000;

export interface Field {
  /** Position from the top, 1-based (the order a reader sees them). */
  index: number;
  /** Name as written. */
  name: string;
  /** Lower-case name. */
  key: string;
  /** Unfolded value, trimmed. */
  value: string;
}

/** The header fields of a message (its text up to the first empty line), unfolded. */
export function headerFields(message: string): Field[] {
  const end = message.search(/\r?\n\r?\n/);
  const head = (end >= 0 ? message.slice(0, end) : message).slice(0, MAX_HEADER_BYTES);
  const fields: Field[] = [];
  let current: { name: string; value: string } | undefined;
  const flush = (): void => {
    if (!current || fields.length >= MAX_FIELDS) return;
    fields.push({
      index: fields.length + 1,
      name: current.name,
      key: current.name.toLowerCase(),
      value: current.value.replace(/\s+/g, ' ').trim(),
    });
  };
  for (const line of head.split(/\r?\n/)) {
    if (/^[ \t]/.test(line) && current) {
      current.value += ` ${line.trim()}`;
      continue;
    }
    flush();
    const colon = line.indexOf(':');
    current =
      colon > 0 && !/\s/.test(line.slice(0, colon))
        ? { name: line.slice(0, colon), value: line.slice(colon + 1) }
        : undefined;
  }
  flush();
  return fields;
}

/** Removes RFC 5322 comments (parenthesised, possibly nested), keeping quoted strings. */
export function stripComments(value: string): string {
  let out = '';
  let depth = 0;
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (c === '\\' && (quoted || depth > 0)) {
      if (depth === 0) out += c + (value[i + 1] ?? '');
      i++;
      continue;
    }
    if (depth === 0 && c === '"') quoted = !quoted;
    if (!quoted && c === '(') {
      depth++;
      continue;
    }
    if (!quoted && c === ')' && depth > 0) {
      depth--;
      if (depth === 0) out += ' ';
      continue;
    }
    if (depth === 0) out += c;
  }
  return out;
}

/** One method's result in an Authentication-Results header: "dkim=pass header.d=example.com". */
export interface AuthResultEntry {
  method: string;
  result: string;
  /** ptype.property → value, e.g. "header.d" → "example.com", "smtp.mailfrom" → "a@b". */
  props: Record<string, string>;
}

export interface AuthResultsHeader {
  field: Field;
  authservId: string;
  results: AuthResultEntry[];
}

/** RFC 8601 §2.2, leniently: authserv-id, then "method=result prop=value…" entries separated by ";". */
export function parseAuthResults(field: Field): AuthResultsHeader {
  const parts = stripComments(field.value)
    .split(';')
    .map((p) => p.trim());
  const authservId = (parts.shift() ?? '').split(/\s+/)[0]?.toLowerCase() ?? '';
  const results: AuthResultEntry[] = [];
  for (const part of parts) {
    const tokens = part.split(/\s+/).filter(Boolean);
    const head = /^([a-z0-9-]+)(?:\/\d+)?=([a-z]+)$/i.exec(tokens.shift() ?? '');
    if (!head) continue;
    const props: Record<string, string> = {};
    for (const t of tokens) {
      const m = /^([a-z0-9-]+\.[a-z0-9_.-]+)=(.+)$/i.exec(t);
      if (m) props[m[1]!.toLowerCase()] = m[2]!.replace(/^"(.*)"$/, '$1');
    }
    results.push({ method: head[1]!.toLowerCase(), result: head[2]!.toLowerCase(), props });
  }
  return { field, authservId, results };
}

export interface ReceivedSpf {
  field: Field;
  result: string;
  /** key=value pairs (client-ip, envelope-from, helo, receiver, identity…), lower-case keys. */
  keys: Record<string, string>;
}

/** RFC 7208 §9.1: "Received-SPF: pass (comment) client-ip=192.0.2.1; envelope-from=…; helo=…". */
export function parseReceivedSpf(field: Field): ReceivedSpf {
  const result = /^([a-z]+)/i.exec(field.value)?.[1]?.toLowerCase() ?? '';
  const keys: Record<string, string> = {};
  const rest = stripComments(field.value.slice(result.length));
  for (const m of rest.matchAll(/([a-z-]+)\s*=\s*("[^"]*"|[^;\s]+)/gi))
    keys[m[1]!.toLowerCase()] = m[2]!.replace(/^"(.*)"$/, '$1');
  return { field, result, keys };
}

/** The HELO name in a Received from-clause: "helo=x" (Exim), "(HELO x)" (qmail), else the first word. */
export function heloOf(received: string): string | undefined {
  const v = received.replace(/\s+/g, ' ');
  const byAt = v.search(/\bby\s/i);
  const from = /^from\s/i.test(v) ? (byAt > 0 ? v.slice(0, byAt) : v) : '';
  const explicit = /\bhelo[= ]\s*([^\s()]+)/i.exec(from)?.[1];
  const first = /^from\s+([^\s()]+)/i.exec(from)?.[1];
  const name = explicit ?? first;
  return name && !/^unknown$/i.test(name) ? name.replace(/^\[|\]$/g, '') : undefined;
}

export interface Hop {
  field: Field;
  ip: string | null;
  from: string | null;
  by: string | null;
  helo: string | undefined;
}

export function hopsOf(fields: readonly Field[]): Hop[] {
  return fields
    .filter((f) => f.key === 'received')
    .map((f) => ({ field: f, ...parseReceived(f.value), helo: heloOf(f.value) }));
}

/**
 * The hop at which the message entered the receiving system from outside: the topmost
 * Received header whose connecting address is public (hops above it from loopback or private
 * addresses are handoffs inside the receiving organisation). Undefined without one.
 */
export function entryHop(hops: readonly Hop[]): { hop: Hop; internal: Hop[] } | undefined {
  const i = hops.findIndex((h) => h.ip !== null && isOutsideAddress(h.ip));
  if (i < 0) return undefined;
  return { hop: hops[i]!, internal: hops.slice(0, i) };
}
