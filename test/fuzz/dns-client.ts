import { createSocket } from 'node:dgram';
import type { Socket as UdpSocket } from 'node:dgram';
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { DnsClient } from '../../src/dns/client.js';
import { DNS_RCODES, RR_TYPES } from '../../src/dns/types.js';
import type { RrType } from '../../src/dns/types.js';
import { erase, violation, withinBudget } from './harness.js';
import type { FuzzTarget } from './harness.js';
import { encodeMessage, messageArbFor, mutate, mutationArb } from './dns-packets.js';
import type { MessageSpec, Mutation } from './dns-packets.js';

/**
 * The DNS client (src/dns/client.ts: UDP, TCP on truncation, retries, CNAME chasing, how it
 * decodes and checks answers) against a loopback resolver that answers every query with a
 * random message — built around the query's own question and ID most of the time, then
 * mutated — over UDP and TCP, or stays silent, truncates, lies about TCP lengths, closes.
 * Properties:
 * - query() always resolves (outcomes are data), never rejects without an abort;
 * - it ends within its attempts' timeouts (CNAME hops × attempts × transports);
 * - the answer is plain data with a known rcode, a bounded CNAME chain and only records of
 *   the asked type; the wire log stays bounded.
 */

const TIMEOUT_MS = 25;
const RETRIES = 1;
/** MAX_CNAME_HOPS + 1 exchanges, each up to (retries + 1) attempts of UDP then TCP. */
const WORST_MS = 11 * (RETRIES + 1) * 2 * TIMEOUT_MS;
const BUDGET_MS = WORST_MS + 1000;
const RCODES = new Set<string>(DNS_RCODES);
const TYPES: RrType[] = ['A', 'AAAA', 'MX', 'TXT', 'CNAME', 'TLSA', 'SOA', 'NS', 'PTR', 'CAA', 'DS'];

export interface ResolverRecipe {
  message: MessageSpec;
  mutations: Mutation[];
  /** Answer with the query's ID and question (else another ID / no question). */
  echoId: boolean;
  echoQuestion: boolean;
  udp: 'answer' | 'silent' | 'truncated';
  tcp: 'answer' | 'silent' | 'close' | 'short-length' | 'long-length' | 'chunked';
  delayMs: number;
}

export const recipeArb = (type: RrType): fc.Arbitrary<ResolverRecipe> =>
  fc.record({
    message: messageArbFor(RR_TYPES[type]),
    mutations: fc.oneof(
      { weight: 2, arbitrary: fc.constant<Mutation[]>([]) },
      fc.array(mutationArb, { maxLength: 4 }),
    ),
    echoId: fc.oneof({ weight: 9, arbitrary: fc.constant(true) }, fc.constant(false)),
    echoQuestion: fc.oneof({ weight: 9, arbitrary: fc.constant(true) }, fc.constant(false)),
    udp: fc.constantFrom('answer', 'answer', 'answer', 'silent', 'truncated'),
    tcp: fc.constantFrom('answer', 'answer', 'silent', 'close', 'short-length', 'long-length', 'chunked'),
    delayMs: fc.constantFrom(0, 0, 0, 5),
  });

/** The question section of a query we sent (uncompressed): its bytes after the header. */
function questionOf(query: Buffer): Buffer | undefined {
  let at = 12;
  while (at < query.length && query[at] !== 0) at += 1 + query[at]!;
  return at + 5 <= query.length ? query.subarray(12, at + 5) : undefined;
}

/** A resolver on 127.0.0.1 (UDP and TCP on one port) that answers as the current recipe says. */
export class RecipeResolver {
  port = 0;
  recipe: ResolverRecipe | undefined;
  private udp: UdpSocket | undefined;
  private tcp: Server | undefined;
  private readonly sockets = new Set<Socket>();

  private response(query: Buffer, r: ResolverRecipe, truncated: boolean): Buffer {
    const id = query.readUInt16BE(0);
    const m = truncated ? { ...r.message, flags: r.message.flags | 0x0200 } : r.message;
    const q = r.echoQuestion ? questionOf(query) : undefined;
    return mutate(encodeMessage(m, r.echoId ? id : id ^ 0x5a5a, q), r.mutations);
  }

