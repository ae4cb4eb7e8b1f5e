import { isIPv4, isIPv6 } from 'node:net';

/**
 * The SPF record grammar (RFC 7208 §4.5, §4.6, §5, §6, §7), as a pure parser that reports
 * the exact offending term and its offset, plus macro expansion (§7.3–7.4). No DNS here:
 * the evaluator (src/spf/evaluate.ts) and the tree walk (src/spf/analyse.ts) feed it text.
 */

export type SpfQualifier = '+' | '-' | '~' | '?';
export const MECHANISMS = ['all', 'include', 'a', 'mx', 'ptr', 'ip4', 'ip6', 'exists'] as const;
export type SpfMechanismName = (typeof MECHANISMS)[number];

/** A piece of a macro-string: literal text or a macro (RFC 7208 §7.1). */
export type MacroToken =
  | { kind: 'literal'; text: string }
  | { kind: 'macro'; letter: string; digits?: number; reverse: boolean; delimiters: string; upper: boolean };

export interface MacroString {
  text: string;
  tokens: MacroToken[];
  /** True when it contains a macro-expand (other than %%, %_, %-): its value depends on the message. */
  hasMacros: boolean;
}

export interface SpfMechanism {
  kind: 'mechanism';
  qualifier: SpfQualifier;
  /** Whether the qualifier was written explicitly. */
  explicitQualifier: boolean;
  name: SpfMechanismName;
  /** include, exists, and a/mx/ptr with ":domain". */
  domainSpec?: MacroString;
  /** ip4/ip6 network address as written. */
  ip?: string;
  cidr4?: number;
  cidr6?: number;
  /** The term exactly as written. */
  text: string;
  /** Offset of the term in the record. */
  at: number;
}

export interface SpfModifier {
  kind: 'modifier';
  name: string;
  value: MacroString;
  text: string;
  at: number;
}

export type SpfTerm = SpfMechanism | SpfModifier;

export interface SpfRecord {
  text: string;
  terms: SpfTerm[];
  mechanisms: SpfMechanism[];
  redirect?: SpfModifier;
  exp?: SpfModifier;
  /** Modifiers that are neither redirect nor exp (ignored by evaluators, RFC 7208 §6). */
  unknownModifiers: SpfModifier[];
}

export interface SpfSyntaxError {
  /** What is wrong, quoting the term. */
  message: string;
  /** The offending term as written, when one is at fault. */
  term?: string;
  /** Offset of the problem in the record text. */
  at: number;
}

export type SpfParse = { ok: true; record: SpfRecord } | { ok: false; error: SpfSyntaxError };

/** RFC 7208 §4.5: a record starts with "v=spf1" (any case) followed by a space or its end. */
export function isSpfRecord(text: string): boolean {
  return /^v=spf1( |$)/i.test(text);
}

/** Mechanisms and modifiers that cost a DNS lookup against the limit of 10 (RFC 7208 §4.6.4). */
export function countsAsLookup(term: SpfTerm): boolean {
  if (term.kind === 'modifier') return term.name === 'redirect';
  return ['include', 'a', 'mx', 'ptr', 'exists'].includes(term.name);
}

const MACRO_LETTERS = 'slodiphcrtv';
const EXP_ONLY_LETTERS = 'crt';
const DELIMITERS = '.-+,/_=';
const TOPLABEL = /^(?:[0-9]*[a-z][a-z0-9]*|[a-z0-9]+-[a-z0-9-]*[a-z0-9])$/i;

/** Thrown by parseMacroString for text that is not a valid macro-string. */
export class SyntaxFailure extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

/**
 * Parses a macro-string (RFC 7208 §7.1). `allowExpLetters` permits c, r and t, which are only
 * valid in explanation text (§7.2). `offset` locates errors in the enclosing record.
 */
