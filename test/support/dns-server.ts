import dns2 from 'dns2';
import type { Packet } from 'dns2';
import type { RemoteInfo, Socket as UdpSocket } from 'node:dgram';
import type { Server as TcpServer } from 'node:net';
import { encodeTlsaRdata } from '../../src/dns/wire.js';
import { RR_TYPES } from '../../src/dns/types.js';

/**
 * A DNS server on loopback for tests, built with dns2, that behaves like a recursive
 * resolver over fixture zones: NXDOMAIN for names that do not exist, NODATA for names that
 * exist without the asked type (including empty non-terminals, RFC 8020), CNAME chains
 * followed within the zone data, and per-name misbehaviour: SERVFAIL, REFUSED, silence,
 * forced truncation. Records every query so tests can assert the lookup sequence.
 *
 * Zone shape: { "name": { TYPE: [records] } }, records in presentation-like form:
 *   A/AAAA: "192.0.2.1"          MX: "10 mx1.example.com" (or "0 ." for null MX)
 *   TXT: "text" or ["part1", "part2"] (one record, several character-strings; long
 *        strings are split at 255 octets)
 *   CNAME/PTR/NS: "target.example.com"
 *   TLSA: "3 1 1 <hex>"          SOA: "ns.example.com hostmaster.example.com 1 3600 600 86400 300"
 *   SRV: "0 5 443 host.example.com"   CAA: '0 issue "ca.example"'
 */
export type ZoneRecords = Partial<Record<string, (string | string[])[]>>;
export type Zones = Record<string, ZoneRecords>;

export interface NameBehaviour {
  servfail?: boolean;
  refused?: boolean;
  /** Never answer (the client must time out). */
  silent?: boolean;
  /**
   * Never answer queries for types this name has no records of (NODATA would be the honest
   * answer): the RFC 7208 suite's "TIMEOUT" zone entries. Types it has are answered.
   */
  silentWhenNoData?: boolean;
  /** Answer UDP queries with TC=1 and no records, forcing TCP. */
  truncate?: boolean;
  /** Answer only after this many milliseconds. */
  delayMs?: number;
  /** Delay only queries of these types (default: every type). */
  delayTypes?: string[];
  /** Override the server-wide AD flag for this name. */
  ad?: boolean;
  /** SERVFAIL unless the query has CD set (emulates a bogus DNSSEC answer). */
  bogus?: boolean;
  /**
   * NXDOMAIN although names exist beneath this one: a server that denies empty
   * non-terminals, against RFC 8020 §2.
   */
  deniedNonTerminal?: boolean;
}

export interface FixtureDnsOptions {
  zones: Zones;
  /** Per-name behaviour (applies to every type of that name). */
  behaviour?: Record<string, NameBehaviour>;
  /** Set AD on NOERROR/NXDOMAIN answers, emulating a validating resolver. */
  ad?: boolean;
  ttl?: number;
  /**
   * false: behave like an authoritative-only server (NSD, Knot) — no RA flag, and REFUSED for
   * names outside the zones it serves.
   */
  recursion?: boolean;
  /**
   * Answer a UDP question asked before with the bytes of its first answer (its ID patched in),
   * without dns2's bit-by-bit decoding and encoding, as a resolver answers from its cache. For
   * benches: over loopback, the fixture's own CPU otherwise lands on the round trips it serves
   * (a check's burst of some fifty questions kept the first answers ~10 ms behind). Cleared
   * whenever zones, behaviours or answering change; queries are logged all the same.
   */
  answerCache?: boolean;
}

/** dns2's UDP server: a dgram socket whose `response` sends one answer (src: dns2/server/udp.js). */
type Dns2Udp = UdpSocket & { response(ctx: unknown, message: Packet): Promise<Buffer> };

export interface LoggedQuery {
  name: string;
  type: string;
  transport: 'udp' | 'tcp';
  cd: boolean;
  ad: boolean;
  /** The message ID. */
  id: number;
  /** The source port the question came from (UDP). */
  port?: number;
}

