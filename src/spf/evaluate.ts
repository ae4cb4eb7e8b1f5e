import { isIPv4, isIPv6 } from 'node:net';
import type { DnsAnswer, RecordOf, Resolver, RrType } from '../dns/types.js';
import { throwIfAborted } from '../net/deadline.js';
import {
  countsAsLookup,
  expandDomainSpec,
  expandIpv6,
  expandMacroString,
  isSpfRecord,
  parseMacroString,
  parseSpf,
  readableIp,
  SyntaxFailure,
  usesPtrMacro,
} from './record.js';
import type { MacroContext, MacroString, SpfMechanism, SpfQualifier, SpfRecord } from './record.js';

/**
 * RFC 7208 check_host(): the SPF verdict for one client IP, domain and sender, with the full
 * semantics — macros, include/redirect recursion, exp, the limit of 10 DNS-querying terms
 * and 2 void lookups, the per-mx/ptr limit of 10 address lookups, temperror for DNS
 * failures and permerror for broken policy. DNS comes in through `resolver` (a DnsClient or
 * anything with its `query`), so the evaluator is hermetic in tests.
 */

export type SpfResult = 'pass' | 'fail' | 'softfail' | 'neutral' | 'none' | 'permerror' | 'temperror';

export interface CheckHostInput {
  /** The SMTP client's IP address (IPv4, IPv6, or IPv4-mapped IPv6). */
  ip: string;
  /** The domain whose policy is checked (normally the sender's domain, or the HELO name). */
  domain: string;
  /** MAIL FROM address; when empty, "postmaster@<helo>" is used (RFC 7208 §2.4). */
  sender?: string;
  /** HELO/EHLO name (for the "h" macro and the empty-sender case). */
  helo?: string;
  /** Name of the receiving host, for the "r" macro in explanations. @defaultValue "unknown" */
  receiver?: string;
  /** Clock for the "t" macro. */
  now?: Date;
  signal?: AbortSignal;
  /** RFC 7208 §4.6.4. @defaultValue 10 */
  maxLookups?: number;
  /** RFC 7208 §4.6.4. @defaultValue 2 */
  maxVoidLookups?: number;
}

export interface SpfTraceStep {
  /** Nesting depth: 0 for the checked domain, +1 per include/redirect. */
  depth: number;
  domain: string;
  term?: string;
  note: string;
}

export interface CheckHostResult {
  result: SpfResult;
  /** The expanded exp= text for a "fail" (RFC 7208 §6.2), when the domain publishes one. */
  explanation?: string;
  /** Why, in words: which term matched, or what was wrong. */
  reason: string;
  /** The term that decided the result and the domain whose record holds it. */
  matched?: { domain: string; term: string };
  /** DNS-querying terms evaluated (include, a, mx, ptr, exists, redirect). */
  lookups: number;
  voidLookups: number;
  /** The record of the checked domain, when one was found. */
  record?: string;
  trace: SpfTraceStep[];
  ip: string;
  domain: string;
  sender: string;
  helo: string;
}

class Stop extends Error {
  constructor(
    readonly result: 'permerror' | 'temperror',
    message: string,
  ) {
    super(message);
  }
}

/**
 * Whether a name can be asked in DNS at all (RFC 1035: labels of 1–63 octets, 253 in all).
 * A target that cannot (e.g. "a..example.com" from a macro) is treated as non-existent.
 */
function isQueryable(name: string): boolean {
  const d = name.replace(/\.$/, '');
  return d.length > 0 && d.length <= 253 && d.split('.').every((l) => l.length > 0 && l.length <= 63);
}

/** RFC 7208 §4.3: a malformed or single-label domain gives "none". */
export function isValidSpfDomain(domain: string): boolean {
  const d = domain.replace(/\.$/, '');
  if (d.length === 0 || d.length > 253) return false;
  const labels = d.split('.');
  if (labels.length < 2) return false;
  return labels.every((l) => l.length > 0 && l.length <= 63);
}

interface ParsedIp {
  /** Normalised text: dotted IPv4 (also for IPv4-mapped input) or lower-case IPv6. */
  text: string;
  /** As given (trimmed), for the "i" macro. */
  original: string;
  family: 4 | 6;
  value: bigint;
}

