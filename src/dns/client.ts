import { randomInt } from 'node:crypto';
import { abortReason, raceSignal } from '../net/deadline.js';
import { isProbeError, describeError } from '../net/errors.js';
import { CheckCache } from './cache.js';
import type { DnsCache } from './cache.js';
import { acquireSlot, admit } from './inflight.js';
import { serverText, tcpExchange, udpExchange } from './transport.js';
import type { ServerAddress } from './transport.js';
import { canonical, decodeResponse, encodeQuery, typeName } from './wire.js';
import { WireLog } from './wire-log.js';
import type { DecodedMessage } from './wire.js';
import type { DnsAnswer, DnsLogEntry, DnsRcode, DnsRecord, QueryOptions, RecordOf, RrType } from './types.js';

/**
 * mxdoctor's stub resolver: asks the configured recursive resolvers, UDP first and TCP when
 * the answer is truncated, with a per-attempt timeout and retries that rotate through the
 * resolvers. Follows CNAME chains (asking again when a resolver returns only part of one),
 * dedupes identical queries through a cache and logs every exchange on the wire.
 * Outcomes — NXDOMAIN, SERVFAIL, a timeout — come back as data; only an abort throws.
 */
export interface DnsClientOptions {
  servers: ServerAddress[];
  /** Per-attempt timeout in milliseconds. */
  timeoutMs: number;
  /** Further attempts after the first, on timeout or network error. */
  retries: number;
  cache?: DnsCache;
  /** Signal applied to every query (e.g. the check's deadline), combined with per-call ones. */
  signal?: AbortSignal;
  /** Most queries in flight to one resolver across this process (default 64). */
  maxInFlight?: number;
}

/** The client settings that come from configuration. */
export function dnsClientSettings(dns: {
  resolvers: ServerAddress[];
  timeoutMs: number;
  retries: number;
  maxInFlight: number;
}): Pick<DnsClientOptions, 'servers' | 'timeoutMs' | 'retries' | 'maxInFlight'> {
  return {
    servers: dns.resolvers,
    timeoutMs: dns.timeoutMs,
    retries: dns.retries,
    maxInFlight: dns.maxInFlight,
  };
}

/** RFC 1034 §3.6.2 gives no limit; resolvers use 8–16. */
const MAX_CNAME_HOPS = 10;

/**
 * The records and CNAME chain of an answer that has none: one frozen array for all of them.
 * A check keeps every answer while it runs (most are NXDOMAIN or NODATA), and two empty
 * arrays each were a tenth of what a waiting check held (issue 14 P4). Answers are read-only.
 */
const NONE: never[] = Object.freeze([]) as unknown as never[];

/** UDP first, then TCP when the answer is truncated (RFC 7766 §5). */
const TRANSPORTS = ['udp', 'tcp'] as const;

/**
 * What a client knows of one resolver's liveness. A resolver that has sent nothing back and
 * whose attempt failed is asked the root zone's NS records (which every recursive resolver
 * holds from priming, and which an authoritative-only server at least refuses) before it is
 * asked anything else; if that goes unanswered too, it is dead for this client: not asked
 * again, so that a dead resolver costs a check two timeouts instead of one timeout per
 * attempt of every query, one queue of queries after another (27 s with the defaults). A
 * resolver that has answered anything is never judged so: a domain whose name servers are
 * dead makes a live resolver time out on that domain's names alone.
 */
interface ResolverHealth {
  /** It has sent something back (any answer, REFUSED included) to this client. */
  heard: boolean;
  /** An attempt to it timed out or met a network error. */
  failed: boolean;
  /** The liveness query, once sent; settles when it is answered or has failed. */
  probe?: Promise<void>;
  /** Set when it answered neither a query nor the liveness query: why it is not asked. */
  dead?: string;
}

export class DnsClient {
  readonly servers: ServerAddress[];
  private readonly wire = new WireLog();
  /** "ip:port" of each server, for the log and answers. */
  private readonly serverTexts: string[];
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly cache: DnsCache;
  private readonly signal: AbortSignal | undefined;
  private readonly maxInFlight: number;
  private readonly startedAt = performance.now();
  private readonly health: ResolverHealth[];
  private next = 0;