// The types the fixture serves: our resolver's, plus the obsolete SPF type (RFC 7208 §3.1).
const TYPE_CODES: Record<string, number> = { ...RR_TYPES, SPF: 99 };
const TYPE_NAMES = Object.fromEntries(Object.entries(TYPE_CODES).map(([k, v]) => [v, k]));

function lower(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

function splitTxt(value: string | string[]): string[] {
  const parts = Array.isArray(value) ? value : [value];
  return parts.flatMap((p) => {
    const buf = Buffer.from(p, 'utf8');
    if (buf.length <= 255) return [p];
    const chunks: string[] = [];
    for (let i = 0; i < buf.length; i += 255) chunks.push(buf.subarray(i, i + 255).toString('latin1'));
    return chunks;
  });
}

function toResource(
  name: string,
  type: string,
  value: string | string[],
  ttl: number,
): Record<string, unknown> {
  const base = { name, type: TYPE_CODES[type], class: 1, ttl };
  const text = Array.isArray(value) ? value.join('') : value;
  switch (type) {
    case 'A':
    case 'AAAA':
      return { ...base, address: text };
    case 'MX': {
      const [pref, exchange] = text.split(/\s+/);
      return { ...base, priority: Number(pref), exchange: exchange === '.' ? '' : exchange };
    }
    case 'TXT':
    case 'SPF':
      return { ...base, data: splitTxt(value) };
    case 'CNAME':
    case 'PTR':
      return { ...base, domain: text };
    case 'NS':
      return { ...base, ns: text };
    case 'SOA': {
      const [primary, admin, serial, refresh, retry, expiration, minimum] = text.split(/\s+/);
      return {
        ...base,
        primary,
        admin,
        serial: Number(serial),
        refresh: Number(refresh),
        retry: Number(retry),
        expiration: Number(expiration),
        minimum: Number(minimum),
      };
    }
    case 'SRV': {
      const [priority, weight, port, target] = text.split(/\s+/);
      return { ...base, priority: Number(priority), weight: Number(weight), port: Number(port), target };
    }
    case 'CAA': {
      const m = /^(\d+)\s+(\S+)\s+"?(.*?)"?$/.exec(text)!;
      return { ...base, flags: Number(m[1]), tag: m[2], value: m[3] };
    }
    case 'TLSA': {
      const [usage, selector, matching, data] = text.split(/\s+/);
      return {
        ...base,
        data: encodeTlsaRdata(Number(usage), Number(selector), Number(matching), data ?? ''),
      };
    }
    default:
      return { ...base, data: Buffer.from(text, 'hex') };
  }
}

export class FixtureDns {
  readonly queries: LoggedQuery[] = [];
  /** Questions answered from the answer cache (FixtureDnsOptions.answerCache). */
  answeredFromCache = 0;
  port = 0;
  private server: ReturnType<typeof dns2.createServer> | undefined;
  private readonly zones = new Map<string, ZoneRecords>();
  private readonly behaviour = new Map<string, NameBehaviour>();
  private readonly ttl: number;
  private ad: boolean;
  private readonly recursion: boolean;
  private answersLeft: number | undefined;
  private readonly answers: Map<string, { bytes: Buffer; query: LoggedQuery }> | undefined;

  constructor(options: FixtureDnsOptions) {
    for (const [name, records] of Object.entries(options.zones)) this.zones.set(lower(name), records);
    for (const [name, b] of Object.entries(options.behaviour ?? {})) this.behaviour.set(lower(name), b);
    this.ttl = options.ttl ?? 300;
    this.ad = options.ad ?? false;
    this.recursion = options.recursion ?? true;
    if (options.answerCache) this.answers = new Map();
  }

  /** "127.0.0.1:port", for --resolver and MXDOCTOR_RESOLVERS. */
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Replace or add zone data while running (e.g. a record changes between runs). */
  set(name: string, records: ZoneRecords | undefined): void {
    this.answers?.clear();
    if (records) this.zones.set(lower(name), records);
    else this.zones.delete(lower(name));
  }

  setBehaviour(name: string, behaviour: NameBehaviour | undefined): void {
    this.answers?.clear();
    if (behaviour) this.behaviour.set(lower(name), behaviour);
    else this.behaviour.delete(lower(name));
  }

  /** Whether a name is at or under (or above) a name of the fixture zones. */
  private serves(qname: string): boolean {
    for (const name of this.zones.keys()) {
      if (name === qname || qname.endsWith(`.${name}`) || name.endsWith(`.${qname}`)) return true;
    }
    return false;
  }

  setAd(ad: boolean): void {
    this.answers?.clear();
    this.ad = ad;
  }

  /**
   * Answers `n` more queries, then none at all — a resolver that stops answering in the
   * middle of a check (queries are still logged); undefined answers every query again.
   */
  stopAnsweringAfter(n: number | undefined): void {
    this.answers?.clear();
    this.answersLeft = n;
  }

  async start(): Promise<this> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const server = dns2.createServer({
        udp: true,
        tcp: true,
        handle: (request: Packet, send: (r: Packet) => Promise<Buffer>, rinfo: unknown) =>
          this.handle(request, send, rinfo),
      });
      server.on('requestError', () => {});
      // dns2 re-emits its sockets' errors on the server: without a listener, the EADDRINUSE of
      // a TCP port another process took between our UDP bind and TCP listen would be thrown
      // as an uncaught exception instead of reaching the retry below.
      server.on('error', () => {});
      try {
        // UDP first on an ephemeral port, then TCP on the same number (the client falls back to TCP on TC).
        const udp = (
          server as unknown as {
            servers: { udp: UdpSocket; tcp: TcpServer };
          }
        ).servers;
        await new Promise<void>((resolve, reject) => {
          udp.udp.once('error', reject);
          udp.udp.bind(0, '127.0.0.1', () => resolve());
        });
        const port = udp.udp.address().port;
        await new Promise<void>((resolve, reject) => {
          udp.tcp.once('error', reject);
          udp.tcp.listen(port, '127.0.0.1', () => resolve());
        });
        this.server = server;
        this.port = port;
        if (this.answers) this.answerFromCache(udp.udp as Dns2Udp, this.answers);
        return this;
      } catch {
        await server.close().catch(() => {});
      }
    }
    throw new Error('could not bind a fixture DNS server on UDP and TCP');
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    const servers = (s as unknown as { servers: { udp: UdpSocket; tcp: TcpServer } }).servers;
    await new Promise<void>((resolve) => {
      try {
        servers.udp.close(() => resolve());
      } catch {
        resolve();
      }
    });
    await new Promise<void>((resolve) => servers.tcp.close(() => resolve()));
  }

  private exists(name: string): boolean {
    if (this.zones.has(name)) return true;
    for (const key of this.zones.keys()) if (key.endsWith(`.${name}`)) return true;
    return false;
  }

  private soaFor(name: string): Record<string, unknown> | undefined {
    const labels = name.split('.');
    for (let i = 0; i < labels.length; i++) {
      const zone = labels.slice(i).join('.');
      const soa = this.zones.get(zone)?.SOA?.[0];
      if (soa) return toResource(zone, 'SOA', soa, this.ttl);
    }
    return undefined;
  }

  /** Puts the answer cache (FixtureDnsOptions.answerCache) in front of dns2's handling of UDP. */
  private answerFromCache(socket: Dns2Udp, answers: NonNullable<FixtureDns['answers']>): void {
    const listeners = socket.listeners('message') as ((data: Buffer, rinfo: RemoteInfo) => void)[];
    socket.removeAllListeners('message');
    socket.on('message', (data: Buffer, rinfo: RemoteInfo) => {
      if (data.length < 12) return;
      // The question, its flags and EDNS, without the ID: what the answer depends on.
      const key = data.toString('latin1', 2);
      const hit = answers.get(key);
      if (hit && this.answersLeft === undefined) {
        this.queries.push({ ...hit.query, id: data.readUInt16BE(0), port: rinfo.port });
        this.answeredFromCache++;
        const out = Buffer.from(hit.bytes);
        out[0] = data[0]!;
        out[1] = data[1]!;
        socket.send(out, rinfo.port, rinfo.address);
        return;
      }
      const logged = this.queries.length;
      const plain = this.answersLeft === undefined && this.behaviour.size === 0;
      // dns2 binds `response` for this request while its listener runs: keep what it sends.
      socket.response = (ctx, message) =>
        Object.getPrototypeOf(socket)
          .response.call(socket, ctx, message)
          .then((bytes: Buffer) => {
            const query = this.queries[logged];
            if (plain && query) answers.set(key, { bytes: Buffer.from(bytes), query: { ...query } });
            return bytes;
          });
      try {
        for (const listener of listeners) listener.call(socket, data, rinfo);
      } finally {
        delete (socket as Partial<Dns2Udp>).response;
      }
    });
  }

  private handle(request: Packet, sendRaw: (r: Packet) => Promise<Buffer>, rinfo: unknown): void {
    const send = (r: Packet): void => void sendRaw(r).catch(() => {});
    const question = request.questions[0] as { name: string; type: number } | undefined;
    const header = request.header as unknown as { cd?: number; ad?: number };
    const transport: 'udp' | 'tcp' =
      rinfo && typeof (rinfo as { write?: unknown }).write === 'function' ? 'tcp' : 'udp';
    const response = dns2.Packet.createResponseFromRequest(request);
    const rh = response.header as unknown as Record<string, number>;
    rh.ra = this.recursion ? 1 : 0;
    if (!question) {
      rh.rcode = 1;
      send(response);
      return;
    }
    const qname = lower(question.name);
    const qtype = TYPE_NAMES[question.type] ?? `TYPE${question.type}`;
    this.queries.push({
      name: qname,
      type: qtype,
      transport,
      cd: Boolean(header.cd),
      ad: Boolean(header.ad),
      id: (request.header as unknown as { id: number }).id,
      ...(transport === 'udp' ? { port: (rinfo as RemoteInfo).port } : {}),
    });
    if (this.answersLeft !== undefined) {
      if (this.answersLeft <= 0) return;
      this.answersLeft--;
    }
    const b = this.behaviour.get(qname) ?? {};
    const respond = (): void => {
      if (b.silent) return;
      if (b.silentWhenNoData && !this.zones.get(qname)?.[qtype]?.length) return;
      if (b.servfail || (b.bogus && !header.cd)) {
        rh.rcode = 2;
        send(response);
        return;
      }
      if (b.refused || (!this.recursion && !this.serves(qname))) {
        rh.rcode = 5;
        send(response);
        return;
      }
      if (b.deniedNonTerminal && !this.zones.has(qname)) {
        rh.rcode = 3;
        const soa = this.soaFor(qname);
        if (soa) response.authorities.push(soa as never);
        send(response);
        return;
      }
      if (b.truncate && transport === 'udp') {
        rh.tc = 1;
        send(response);
        return;
      }
      let ad = b.ad ?? this.ad;
      let current = qname;
      for (let hop = 0; hop < 12; hop++) {
        const records = this.zones.get(current);
        const wanted = records?.[qtype];
        if (wanted && wanted.length) {
          for (const v of wanted) response.answers.push(toResource(current, qtype, v, this.ttl) as never);
          break;
        }
        const cname = records?.CNAME?.[0];
        if (cname && qtype !== 'CNAME') {
          response.answers.push(toResource(current, 'CNAME', cname, this.ttl) as never);
          const target = lower(Array.isArray(cname) ? cname.join('') : cname);
          const tb = this.behaviour.get(target);
          if (tb?.ad !== undefined) ad = ad && tb.ad;
          current = target;
          continue;
        }
        if (!this.exists(current)) {
          rh.rcode = 3;
        }
        const soa = this.soaFor(current);
        if (soa) response.authorities.push(soa as never);
        break;
      }
      rh.ad = ad && !header.cd ? 1 : 0;
      send(response);
    };
    if (b.delayMs && (!b.delayTypes || b.delayTypes.includes(qtype))) setTimeout(respond, b.delayMs).unref();
    else respond();
  }
}

export async function startFixtureDns(options: FixtureDnsOptions): Promise<FixtureDns> {
  return new FixtureDns(options).start();
}