/** Parses the client IP; an IPv4-mapped IPv6 address is treated as the IPv4 address (RFC 7208 §5). */
export function parseClientIp(ip: string): ParsedIp | undefined {
  const text = ip.trim().replace(/^\[|\]$/g, '');
  if (isIPv4(text)) return { text, original: text, family: 4, value: v4Value(text) };
  if (!isIPv6(text)) return undefined;
  const full = expandIpv6(text);
  const value = BigInt(`0x${full.replace(/:/g, '')}`);
  if (value >> 32n === 0xffffn) {
    const v4 = [24n, 16n, 8n, 0n].map((s) => String((value >> s) & 0xffn)).join('.');
    return { text: v4, original: v4, family: 4, value: value & 0xffffffffn };
  }
  return { text: text.toLowerCase(), original: text, family: 6, value };
}

function v4Value(ip: string): bigint {
  return ip.split('.').reduce((acc, o) => (acc << 8n) | BigInt(Number(o)), 0n);
}

/** Whether `address` lies in `network`/`bits` (same family). */
export function inNetwork(ip: ParsedIp, network: string, bits: number): boolean {
  const net = parseClientIp(network);
  if (!net || net.family !== ip.family) return false;
  const width = ip.family === 4 ? 32 : 128;
  const shift = BigInt(width - bits);
  return ip.value >> shift === net.value >> shift;
}

function isFailure(answer: DnsAnswer): boolean {
  return answer.rcode !== 'NOERROR' && answer.rcode !== 'NXDOMAIN';
}

function describeAnswer(answer: DnsAnswer): string {
  if (answer.rcode === 'TIMEOUT') return `the ${answer.type} lookup of ${answer.name} timed out`;
  return `the ${answer.type} lookup of ${answer.name} failed (${answer.rcode})`;
}

const QUALIFIER_RESULT: Record<SpfQualifier, SpfResult> = {
  '+': 'pass',
  '-': 'fail',
  '~': 'softfail',
  '?': 'neutral',
};

export const DEFAULT_MAX_LOOKUPS = 10;
export const DEFAULT_MAX_VOID_LOOKUPS = 2;
/** Address lookups per mx mechanism and PTR names per ptr mechanism (RFC 7208 §4.6.4). */
export const MAX_NAMES_PER_MECHANISM = 10;

class Evaluation {
  lookups = 0;
  voidLookups = 0;
  readonly trace: SpfTraceStep[] = [];
  private validated: Promise<string[]> | undefined;

  constructor(
    private readonly resolver: Resolver,
    readonly ip: ParsedIp,
    readonly sender: string,
    readonly helo: string,
    private readonly input: CheckHostInput,
  ) {}

  private get maxLookups(): number {
    return this.input.maxLookups ?? DEFAULT_MAX_LOOKUPS;
  }

  async query<T extends RrType>(name: string, type: T): Promise<DnsAnswer<RecordOf<T>>> {
    throwIfAborted(this.input.signal);
    return this.resolver.query(name, type, { signal: this.input.signal });
  }

  countLookup(domain: string, term: string): void {
    this.lookups++;
    if (this.lookups > this.maxLookups) {
      throw new Stop(
        'permerror',
        `more than ${this.maxLookups} DNS-querying terms (include, a, mx, ptr, exists, redirect) were needed; "${term}" in the record of ${domain} was number ${this.lookups} (RFC 7208 §4.6.4)`,
      );
    }
  }

  countVoid(answer: DnsAnswer, term: string): void {
    if (answer.rcode === 'NXDOMAIN' || answer.records.length === 0) {
      this.voidLookups++;
      const max = this.input.maxVoidLookups ?? DEFAULT_MAX_VOID_LOOKUPS;
      if (this.voidLookups > max) {
        throw new Stop(
          'permerror',
          `more than ${max} lookups returned no records ("void lookups"); the last was ${answer.type} ${answer.name} for "${term}" (RFC 7208 §4.6.4)`,
        );
      }
    }
  }

  macroContext(domain: string, validatedName?: string): MacroContext {
    return {
      sender: this.sender,
      domain,
      ip: this.ip.original,
      clientIp: readableIp(this.ip.text),
      helo: this.helo,
      receiver: this.input.receiver ?? 'unknown',
      timestamp: Math.floor((this.input.now ?? new Date()).getTime() / 1000),
      ...(validatedName !== undefined ? { validatedName } : {}),
    };
  }