  constructor(options: DnsClientOptions) {
    if (options.servers.length === 0) throw new Error('DnsClient needs at least one resolver');
    this.servers = options.servers;
    this.serverTexts = options.servers.map(serverText);
    this.timeoutMs = options.timeoutMs;
    this.retries = options.retries;
    this.cache = options.cache ?? new CheckCache();
    this.signal = options.signal;
    this.maxInFlight = options.maxInFlight ?? 64;
    this.health = options.servers.map(() => ({ heard: false, failed: false }));
  }

  /** Every exchange on the wire so far, in order (built on each read: read it once). */
  get log(): DnsLogEntry[] {
    return this.wire.entries(this.serverTexts);
  }

  /** Queries `name` for `type`. Never rejects for DNS outcomes; rejects when aborted. */
  query<T extends RrType>(
    name: string,
    type: T,
    options: QueryOptions = {},
  ): Promise<DnsAnswer<RecordOf<T>>> {
    const qname = canonical(name);
    const kind =
      options.checkingDisabled || options.dnssecOk
        ? `${type}|${options.checkingDisabled ? 'cd' : ''}|${options.dnssecOk ? 'do' : ''}`
        : type;
    const cached = this.cache.get(qname, kind);
    if (cached) return cached as Promise<DnsAnswer<RecordOf<T>>>;
    // At most as many queries are being resolved at once in this process as its resolvers
    // take in flight; the others wait their turn in src/dns/inflight.ts's queue, as a record
    // each. A query whose check was aborted meanwhile fails as soon as it is admitted.
    const pending = admit(this.maxInFlight * this.servers.length, () => this.resolve(qname, type, options));
    this.cache.set(qname, kind, pending as Promise<DnsAnswer>, !options.once);
    return pending;
  }

  /** A and AAAA of a host, asked concurrently. */
  async addresses(
    name: string,
    options: QueryOptions = {},
  ): Promise<{ a: DnsAnswer<RecordOf<'A'>>; aaaa: DnsAnswer<RecordOf<'AAAA'>> }> {
    const [a, aaaa] = await Promise.all([this.query(name, 'A', options), this.query(name, 'AAAA', options)]);
    return { a, aaaa };
  }

  private async resolve<T extends RrType>(
    qname: string,
    type: T,
    options: QueryOptions,
  ): Promise<DnsAnswer<RecordOf<T>>> {
    const started = performance.now();
    let chain: string[] = NONE;
    let current = qname;
    let ad = true;
    // Names already asked in this chain; only a CNAME chain needs it.
    let visited: Set<string> | undefined;
    for (let hop = 0; ; hop++) {
      const exchange = await this.exchange(current, type, options);
      if (!exchange.message) {
        return {
          name: qname,
          type,
          rcode: exchange.rcode,
          records: NONE,
          cnameChain: chain,
          ad: false,
          ms: Math.round(performance.now() - started),
          ...(exchange.server ? { server: exchange.server } : {}),
          ...(exchange.error ? { error: exchange.error } : {}),
        };
      }
      const message = exchange.message;
      ad = ad && message.ad;
      const walked = followChain(current, type, message.answers);
      if (walked.chain.length > 0) chain = [...chain, ...walked.chain];
      const done =
        walked.records.length > 0 ||
        walked.chain.length === 0 ||
        message.rcode !== 'NOERROR' ||
        hop >= MAX_CNAME_HOPS ||
        walked.end === qname ||
        visited?.has(walked.end) === true;
      if (done) {
        // Built whole (no property added afterwards) and with its records in an array of
        // their number: a check keeps every answer in its cache while it runs.
        const records = (walked.records.length ? walked.records.slice() : NONE) as RecordOf<T>[];
        const ms = Math.round(performance.now() - started);
        const ttl = answerTtl(walked.records, walked.cnames, message);
        const server = exchange.server;
        if (server === undefined)
          return ttl === undefined
            ? { name: qname, type, rcode: message.rcode, records, cnameChain: chain, ad, ms }
            : { name: qname, type, rcode: message.rcode, records, cnameChain: chain, ad, ms, ttl };
        return ttl === undefined
          ? { name: qname, type, rcode: message.rcode, records, cnameChain: chain, ad, ms, server }
          : { name: qname, type, rcode: message.rcode, records, cnameChain: chain, ad, ms, server, ttl };
      }
      // The resolver (or an authoritative-only server) gave us the CNAME but not its
      // target's data: ask for the target ourselves.
      current = walked.end;
      (visited ??= new Set()).add(current);
    }
  }

