import type { Redis } from 'ioredis';
import { z } from 'zod';
import { DeliverySchema } from '../inbound/model.js';
import { InboundReportSchema } from '../inbound/report.js';
import type { InboundReport } from '../inbound/report.js';
import type { Delivery } from '../inbound/model.js';

/**
 * Inbound tests in Redis, under `<prefix>:inbound-<kind>:…`: never under `<prefix>:inbound:`,
 * which is the key space of BullMQ's `inbound` queue (same prefix) — a queue clean-up, an
 * obliterate or an operator's scan of the queue's keys must not reach the tests.
 *
 * - `:inbound-addr:<token>` → test id, while the one-time address waits for its message
 *   (the test's TTL). Deleted when a message is accepted: an address takes one message.
 * - `:inbound-used:<token>` → test id, after that (so the receiver can say "used", not
 *   "unknown"), for the retention period.
 * - `:inbound-test:<id>` → the test as JSON: waiting until its TTL, then kept for the
 *   retention period so that a late reader learns it expired; from the message on, the
 *   retention period from arrival, with the connection facts and then the report.
 * - `:inbound-msg:<id>` → the message bytes, for the retention period (they are real mail).
 *
 * Accepting a message is atomic: of two deliveries racing for one address, one wins.
 */
export const StoredInboundTestSchema = z.object({
  id: z.string(),
  token: z.string(),
  address: z.string(),
  createdAt: z.string(),
  expiresAt: z.string().describe('When the address stops accepting a message'),
  state: z.enum(['waiting', 'received', 'analysed']),
  receivedAt: z.string().optional(),
  analysedAt: z.string().optional(),
  delivery: DeliverySchema.optional(),
  report: InboundReportSchema.optional(),
  /** Why the analysis could not be made (it stays "received"). */
  error: z.string().optional(),
});
export type StoredInboundTest = z.infer<typeof StoredInboundTestSchema>;

export interface InboundStoreOptions {
  prefix: string;
  testTtlMs: number;
  retentionMs: number;
}

// KEYS: addr, used, test, msg. ARGV: id, test JSON, message, retention ms.
// Accepts the message when the address still belongs to the test.
const CLAIM = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[4])
redis.call('SET', KEYS[3], ARGV[2], 'PX', ARGV[4])
redis.call('SET', KEYS[4], ARGV[3], 'PX', ARGV[4])
return 1
`;

// KEYS: addr, used, test, msg. ARGV: id, waiting test JSON, address TTL ms, test TTL ms.
// Undoes a claim whose analysis could not be queued: the sender is told to try again.
const UNCLAIM = `
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[2], KEYS[4])
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
redis.call('SET', KEYS[3], ARGV[2], 'PX', ARGV[4])
return 1
`;

export class InboundTestStore {
  constructor(
    private readonly redis: Redis,
    readonly options: InboundStoreOptions,
  ) {}

  private key(kind: 'addr' | 'used' | 'test' | 'msg', id: string): string {
    return `${this.options.prefix}:inbound-${kind}:${id}`;
  }

  /** Opens a test: its address accepts one message until `expiresAt`. */
  async create(id: string, token: string, address: string, now = new Date()): Promise<StoredInboundTest> {
    const test: StoredInboundTest = {
      id,
      token,
      address,
      createdAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + this.options.testTtlMs).toISOString(),
      state: 'waiting',
    };
    await this.redis
      .multi()
      .set(
        this.key('test', id),
        JSON.stringify(test),
        'PX',
        this.options.testTtlMs + this.options.retentionMs,
      )
      .set(this.key('addr', token), id, 'PX', this.options.testTtlMs)
      .exec();
    return test;
  }

  async lookup(token: string): Promise<'waiting' | 'used' | 'unknown'> {
    const [waiting, used] = await this.redis.mget(this.key('addr', token), this.key('used', token));
    return waiting ? 'waiting' : used ? 'used' : 'unknown';
  }

  /** Accepts a message for the address of `token`, once; the test moves to "received". */
  async claim(
    token: string,
    delivery: Delivery,
    message: Buffer,
  ): Promise<{ ok: true; id: string } | { ok: false; reason: 'used' | 'unknown' }> {
    const id = await this.redis.get(this.key('addr', token));
    const test = id ? await this.get(id) : undefined;
    if (!id || !test || test.state !== 'waiting') {
      return { ok: false, reason: (await this.lookup(token)) === 'unknown' ? 'unknown' : 'used' };
    }
    const received: StoredInboundTest = {
      ...test,
      state: 'received',
      receivedAt: delivery.envelope.receivedAt,
      delivery,
    };
    const done = await this.redis.eval(
      CLAIM,
      4,
      this.key('addr', token),
      this.key('used', token),
      this.key('test', id),
      this.key('msg', id),
      id,
      JSON.stringify(received),
      message,
      String(this.options.retentionMs),
    );
    return done === 1 ? { ok: true, id } : { ok: false, reason: 'used' };
  }

  /** Reopens the address of a test whose claim could not be followed through. */
  async unclaim(test: StoredInboundTest): Promise<void> {
    const left = Date.parse(test.expiresAt) - Date.now();
    const waiting: StoredInboundTest = { ...test, state: 'waiting' };
    delete waiting.receivedAt;
    delete waiting.delivery;
    await this.redis.eval(
      UNCLAIM,
      4,
      this.key('addr', test.token),
      this.key('used', test.token),
      this.key('test', test.id),
      this.key('msg', test.id),
      test.id,
      JSON.stringify(waiting),
      String(Math.max(1000, left)),
      String(Math.max(1000, left) + this.options.retentionMs),
    );
  }

  async get(id: string): Promise<StoredInboundTest | undefined> {
    const text = await this.redis.get(this.key('test', id));
    return text ? (JSON.parse(text) as StoredInboundTest) : undefined;
  }

  async getMessage(id: string): Promise<Buffer | undefined> {
    return (await this.redis.getBuffer(this.key('msg', id))) ?? undefined;
  }

  private async update(id: string, change: (t: StoredInboundTest) => StoredInboundTest): Promise<boolean> {
    const test = await this.get(id);
    if (!test) return false;
    // KEEPTTL: the retention period runs from the message's arrival.
    await this.redis.set(this.key('test', id), JSON.stringify(change(test)), 'KEEPTTL');
    return true;
  }

  async saveReport(id: string, report: InboundReport): Promise<boolean> {
    return this.update(id, (t) => {
      const next: StoredInboundTest = { ...t, state: 'analysed', analysedAt: report.analysedAt, report };
      delete next.error;
      return next;
    });
  }

  async saveError(id: string, error: string): Promise<boolean> {
    return this.update(id, (t) => ({ ...t, error: error.slice(0, 500) }));
  }
}