  async expand(spec: MacroString, domain: string): Promise<string> {
    const name = usesPtrMacro(spec) ? await this.pMacro(domain) : undefined;
    return expandDomainSpec(spec, this.macroContext(domain, name));
  }

  /** The "p" macro: a validated name of the IP, preferring one within `domain` (§7.3). */
  async pMacro(domain: string): Promise<string> {
    const names = await this.validatedNames();
    const inside = names.find((n) => n === domain || n.endsWith(`.${domain}`));
    return inside ?? names[0] ?? 'unknown';
  }

  /**
   * PTR names of the IP whose A/AAAA includes the IP (RFC 7208 §5.5): at most 10 PTR names
   * are checked; a DNS error on the PTR query means none, on an address query skips the name.
   */
  validatedNames(): Promise<string[]> {
    this.validated ??= (async () => {
      const ptr = await this.query(reverseName(this.ip), 'PTR');
      if (isFailure(ptr)) return [];
      const names = ptr.records.slice(0, MAX_NAMES_PER_MECHANISM).map((r) => r.target);
      const out: string[] = [];
      for (const name of names) {
        const answer = await this.query(name, this.ip.family === 4 ? 'A' : 'AAAA');
        if (isFailure(answer)) continue;
        const hit = answer.records.some((r) => {
          const p = parseClientIp(r.address);
          return p !== undefined && p.family === this.ip.family && p.value === this.ip.value;
        });
        if (hit) out.push(name);
      }
      return out;
    })();
    return this.validated;
  }

  /** Looks up the single SPF record of `domain`; undefined when there is none. */
  async record(domain: string, depth: number): Promise<{ text: string; record: SpfRecord } | undefined> {
    const answer = await this.query(domain, 'TXT');
    if (isFailure(answer)) throw new Stop('temperror', describeAnswer(answer));
    const candidates = answer.records.map((r) => r.text).filter(isSpfRecord);
    if (candidates.length === 0) {
      this.trace.push({
        depth,
        domain,
        note: answer.rcode === 'NXDOMAIN' ? `${domain} does not exist` : `${domain} has no SPF record`,
      });
      return undefined;
    }
    if (candidates.length > 1) {
      throw new Stop(
        'permerror',
        `${domain} publishes ${candidates.length} SPF records; there must be exactly one (RFC 7208 §4.5)`,
      );
    }
    const text = candidates[0]!;
    const parsed = parseSpf(text);
    if (!parsed.ok) {
      throw new Stop('permerror', `syntax error in the SPF record of ${domain}: ${parsed.error.message}`);
    }
    this.trace.push({ depth, domain, note: `record: ${text}` });
    return { text, record: parsed.record };
  }

  /** check_host() proper, for `domain` at nesting `depth`. */
  async checkHost(
    domain: string,
    depth: number,
  ): Promise<{
    result: SpfResult;
    reason: string;
    matched?: { domain: string; term: string };
    record?: SpfRecord;
  }> {
    if (!isValidSpfDomain(domain)) {
      return { result: 'none', reason: `"${domain}" is not a valid multi-label domain name (RFC 7208 §4.3)` };
    }
    const found = await this.record(domain, depth);
    if (!found) return { result: 'none', reason: `${domain} publishes no SPF record` };
    const { record } = found;

    for (const mech of record.mechanisms) {
      if (await this.matches(mech, domain, depth)) {
        const result = QUALIFIER_RESULT[mech.qualifier];
        this.trace.push({ depth, domain, term: mech.text, note: `matched: ${result}` });
        return {
          result,
          reason: `"${mech.text}" in the SPF record of ${domain} matched`,
          matched: { domain, term: mech.text },
          record,
        };
      }
    }
    // RFC 7208 §6.1: redirect applies when nothing matched and there is no "all".
    if (record.redirect && !record.mechanisms.some((m) => m.name === 'all')) {
      const term = record.redirect.text;
      this.countLookup(domain, term);
      const target = await this.expand(record.redirect.value, domain);
      this.trace.push({ depth, domain, term, note: `redirect to ${target}` });
      const inner = await this.checkHost(target, depth + 1);
      if (inner.result === 'none') {
        throw new Stop(
          'permerror',
          `"${term}" in the record of ${domain} points at ${target}, which has no SPF record (RFC 7208 §6.1)`,
        );
      }
      return inner;
    }
    return { result: 'neutral', reason: `no mechanism in the SPF record of ${domain} matched`, record };
  }