export function parseMacroString(text: string, offset = 0, allowExpLetters = false): MacroString {
  const tokens: MacroToken[] = [];
  let literal = '';
  let hasMacros = false;
  const flush = (): void => {
    if (literal) tokens.push({ kind: 'literal', text: literal });
    literal = '';
  };
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    const code = ch.charCodeAt(0);
    if (ch !== '%') {
      // macro-literal = %x21-24 / %x26-7E (visible characters except "%"); explanation
      // text may also contain spaces (explain-string, RFC 7208 §6.2).
      if ((code < 0x21 && !(allowExpLetters && code === 0x20)) || code > 0x7e) {
        throw new SyntaxFailure(
          `character ${describeChar(ch)} is not allowed here (only visible ASCII characters)`,
          offset + i,
        );
      }
      literal += ch;
      continue;
    }
    const next = text[i + 1];
    if (next === '%') {
      literal += '%';
      i++;
      continue;
    }
    if (next === '_') {
      literal += ' ';
      i++;
      continue;
    }
    if (next === '-') {
      literal += '%20';
      i++;
      continue;
    }
    if (next !== '{') {
      throw new SyntaxFailure(
        `"%" must start a macro ("%{x}") or be written "%%", "%_" or "%-"; found "%${next ?? ''}"`,
        offset + i,
      );
    }
    const close = text.indexOf('}', i + 2);
    if (close < 0) throw new SyntaxFailure(`macro "${text.slice(i)}" is not closed with "}"`, offset + i);
    const body = text.slice(i + 2, close);
    const m = /^([a-z])(\d*)(r?)([.\-+,/_=]*)$/i.exec(body);
    if (!m || !MACRO_LETTERS.includes(m[1]!.toLowerCase())) {
      throw new SyntaxFailure(
        `"%{${body}}" is not a valid macro; use a letter from ${MACRO_LETTERS.split('').join(', ')}, optional digits, optional "r", optional delimiters ${DELIMITERS}`,
        offset + i,
      );
    }
    const letter = m[1]!;
    if (!allowExpLetters && EXP_ONLY_LETTERS.includes(letter.toLowerCase())) {
      throw new SyntaxFailure(
        `macro "%{${body}}" uses "${letter}", which is only allowed in explanation (exp) text (RFC 7208 §7.2)`,
        offset + i,
      );
    }
    const token: MacroToken = {
      kind: 'macro',
      letter: letter.toLowerCase(),
      reverse: m[3] !== '',
      delimiters: m[4] ?? '',
      upper: letter !== letter.toLowerCase(),
    };
    if (m[2]) {
      const digits = Number(m[2]);
      if (digits === 0 || m[2].length > 3) {
        throw new SyntaxFailure(
          `macro "%{${body}}" keeps ${m[2]} parts; the count must be a non-zero number (RFC 7208 §7.3)`,
          offset + i,
        );
      }
      token.digits = digits;
    }
    flush();
    tokens.push(token);
    hasMacros = true;
    i = close;
  }
  flush();
  return { text, tokens, hasMacros };
}

/** A domain-spec is a macro-string that ends in "." toplabel ["."] or in a macro (§7.1). */
function parseDomainSpec(text: string, offset: number, what: string): MacroString {
  if (text === '') throw new SyntaxFailure(`${what} needs a domain name after ":"`, offset);
  const spec = parseMacroString(text, offset);
  const last = spec.tokens.at(-1);
  if (last?.kind === 'macro') return spec;
  // Literal tail: it must contain "." toplabel, optionally followed by a final ".".
  const tail = (last?.text ?? '').replace(/\.$/, '');
  const dot = tail.lastIndexOf('.');
  const top = dot >= 0 ? tail.slice(dot + 1) : tail;
  // "%{d}." (a macro and a final dot) is accepted, as resolvers treat it the same as "%{d}".
  const prev = spec.tokens.at(-2);
  if (tail === '' && prev?.kind === 'macro') return spec;
  if (dot < 0 || !TOPLABEL.test(top)) {
    throw new SyntaxFailure(
      `${what} "${text}" is not a domain name: it must end in a top-level label of letters, digits and hyphens that is not all digits (e.g. "example.com")`,
      offset,
    );
  }
  for (const label of text.replace(/\.$/, '').split('.')) {
    if (label.length > 63 && !label.includes('%{')) {
      throw new SyntaxFailure(`${what} "${text}" has a label longer than 63 characters`, offset);
    }
  }
  return spec;
}

function parseCidr(text: string, max: number, offset: number, term: string): number {
  // ip4-cidr-length = "/" ( "0" / %x31-39 0*1DIGIT ); ip6 likewise up to 3 digits.
  if (!/^(0|[1-9]\d{0,2})$/.test(text) || Number(text) > max) {
    throw new SyntaxFailure(
      `"${term}": "/${text}" is not a valid prefix length (0 to ${max}, no leading zeros)`,
      offset,
    );
  }
  return Number(text);
}