  /** One question, with retries across servers. Returns a message or a failure rcode. */
  private async exchange(
    name: string,
    type: RrType,
    options: QueryOptions,
  ): Promise<{ message?: DecodedMessage; rcode: DnsRcode; server?: string; error?: string }> {
    const signal = combine(this.signal, options.signal);
    let lastFailure:
      { message?: DecodedMessage; rcode: DnsRcode; server?: string; error?: string } | undefined;
    // Resolvers that failed this question (by index), once one has.
    let tried: Set<number> | undefined;
    // The question's bytes, written once; each attempt gives it an ID of its own.
    let query: Buffer;
    try {
      query = encodeQuery(0, name, type, options);
    } catch (err) {
      // A name that cannot go on the wire (a label over 63 octets, a character that is not one
      // octet) is an answer about that name, asked of nobody: names come from untrusted text
      // (a bounce's DKIM selector, a pasted host) as well as from users.
      return { rcode: 'OTHER', error: `not asked: ${(err as Error).message}` };
    }
    const attempts = this.retries + 1;
    for (let attempt = 0; attempt < attempts; attempt++) {
      if (signal?.aborted) throw abortReason(signal);
      const index = await this.usable(signal);
      if (index === undefined) return lastFailure ?? this.noneAlive();
      const serverText = this.serverTexts[index]!;
      const result = await this.attempt(index, name, type, query, signal);
      if (result.message) {
        const rc = result.message.rcode;
        // SERVFAIL/REFUSED from one resolver: another may do better (a stub's usual
        // behaviour); give up once each resolver has said so.
        if ((rc === 'SERVFAIL' || rc === 'REFUSED') && (tried?.size ?? 0) + 1 < this.servers.length) {
          (tried ??= new Set()).add(index);
          lastFailure = { message: result.message, rcode: rc, server: serverText };
          continue;
        }
        return { message: result.message, rcode: rc, server: serverText };
      }
      (tried ??= new Set()).add(index);
      lastFailure = { rcode: result.rcode, server: serverText, error: result.error };
    }
    return lastFailure ?? { rcode: 'TIMEOUT', error: 'no resolver answered' };
  }

  /**
   * The next resolver in turn that is not dead, once its liveness query (if it needs one) has
   * settled; undefined when every resolver is dead.
   */
  private async usable(signal: AbortSignal | undefined): Promise<number | undefined> {
    for (let tries = 0; tries < this.servers.length; tries++) {
      const index = this.next++ % this.servers.length;
      const health = this.health[index]!;
      if (health.failed && !health.heard) {
        health.probe ??= this.probe(index);
        await raceSignal(health.probe, signal);
      }
      if (!health.dead) return index;
    }
    return undefined;
  }

  /** Asks resolver `index` for the root zone's NS records; marks it dead when that fails too. */
  private async probe(index: number): Promise<void> {
    const health = this.health[index]!;
    const result = await this.attempt(index, '', 'NS', encodeQuery(0, '', 'NS'), this.signal).catch(
      () => undefined,
    );
    if (result && !result.message && !health.heard)
      health.dead = `${this.serverTexts[index]} answered no query, nor one for the root zone's NS records (${result.error}); not asked again`;
  }

  /** The failure of a question no resolver was asked, all being dead. */
  private noneAlive(): { rcode: DnsRcode; server?: string; error: string } {
    const dead = this.health.findIndex((h) => h.dead);
    return {
      rcode: 'TIMEOUT',
      ...(dead >= 0 ? { server: this.serverTexts[dead]! } : {}),
      error: `not asked: ${this.health.map((h) => h.dead).join('; ')}`,
    };
  }