  private async matches(mech: SpfMechanism, domain: string, depth: number): Promise<boolean> {
    const ip = this.ip;
    if (countsAsLookup(mech)) this.countLookup(domain, mech.text);
    switch (mech.name) {
      case 'all':
        return true;
      case 'ip4':
        return ip.family === 4 && inNetwork(ip, mech.ip!, mech.cidr4 ?? 32);
      case 'ip6':
        return ip.family === 6 && inNetwork(ip, mech.ip!, mech.cidr6 ?? 128);
      case 'include': {
        const target = await this.expand(mech.domainSpec!, domain);
        this.trace.push({ depth, domain, term: mech.text, note: `include ${target}` });
        const inner = await this.checkHost(target, depth + 1);
        switch (inner.result) {
          case 'pass':
            return true;
          case 'fail':
          case 'softfail':
          case 'neutral':
            return false;
          case 'temperror':
            throw new Stop('temperror', inner.reason);
          case 'permerror':
            throw new Stop('permerror', inner.reason);
          case 'none':
            throw new Stop(
              'permerror',
              `"${mech.text}" in the record of ${domain} includes ${target}, which has no SPF record (RFC 7208 §5.2)`,
            );
        }
        return false;
      }
      case 'a': {
        const target = mech.domainSpec ? await this.expand(mech.domainSpec, domain) : domain;
        if (!isQueryable(target)) return this.unqueryable(target, mech);
        const answer = await this.query(target, ip.family === 4 ? 'A' : 'AAAA');
        if (isFailure(answer)) throw new Stop('temperror', `"${mech.text}": ${describeAnswer(answer)}`);
        this.countVoid(answer, mech.text);
        return answer.records.some((r) => this.addressMatches(r.address, mech));
      }
      case 'mx': {
        const target = mech.domainSpec ? await this.expand(mech.domainSpec, domain) : domain;
        if (!isQueryable(target)) return this.unqueryable(target, mech);
        const answer = await this.query(target, 'MX');
        if (isFailure(answer)) throw new Stop('temperror', `"${mech.text}": ${describeAnswer(answer)}`);
        this.countVoid(answer, mech.text);
        const hosts = answer.records.filter((r) => r.exchange !== '');
        if (hosts.length > MAX_NAMES_PER_MECHANISM) {
          throw new Stop(
            'permerror',
            `"${mech.text}" in the record of ${domain}: ${target} has ${hosts.length} MX records; SPF allows at most ${MAX_NAMES_PER_MECHANISM} (RFC 7208 §4.6.4)`,
          );
        }
        for (const host of hosts) {
          const addresses = await this.query(host.exchange, ip.family === 4 ? 'A' : 'AAAA');
          if (isFailure(addresses)) {
            throw new Stop('temperror', `"${mech.text}": ${describeAnswer(addresses)}`);
          }
          if (addresses.records.some((r) => this.addressMatches(r.address, mech))) return true;
        }
        return false;
      }
      case 'ptr': {
        const target = mech.domainSpec ? await this.expand(mech.domainSpec, domain) : domain;
        const ptr = await this.query(reverseName(ip), 'PTR');
        if (!isFailure(ptr)) this.countVoid(ptr, mech.text);
        const names = await this.validatedNames();
        return names.some((n) => n === target.toLowerCase() || n.endsWith(`.${target.toLowerCase()}`));
      }
      case 'exists': {
        const target = await this.expand(mech.domainSpec!, domain);
        if (!isQueryable(target)) return this.unqueryable(target, mech);
        // RFC 7208 §5.7: always an A query, whatever the client's address family.
        const answer = await this.query(target, 'A');
        if (isFailure(answer)) throw new Stop('temperror', `"${mech.text}": ${describeAnswer(answer)}`);
        this.countVoid(answer, mech.text);
        return answer.records.length > 0;
      }
    }
    return false;
  }

  /** A target name DNS cannot carry: treated as non-existent (RFC 7208 §4.3 by analogy). */
  private unqueryable(target: string, mech: SpfMechanism): false {
    this.trace.push({
      depth: 0,
      domain: target,
      term: mech.text,
      note: `"${target}" is not a valid DNS name; no match`,
    });
    return false;
  }