function describeChar(ch: string): string {
  const code = ch.codePointAt(0)!;
  if (code === 0x20) return 'space';
  if (code < 0x20 || code === 0x7f) return `control character 0x${code.toString(16).padStart(2, '0')}`;
  if (code > 0x7e) return `non-ASCII "${ch}" (U+${code.toString(16).toUpperCase().padStart(4, '0')})`;
  return `"${ch}"`;
}

function parseTerm(text: string, at: number): SpfTerm {
  const badIndex = [...text].findIndex((c) => c.charCodeAt(0) < 0x21 || c.charCodeAt(0) > 0x7e);
  if (badIndex >= 0) {
    const bad = [...text][badIndex]!;
    throw new SyntaxFailure(
      `"${text}" contains ${describeChar(bad)}, which is not allowed in SPF records (visible ASCII only; terms are separated by spaces)`,
      at + text.indexOf(bad),
    );
  }
  const modifier = /^([a-z][a-z0-9\-_.]*)=/i.exec(text);
  if (modifier) {
    const name = modifier[1]!.toLowerCase();
    const valueText = text.slice(modifier[0].length);
    const valueAt = at + modifier[0].length;
    if (name === 'redirect' || name === 'exp') {
      return {
        kind: 'modifier',
        name,
        value: parseDomainSpec(valueText, valueAt, `${name}=`),
        text,
        at,
      };
    }
    return { kind: 'modifier', name, value: parseMacroString(valueText, valueAt), text, at };
  }
  let rest = text;
  let qualifier: SpfQualifier = '+';
  let explicitQualifier = false;
  if ('+-~?'.includes(rest[0] ?? '')) {
    qualifier = rest[0] as SpfQualifier;
    explicitQualifier = true;
    rest = rest.slice(1);
  }
  const q = explicitQualifier ? 1 : 0;
  const nameMatch = /^[a-z0-9]+/i.exec(rest);
  const name = (nameMatch?.[0] ?? '').toLowerCase();
  if (!MECHANISMS.includes(name as SpfMechanismName)) {
    const bad = [...text].find((c) => c.charCodeAt(0) < 0x21 || c.charCodeAt(0) > 0x7e);
    if (bad) {
      throw new SyntaxFailure(`"${text}" contains ${describeChar(bad)}`, at + text.indexOf(bad));
    }
    throw new SyntaxFailure(
      `"${text}" is not a mechanism or modifier; mechanisms are ${MECHANISMS.join(', ')}, modifiers look like name=value`,
      at,
    );
  }
  const mech: SpfMechanism = {
    kind: 'mechanism',
    qualifier,
    explicitQualifier,
    name: name as SpfMechanismName,
    text,
    at,
  };
  const arg = rest.slice(name.length);
  const argAt = at + q + name.length;
  switch (mech.name) {
    case 'all':
      if (arg !== '') throw new SyntaxFailure(`"${text}": "all" takes no argument`, argAt);
      break;
    case 'include':
    case 'exists':
      if (!arg.startsWith(':')) {
        throw new SyntaxFailure(`"${text}": "${name}" needs a domain, written "${name}:example.com"`, argAt);
      }
      mech.domainSpec = parseDomainSpec(arg.slice(1), argAt + 1, `"${text}": the domain`);
      break;
    case 'ptr':
      if (arg === '') break;
      if (!arg.startsWith(':')) throw new SyntaxFailure(`"${text}": "ptr" takes only ":domain"`, argAt);
      mech.domainSpec = parseDomainSpec(arg.slice(1), argAt + 1, `"${text}": the domain`);
      break;
    case 'a':
    case 'mx': {
      if (arg !== '' && !arg.startsWith(':') && !arg.startsWith('/')) {
        throw new SyntaxFailure(
          `"${text}" is not a valid "${name}" mechanism; write "${name}", "${name}:domain", "${name}/24" or "${name}:domain/24//64"`,
          at,
        );
      }
      const m = /^([\s\S]*?)(?:\/(\d+))?(?:\/\/(\d+))?$/.exec(arg.startsWith(':') ? arg.slice(1) : arg)!;
      const domainText = arg.startsWith(':') ? m[1]! : '';
      if (!arg.startsWith(':') && m[1] !== '') {
        throw new SyntaxFailure(`"${text}": unexpected "${m[1]}"`, argAt);
      }
      if (arg.startsWith(':')) {
        mech.domainSpec = parseDomainSpec(domainText, argAt + 1, `"${text}": the domain`);
      }
      if (m[2] !== undefined) mech.cidr4 = parseCidr(m[2], 32, argAt, text);
      if (m[3] !== undefined) mech.cidr6 = parseCidr(m[3], 128, argAt, text);
      break;
    }
    case 'ip4': {
      const m = /^:([^/]*)(?:\/([\s\S]*))?$/.exec(arg);
      if (!m) throw new SyntaxFailure(`"${text}": write "ip4:192.0.2.0/24"`, argAt);
      if (!isIPv4(m[1]!) || m[1]!.split('.').some((o) => o.length > 1 && o.startsWith('0'))) {
        throw new SyntaxFailure(`"${text}": "${m[1]}" is not an IPv4 address`, argAt + 1);
      }
      mech.ip = m[1]!;
      if (m[2] !== undefined) mech.cidr4 = parseCidr(m[2], 32, argAt + 1 + m[1]!.length, text);
      break;
    }
    case 'ip6': {
      const m = /^:([^/]*)(?:\/([\s\S]*))?$/.exec(arg);
      if (!m) throw new SyntaxFailure(`"${text}": write "ip6:2001:db8::/32"`, argAt);
      if (!isIPv6(m[1]!) || m[1]!.includes('%')) {
        throw new SyntaxFailure(`"${text}": "${m[1]}" is not an IPv6 address`, argAt + 1);
      }
      mech.ip = m[1]!;
      if (m[2] !== undefined) mech.cidr6 = parseCidr(m[2], 128, argAt + 1 + m[1]!.length, text);
      break;
    }
  }
  return mech;
}