  async start(): Promise<this> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const udp = createSocket('udp4');
      const tcp = createServer((s) => this.serveTcp(s));
      try {
        await new Promise<void>((resolve, reject) => {
          udp.once('error', reject);
          udp.bind(0, '127.0.0.1', () => resolve());
        });
        const port = udp.address().port;
        await new Promise<void>((resolve, reject) => {
          tcp.once('error', reject);
          tcp.listen(port, '127.0.0.1', () => resolve());
        });
        udp.on('error', () => undefined);
        udp.on('message', (msg, rinfo) => {
          const r = this.recipe;
          if (!r || msg.length < 12 || r.udp === 'silent') return;
          const answer = this.response(msg, r, r.udp === 'truncated');
          setTimeout(() => udp.send(answer, rinfo.port, rinfo.address, () => undefined), r.delayMs);
        });
        this.udp = udp;
        this.tcp = tcp;
        this.port = port;
        return this;
      } catch {
        udp.close();
        tcp.close();
      }
    }
    throw new Error('could not bind a UDP and TCP port for the fuzz resolver');
  }

  private serveTcp(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => undefined);
    let buf = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length < 2 || buf.length < 2 + buf.readUInt16BE(0)) return;
      const query = buf.subarray(2, 2 + buf.readUInt16BE(0));
      const r = this.recipe;
      if (!r || r.tcp === 'silent') return;
      if (r.tcp === 'close') return void socket.end();
      const answer = this.response(query, r, false);
      const prefix = Buffer.alloc(2);
      const length =
        r.tcp === 'short-length'
          ? Math.max(answer.length - 3, 0)
          : r.tcp === 'long-length'
            ? Math.min(answer.length + 7, 0xffff)
            : answer.length;
      prefix.writeUInt16BE(length);
      const all = Buffer.concat([prefix, answer]);
      if (r.tcp === 'chunked') {
        for (let i = 0; i < all.length; i += 3) socket.write(all.subarray(i, i + 3));
      } else socket.write(all);
    });
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => (this.udp ? this.udp.close(() => r()) : r()));
    await new Promise<void>((r) => (this.tcp ? this.tcp.close(() => r()) : r()));
  }
}

export function clientProperty(resolver: RecipeResolver) {
  return fc.asyncProperty(
    fc.constantFrom(...TYPES).chain((type) => fc.tuple(fc.constant(type), recipeArb(type))),
    fc.constantFrom('fuzz.test', 'a.fuzz.test', 'b.fuzz.test'),
    async ([type, recipe], name) => {
      resolver.recipe = recipe;
      const client = new DnsClient({
        servers: [{ host: '127.0.0.1', port: resolver.port }],
        timeoutMs: TIMEOUT_MS,
        retries: RETRIES,
      });
      await withinBudget(BUDGET_MS, `${name} ${type}`, async () => {
        const t0 = performance.now();
        const answer = await client.query(name, type);
        const ms = performance.now() - t0;
        violation(ms <= WORST_MS + 500, `the query took ${Math.round(ms)} ms (attempts allow ${WORST_MS})`);
        violation(RCODES.has(answer.rcode), `rcode ${answer.rcode}`);
        violation(
          isDeepStrictEqual(JSON.parse(JSON.stringify(answer)), answer),
          'the answer is not plain data',
        );
        violation(answer.cnameChain.length <= 121, `a CNAME chain of ${answer.cnameChain.length}`);
        violation(
          answer.records.every((r) => r.type === type),
          `records of another type than ${type}: ${answer.records.map((r) => r.type).join(', ')}`,
        );
        violation(answer.records.length <= (64 * 1024) / 11, `${answer.records.length} records`);
        violation(client.log.length <= 11 * (RETRIES + 1) * 2, `${client.log.length} log entries`);
      });
    },
  );
}

export const dnsClientTarget: FuzzTarget = {
  name: 'dns-client',
  about:
    'DNS client against a random loopback resolver (UDP+TCP): always resolves, within its timeouts, plain bounded answers of the asked type',
  shortRuns: 120,
  budgetMs: BUDGET_MS,
  async create() {
    const resolver = await new RecipeResolver().start();
    return { property: erase(clientProperty(resolver)), stop: () => resolver.stop() };
  },
};