  private addressMatches(address: string, mech: SpfMechanism): boolean {
    const ip = this.ip;
    const bits = ip.family === 4 ? (mech.cidr4 ?? 32) : (mech.cidr6 ?? 128);
    const a = parseClientIp(address);
    if (!a || a.family !== ip.family) return false;
    return inNetwork(ip, a.text, bits);
  }

  /** RFC 7208 §6.2: the explanation for a fail, or undefined when it cannot be had. */
  async explanation(record: SpfRecord | undefined, domain: string): Promise<string | undefined> {
    if (!record?.exp) return undefined;
    try {
      const target = await this.expand(record.exp.value, domain);
      if (!isValidSpfDomain(target)) return undefined;
      const answer = await this.query(target, 'TXT');
      if (isFailure(answer) || answer.records.length !== 1) return undefined;
      const text = answer.records[0]!.text;
      const spec = parseMacroString(text, 0, true);
      const name = usesPtrMacro(spec) ? await this.pMacro(domain) : undefined;
      return expandMacroString(spec, this.macroContext(domain, name));
    } catch (err) {
      if (err instanceof Stop) return undefined;
      // RFC 7208 §6.2: a syntax error in the explanation text means no explanation.
      if (err instanceof SyntaxFailure) return undefined;
      throw err;
    }
  }
}

/** The reverse-lookup name of an IP (in-addr.arpa or ip6.arpa nibbles). */
export function reverseName(ip: { text: string; family: 4 | 6 }): string {
  if (ip.family === 4) return `${ip.text.split('.').reverse().join('.')}.in-addr.arpa`;
  return `${expandIpv6(ip.text).replace(/:/g, '').split('').reverse().join('.')}.ip6.arpa`;
}

/**
 * check_host(ip, domain, sender) per RFC 7208 §4. Never rejects for DNS or policy outcomes
 * (those are temperror/permerror results); rejects only when `signal` aborts.
 */
export async function checkHost(resolver: Resolver, input: CheckHostInput): Promise<CheckHostResult> {
  const helo = (input.helo ?? '').trim();
  const rawSender = (input.sender ?? '').trim().replace(/^<|>$/g, '');
  // RFC 7208 §2.4: an empty MAIL FROM is checked as postmaster@<helo>; a sender without a
  // local-part uses "postmaster" (§4.3).
  let sender = rawSender === '' ? `postmaster@${helo}` : rawSender;
  if (!sender.includes('@')) sender = `postmaster@${sender}`;
  if (sender.startsWith('@')) sender = `postmaster${sender}`;
  const domain = input.domain.trim().replace(/\.$/, '').toLowerCase();
  const ip = parseClientIp(input.ip);
  const base = {
    ip: input.ip,
    domain,
    sender,
    helo,
    lookups: 0,
    voidLookups: 0,
    trace: [] as SpfTraceStep[],
  };
  if (!ip) {
    return { ...base, result: 'permerror', reason: `"${input.ip}" is not an IP address` };
  }
  const ev = new Evaluation(resolver, ip, sender, helo, input);
  try {
    const outcome = await ev.checkHost(domain, 0);
    const result: CheckHostResult = {
      ...base,
      result: outcome.result,
      reason: outcome.reason,
      lookups: ev.lookups,
      voidLookups: ev.voidLookups,
      trace: ev.trace,
    };
    if (outcome.matched) result.matched = outcome.matched;
    const top = ev.trace.find((t) => t.depth === 0 && t.note.startsWith('record: '));
    if (top) result.record = top.note.slice('record: '.length);
    if (outcome.result === 'fail') {
      // The exp of the record that decided: the checked domain's, or a redirect target's,
      // never an included domain's (RFC 7208 §6.2).
      const decidingDomain = outcome.matched?.domain ?? domain;
      const explanation = await ev.explanation(outcome.record, decidingDomain);
      if (explanation !== undefined) result.explanation = explanation;
    }
    return result;
  } catch (err) {
    if (err instanceof Stop) {
      const result: CheckHostResult = {
        ...base,
        result: err.result,
        reason: err.message,
        lookups: ev.lookups,
        voidLookups: ev.voidLookups,
        trace: ev.trace,
      };
      const top = ev.trace.find((t) => t.depth === 0 && t.note.startsWith('record: '));
      if (top) result.record = top.note.slice('record: '.length);
      return result;
    }
    throw err;
  }
}