/**
 * Parses one SPF record. Any syntax error anywhere makes the whole record a permerror
 * (RFC 7208 §4.6), so the first one found is returned with its term and offset.
 */
export function parseSpf(text: string): SpfParse {
  if (!isSpfRecord(text)) {
    return {
      ok: false,
      error: { message: `the record does not start with "v=spf1" followed by a space`, at: 0 },
    };
  }
  const terms: SpfTerm[] = [];
  const unknownModifiers: SpfModifier[] = [];
  let redirect: SpfModifier | undefined;
  let exp: SpfModifier | undefined;
  // Terms are separated by one or more spaces (SP only: a tab or newline is part of a term).
  const re = / +|[^ ]+/g;
  re.lastIndex = 6;
  let match: RegExpExecArray | null;
  try {
    while ((match = re.exec(text)) !== null) {
      if (match[0].startsWith(' ')) continue;
      const term = parseTerm(match[0], match.index);
      if (term.kind === 'modifier') {
        if (term.name === 'redirect' || term.name === 'exp') {
          const previous = term.name === 'redirect' ? redirect : exp;
          if (previous) {
            return {
              ok: false,
              error: {
                message: `"${term.name}=" appears twice ("${previous.text}" and "${term.text}"); it may appear at most once (RFC 7208 §6)`,
                term: term.text,
                at: term.at,
              },
            };
          }
          if (term.name === 'redirect') redirect = term;
          else exp = term;
        } else {
          unknownModifiers.push(term);
        }
      }
      terms.push(term);
    }
  } catch (err) {
    if (err instanceof SyntaxFailure) {
      const term = termAt(text, err.offset);
      return { ok: false, error: { message: err.message, ...(term ? { term } : {}), at: err.offset } };
    }
    throw err;
  }
  const record: SpfRecord = {
    text,
    terms,
    mechanisms: terms.filter((t): t is SpfMechanism => t.kind === 'mechanism'),
    unknownModifiers,
  };
  if (redirect) record.redirect = redirect;
  if (exp) record.exp = exp;
  return { ok: true, record };
}

function termAt(text: string, offset: number): string | undefined {
  if (offset < 6) return undefined;
  // An offset just past a term (e.g. "include" missing its ":domain") belongs to that term.
  const pos = offset >= text.length || text[offset] === ' ' ? offset - 1 : offset;
  const start = text.lastIndexOf(' ', pos) + 1;
  const end = text.indexOf(' ', pos);
  return text.slice(start, end < 0 ? undefined : end) || undefined;
}

