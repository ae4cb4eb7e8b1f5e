import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Delivery } from '../../../src/inbound/model.js';
import { InboundTests, inboundJobOptions } from '../../../src/queue/jobs/inbound.js';
import { QUEUE_BOUNCES, QUEUE_CHECKS, QUEUE_INBOUND } from '../../../src/queue/names.js';
import { InboundTestStore } from '../../../src/store/inbound-tests.js';
import { deleteKeysWithPrefix } from '../../../src/store/redis.js';
import { startReceiver } from '../../../src/inbound/receiver.js';
import { selfSignedCertificate } from '../../../src/tls/self-signed.js';
import { sendTestMessage } from '../../support/inbound.js';
import { cleanPrefix, connectTestRedis, testPrefix } from '../../support/redis.js';

/**
 * Inbound tests in Redis (src/store/inbound-tests.ts) behind the receiver: a one-time address
 * that has expired, or has taken its message, is refused at RCPT as a sender would meet it.
 *
 * Inbound tests share the service's Redis prefix with BullMQ, whose `inbound` queue owns every
 * key under `<prefix>:inbound:`. Clearing the queue — BullMQ's obliterate, or an operator who
 * deletes the queue's keys by pattern — must leave the tests, their addresses and their
 * messages alone: a waiting address would otherwise be refused as unknown and a finished
 * report would vanish from its page.
 */
const DOMAIN = 'inbound.example.test';

function delivery(to: string): Delivery {
  const at = new Date().toISOString();
  return {
    connection: {
      sessionId: 's1',
      remoteAddress: '127.0.0.1',
      remotePort: 40000,
      localAddress: '127.0.0.1',
      localPort: 2525,
      connectedAt: at,
      tls: { offered: true, used: true, protocol: 'TLSv1.3', receiverCertificate: 'self-signed' },
      pipelining: { offered: true, misuse: [], groups: 0 },
      transcript: [],
      transcriptOmitted: 0,
      transactions: 1,
    },
    envelope: {
      mailFrom: 'alice@good.sender.example',
      mailFromParams: {},
      rcptTo: to,
      size: 5,
      receivedAt: at,
    },
  };
}

describe('inbound test keys beside the queues', () => {
  const prefix = testPrefix('inbound-keys');
  let redis: Redis;
  let queue: Queue;
  let tests: InboundTests;
  before(() => {
    redis = connectTestRedis();
    queue = new Queue(QUEUE_INBOUND, { connection: redis, prefix });
    const store = new InboundTestStore(redis, { prefix, testTtlMs: 60_000, retentionMs: 60_000 });
    tests = new InboundTests(queue, store, DOMAIN, inboundJobOptions(1));
  });
  after(async () => {
    await queue.close();
    redis.disconnect();
    await cleanPrefix(prefix);
  });

  it('keeps waiting and received tests when the inbound queue is obliterated and its key space deleted', async () => {
    const waiting = await tests.create();
    const received = await tests.create();
    const token = received.token;
    const outcome = await tests.deliver(token, delivery(received.address), Buffer.from('hello'));
    assert.deepEqual(outcome, { ok: true, id: received.id });
    assert.ok(await queue.getJob(received.id), 'the analysis was queued under the test id');

    await queue.pause();
    await queue.obliterate({ force: true });
    assert.equal(await queue.getJob(received.id), undefined, 'the queue was emptied');
    // What an operator does to clear a queue by hand: every key under its name.
    await deleteKeysWithPrefix(redis, `${prefix}:${QUEUE_INBOUND}:`);

    assert.equal(await tests.lookup(waiting.token), 'waiting', 'the waiting address still takes mail');
    assert.equal(await tests.lookup(token), 'used', 'the used address is still known as used');
    assert.equal((await tests.status(waiting.id))?.status, 'waiting');
    const after = await tests.status(received.id);
    assert.equal(after?.status, 'received');
    assert.equal(after?.delivery?.envelope.mailFrom, 'alice@good.sender.example');
    assert.equal((await tests.store.getMessage(received.id))?.toString(), 'hello');
  });

  it('writes no key into the key space of any queue', async () => {
    // A prefix of its own, where only the store writes.
    const own = testPrefix('inbound-own');
    const store = new InboundTestStore(redis, { prefix: own, testTtlMs: 60_000, retentionMs: 60_000 });
    try {
      await store.create('id-waiting', 'a'.repeat(26), `test-${'a'.repeat(26)}@${DOMAIN}`);
      const address = `test-${'b'.repeat(26)}@${DOMAIN}`;
      await store.create('id-received', 'b'.repeat(26), address);
      assert.equal((await store.claim('b'.repeat(26), delivery(address), Buffer.from('hi'))).ok, true);
      const keys: string[] = [];
      let cursor = '0';
      do {
        const [next, found] = await redis.scan(cursor, 'MATCH', `${own}*`, 'COUNT', 500);
        keys.push(...found);
        cursor = next;
      } while (cursor !== '0');
      assert.equal(keys.length, 5, `addr, test, test, used, msg: ${keys.join(', ')}`);
      for (const key of keys)
        for (const q of [QUEUE_CHECKS, QUEUE_BOUNCES, QUEUE_INBOUND])
          assert.ok(!key.startsWith(`${own}:${q}:`), `${key} lies in the ${q} queue's key space`);
    } finally {
      await cleanPrefix(own);
    }
  });
});