  private async attempt(
    index: number,
    name: string,
    type: RrType,
    query: Buffer,
    signal: AbortSignal | undefined,
  ): Promise<{ message?: DecodedMessage; rcode: DnsRcode; error: string }> {
    const server = this.servers[index]!;
    const serverText = this.serverTexts[index]!;
    // A fresh ID per attempt (RFC 5452 §9.2): the previous attempt's bytes are already sent.
    const id = randomInt(0x10000);
    query.writeUInt16BE(id, 0);
    for (const transport of TRANSPORTS) {
      const release = await acquireSlot(serverText, this.maxInFlight, signal);
      const t0 = performance.now();
      // The log entry is written once, with all its fields, when the exchange has ended.
      const atMs = Math.round(t0 - this.startedAt);
      try {
        let raw: Buffer;
        try {
          raw = await (transport === 'udp'
            ? udpExchange(server, query, id, this.timeoutMs, signal)
            : tcpExchange(server, query, this.timeoutMs, signal));
        } finally {
          release();
        }
        this.health[index]!.heard = true;
        const message = decodeResponse(raw);
        if (message.questionName !== undefined && message.questionName !== name) {
          throw new Error(`answer is for ${message.questionName}, not ${name}`);
        }
        if (message.questionType !== undefined && typeName(message.questionType) !== type) {
          throw new Error(`answer is for type ${typeName(message.questionType)}, not ${type}`);
        }
        this.wire.push({
          name,
          type,
          server: index,
          transport,
          rcode: message.rcode,
          answers: message.answers.length,
          ad: message.ad,
          truncated: message.truncated,
          ms: Math.round(performance.now() - t0),
          atMs,
          ra: message.ra,
        });
        // RFC 7766 §5: a truncated UDP answer is retried over TCP.
        if (transport === 'udp' && message.truncated) continue;
        return { message, rcode: message.rcode, error: '' };
      } catch (err) {
        if (signal?.aborted) throw abortReason(signal);
        const rcode = isProbeError(err, 'ETIMEDOUT') ? 'TIMEOUT' : 'NETWORK_ERROR';
        const error = describeError(err);
        this.health[index]!.failed = true;
        this.wire.push({
          name,
          type,
          server: index,
          transport,
          rcode,
          answers: 0,
          ad: false,
          truncated: false,
          ms: Math.round(performance.now() - t0),
          atMs,
          error,
        });
        return { rcode, error };
      }
    }
    return { rcode: 'NETWORK_ERROR', error: 'unreachable' };
  }
}

/**
 * Checks pass their own deadline, which is most often the client's signal already: no
 * combined signal then. Each AbortSignal.any() is kept (as a WeakRef) by its sources until
 * they abort, so one per query would pile up for the whole check (issue 14 P4).
 */
function combine(a: AbortSignal | undefined, b: AbortSignal | undefined): AbortSignal | undefined {
  if (!a || a === b) return b;
  if (!b) return a;
  return AbortSignal.any([a, b]);
}

/** Walks the answer section from `start` through CNAMEs to the records of `type`. */
export function followChain(
  start: string,
  type: RrType,
  answers: DnsRecord[],
): { records: DnsRecord[]; chain: string[]; cnames: DnsRecord[]; end: string } {
  const chain: string[] = [];
  const cnames: DnsRecord[] = [];
  let current = start;
  for (let i = 0; i <= MAX_CNAME_HOPS; i++) {
    const records = answers.filter((r) => r.name === current && r.type === type);
    if (records.length > 0 || type === 'CNAME') return { records, chain, cnames, end: current };
    const cname = answers.find((r) => r.name === current && r.type === 'CNAME');
    if (!cname || cname.type !== 'CNAME' || chain.includes(cname.target)) break;
    cnames.push(cname);
    chain.push(cname.target);
    current = cname.target;
  }
  return { records: [], chain, cnames, end: current };
}

function answerTtl(records: DnsRecord[], cnames: DnsRecord[], message: DecodedMessage): number | undefined {
  const all = [...records, ...cnames];
  if (all.length > 0) return Math.min(...all.map((r) => r.ttl));
  // RFC 2308 §5: negative answers are cached for min(SOA TTL, SOA MINIMUM).
  const soa = message.authorities.find((r) => r.type === 'SOA');
  if (soa && soa.type === 'SOA') return Math.min(soa.ttl, soa.minimum);
  return undefined;
}