/** Values for macro expansion (RFC 7208 §7.2). */
export interface MacroContext {
  /** <sender>: local-part@domain (local-part "postmaster" when the sender had none). */
  sender: string;
  /** <domain> currently being evaluated. */
  domain: string;
  /** <ip> of the SMTP client, as given (the "i" macro keeps its hex digits' case). */
  ip: string;
  /** The "c" macro's readable form (RFC 5952 for IPv6); derived from `ip` when absent. */
  clientIp?: string;
  /** HELO/EHLO name. */
  helo: string;
  /** Validated domain name of <ip> (the "p" macro); resolved by the evaluator. */
  validatedName?: string;
  /** Domain name of the host doing the check (the "r" macro). */
  receiver?: string;
  /** Seconds since the epoch (the "t" macro). */
  timestamp?: number;
}

/** IPv4 dotted, IPv6 as 32 dot-separated nibbles (RFC 7208 §7.3 "i"). */
export function macroIp(ip: string): string {
  if (isIPv4(ip)) return ip;
  return expandIpv6(ip, true).replace(/:/g, '').split('').join('.');
}

/** RFC 5952 text of an IPv6 address (lower case, longest zero run compressed); IPv4 as is. */
export function readableIp(ip: string): string {
  return isIPv6(ip) ? new URL(`http://[${ip}]/`).hostname.slice(1, -1) : ip;
}

/** Full 8-group IPv6 text, each group 4 hex digits, lower case unless `keepCase`. */
export function expandIpv6(ip: string, keepCase = false): string {
  let text = keepCase ? ip : ip.toLowerCase();
  const v4 = /(?:^|\D)(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const o = v4[1]!.split('.').map(Number);
    text =
      text.slice(0, -v4[1]!.length) +
      `${((o[0]! << 8) | o[1]!).toString(16)}:${((o[2]! << 8) | o[3]!).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  return groups.map((g) => g.padStart(4, '0')).join(':');
}

function splitLocal(sender: string): { local: string; domain: string } {
  const at = sender.lastIndexOf('@');
  return at < 0
    ? { local: 'postmaster', domain: sender }
    : { local: sender.slice(0, at), domain: sender.slice(at + 1) };
}

function macroValue(letter: string, ctx: MacroContext): string {
  const { local, domain } = splitLocal(ctx.sender);
  switch (letter) {
    case 's':
      return ctx.sender;
    case 'l':
      return local;
    case 'o':
      return domain;
    case 'd':
      return ctx.domain;
    case 'i':
      return macroIp(ctx.ip);
    case 'p':
      return ctx.validatedName ?? 'unknown';
    case 'v':
      return isIPv4(ctx.ip) ? 'in-addr' : 'ip6';
    case 'h':
      return ctx.helo;
    case 'c':
      return ctx.clientIp ?? readableIp(ctx.ip);
    case 'r':
      return ctx.receiver ?? 'unknown';
    case 't':
      return String(ctx.timestamp ?? Math.floor(Date.now() / 1000));
    default:
      return '';
  }
}

/** RFC 3986 unreserved characters stay; everything else is percent-encoded (uppercase macros). */
function urlEscape(value: string): string {
  return [...Buffer.from(value, 'utf8')]
    .map((b) => {
      const c = String.fromCharCode(b);
      return /[A-Za-z0-9\-._~]/.test(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
    })
    .join('');
}

/** Expands a macro-string (RFC 7208 §7.3). */
export function expandMacroString(spec: MacroString, ctx: MacroContext): string {
  let out = '';
  for (const token of spec.tokens) {
    if (token.kind === 'literal') {
      out += token.text;
      continue;
    }
    const value = macroValue(token.letter, ctx);
    const delimiters = token.delimiters || '.';
    let parts = value.split(new RegExp(`[${delimiters.replace(/[-\\\]^/]/g, '\\$&')}]`));
    if (token.reverse) parts = parts.reverse();
    if (token.digits !== undefined && token.digits < parts.length) parts = parts.slice(-token.digits);
    const joined = parts.join('.');
    out += token.upper ? urlEscape(joined) : joined;
  }
  return out;
}

/**
 * Expands a domain-spec and applies RFC 7208 §7.3's length rule: left-hand labels are dropped
 * until the name fits in 253 octets.
 */
export function expandDomainSpec(spec: MacroString, ctx: MacroContext): string {
  let name = expandMacroString(spec, ctx).replace(/\.$/, '');
  while (name.length > 253 && name.includes('.')) name = name.slice(name.indexOf('.') + 1);
  return name;
}

/** Whether a macro-string uses the "p" macro (which needs a PTR lookup to expand). */
export function usesPtrMacro(spec: MacroString | undefined): boolean {
  return Boolean(spec?.tokens.some((t) => t.kind === 'macro' && t.letter === 'p'));
}