describe('one-time addresses in Redis, at the receiver', () => {
  const prefix = testPrefix('inbound-rcpt');
  let redis: Redis;
  let queue: Queue;
  let tests: InboundTests;
  let close: () => Promise<void>;
  let port: number;
  before(async () => {
    redis = connectTestRedis();
    queue = new Queue(QUEUE_INBOUND, { connection: redis, prefix });
    // An address waits 600 ms here (MXDOCTOR_INBOUND_TEST_TTL).
    const store = new InboundTestStore(redis, { prefix, testTtlMs: 600, retentionMs: 60_000 });
    tests = new InboundTests(queue, store, DOMAIN, inboundJobOptions(1));
    const cert = await selfSignedCertificate([DOMAIN]);
    const rx = await startReceiver({
      listen: { host: '127.0.0.1', port: 0 },
      domain: DOMAIN,
      tls: { certPem: cert.certPem, keyPem: cert.keyPem, kind: 'self-signed' },
      maxBytes: 100_000,
      sessionDeadlineMs: 10_000,
      idleTimeoutMs: 5_000,
      maxConnections: 10,
      connectionsPerIp: 5,
      ratePerIp: { points: 0, windowMs: 60_000 },
      lookup: (token) => tests.lookup(token),
      deliver: (token, d, message) => tests.deliver(token, d, message),
    });
    port = rx.port;
    close = () => rx.close();
  });
  after(async () => {
    await close();
    await queue.close();
    redis.disconnect();
    await cleanPrefix(prefix);
  });

  it('takes one message per address and refuses the second at RCPT as used', async () => {
    const test = await tests.create();
    assert.match(await sendTestMessage({ port, to: test.address }), /^250 /);
    assert.equal((await tests.status(test.id))?.status, 'received');
    await assert.rejects(
      sendTestMessage({ port, to: test.address }),
      (err: { responseCode?: number; response?: string }) => {
        assert.equal(err.responseCode, 550);
        assert.match(err.response ?? '', /5\.1\.1 This test address has received its message already/);
        return true;
      },
    );
  });

  it('refuses an address whose test has expired, and says the test expired', async () => {
    const test = await tests.create();
    await new Promise((r) => setTimeout(r, 900));
    await assert.rejects(
      sendTestMessage({ port, to: test.address }),
      (err: { responseCode?: number; response?: string }) => {
        assert.equal(err.responseCode, 550);
        assert.match(err.response ?? '', /5\.1\.1 This test address is unknown or has expired/);
        return true;
      },
    );
    assert.equal((await tests.status(test.id))?.status, 'expired');
    assert.equal(await tests.store.getMessage(test.id), undefined, 'nothing was kept');
  });
});
