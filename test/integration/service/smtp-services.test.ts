import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Redis } from 'ioredis';
import { RedisAddressLimiter } from '../../../src/store/address-limiter.js';
import { RedisConnectionCache } from '../../../src/store/connection-cache.js';
import { sleep } from '../../../src/net/deadline.js';
import { cleanPrefix, connectTestRedis, recordCommands, testPrefix } from '../../support/redis.js';

describe('Redis-backed SMTP politeness and connection cache', () => {
  const prefix = testPrefix('smtp');
  let a: Redis;
  let b: Redis;
  before(() => {
    a = connectTestRedis();
    b = connectTestRedis();
  });
  after(async () => {
    a.disconnect();
    b.disconnect();
    await cleanPrefix(prefix);
  });

  it('lets at most two sessions per address run at once across two workers, and hands slots on', async () => {
    const noRate = { points: 0, windowMs: 1000 };
    const worker1 = new RedisAddressLimiter(a, { prefix, maxConcurrent: 2, rate: noRate });
    const worker2 = new RedisAddressLimiter(b, { prefix, maxConcurrent: 2, rate: noRate });
    const signal = new AbortController().signal;
    let running = 0;
    let peak = 0;
    const order: string[] = [];
    const session = async (limiter: RedisAddressLimiter, name: string, address: string, ms: number) => {
      const release = await limiter.acquire(address, signal);
      running++;
      peak = Math.max(peak, running);
      order.push(`start ${name}`);
      await sleep(ms);
      running--;
      release();
    };
    const t0 = performance.now();
    await Promise.all([
      session(worker1, 'w1-a', '192.0.2.7', 150),
      session(worker2, 'w2-a', '192.0.2.7', 150),
      session(worker1, 'w1-b', '192.0.2.7', 150),
      session(worker2, 'w2-b', '192.0.2.7', 150),
      session(worker2, 'other', '192.0.2.8', 10),
    ]);
    const elapsed = performance.now() - t0;
    assert.equal(peak, 3, 'two sessions to 192.0.2.7 plus one to 192.0.2.8 at most');
    assert.ok(elapsed >= 290, `four 150 ms sessions two at a time take at least 300 ms (took ${elapsed})`);
    assert.ok(elapsed < 2000, `slots are handed on promptly (took ${elapsed})`);
    assert.equal(await worker1.holders('192.0.2.7'), 0);
  });

  it(
    'hands a slot to a session of another worker as soon as it is released, not at its next poll',
    { timeout: 30_000 },
    async () => {
      const noRate = { points: 0, windowMs: 1000 };
      const subA = connectTestRedis();
      const subB = connectTestRedis();
      try {
        // Polls so rare that only the release message can explain a prompt hand-over.
        const slow = { prefix, maxConcurrent: 1, rate: noRate, maxPollMs: 20_000 };
        const worker1 = new RedisAddressLimiter(a, { ...slow, subscriber: subA });
        const worker2 = new RedisAddressLimiter(b, { ...slow, subscriber: subB });
        const signal = new AbortController().signal;
        const held = await worker1.acquire('192.0.2.60', signal);
        let got = 0;
        const waiting = worker2.acquire('192.0.2.60', signal).then((release) => {
          got = performance.now();
          return release;
        });
        // Let worker 2 find the address busy and back off: its polls come 20, 40, 80 … 5,120 ms
        // apart (+ up to 30 % jitter), so after 7 s its next one is more than 3.2 s away.
        await sleep(7000);
        assert.equal(got, 0, 'worker 2 waits while worker 1 holds the only slot');
        const releasedAt = performance.now();
        held();
        const release2 = await Promise.race([
          waiting,
          sleep(5000).then(() => assert.fail('worker 2 was not woken by the release')),
        ]);
        assert.ok(
          got - releasedAt < 2500,
          `handed over ${Math.round(got - releasedAt)} ms after the release`,
        );
        assert.equal(await worker1.holders('192.0.2.60'), 1, 'worker 2 holds it now');
        release2();
        // And within one process, without a subscriber: the release wakes the local waiter.
        const local = new RedisAddressLimiter(a, slow);
        const first = await local.acquire('192.0.2.61', signal);
        const second = local.acquire('192.0.2.61', signal);
        await sleep(7000);
        first();
        const t = performance.now();
        (
          await Promise.race([
            second,
            sleep(5000).then(() => assert.fail('the local waiter was not woken by the release')),
          ])
        )();
        assert.ok(performance.now() - t < 2500, 'the local waiter went at the release');
      } finally {
        subA.disconnect();
        subB.disconnect();
      }
    },
  );

  it('frees the slot of a worker that died without releasing when its lease expires', async () => {
    const doomedRedis = connectTestRedis();
    const noRate = { points: 0, windowMs: 1000 };
    const doomed = new RedisAddressLimiter(doomedRedis, {
      prefix,
      maxConcurrent: 1,
      rate: noRate,
      leaseMs: 400,
    });
    const survivor = new RedisAddressLimiter(b, { prefix, maxConcurrent: 1, rate: noRate, leaseMs: 400 });
    await doomed.acquire('2001:db8::25', new AbortController().signal);
    // The worker vanishes: no release, no more lease renewals.
    doomedRedis.disconnect();
    const t0 = performance.now();
    const release = await survivor.acquire('2001:DB8::25', AbortSignal.timeout(5000));
    const waited = performance.now() - t0;
    release();
    assert.ok(waited >= 200 && waited < 2000, `waited for the lease to expire (${Math.round(waited)} ms)`);
  });

  it('keeps renewing the lease of a long session', async () => {
    const limiter = new RedisAddressLimiter(a, {
      prefix,
      maxConcurrent: 1,
      rate: { points: 0, windowMs: 1 },
      leaseMs: 300,
    });
    const release = await limiter.acquire('192.0.2.30', new AbortController().signal);
    await sleep(800);
    assert.equal(await limiter.holders('192.0.2.30'), 1, 'still held after more than two lease periods');
    await assert.rejects(
      limiter.acquire('192.0.2.30', AbortSignal.timeout(200)),
      (err: Error) => err.name === 'TimeoutError' || /abort|timed out/i.test(err.message),
    );
    release();
  });

  it('limits the rate of session starts per address across workers', async () => {
    const rate = { points: 3, windowMs: 600 };
    const w1 = new RedisAddressLimiter(a, { prefix, maxConcurrent: 10, rate });
    const w2 = new RedisAddressLimiter(b, { prefix, maxConcurrent: 10, rate });
    const signal = new AbortController().signal;
    const t0 = performance.now();
    const starts: number[] = [];
    await Promise.all(
      [w1, w2, w1, w2].map(async (l) => {
        const release = await l.acquire('192.0.2.40', signal);
        starts.push(performance.now() - t0);
        release();
      }),
    );
    starts.sort((x, y) => x - y);
    assert.ok(starts[2]! < 300, `three start at once (${starts.map(Math.round).join(', ')})`);
    assert.ok(starts[3]! >= 550, `the fourth waits for the window (${starts.map(Math.round).join(', ')})`);
  });

  it('gives up waiting when the check is cancelled', async () => {
    const limiter = new RedisAddressLimiter(a, {
      prefix,
      maxConcurrent: 1,
      rate: { points: 0, windowMs: 1 },
    });
    const release = await limiter.acquire('192.0.2.50', new AbortController().signal);
    const controller = new AbortController();
    const waiting = limiter.acquire('192.0.2.50', controller.signal);
    setTimeout(() => controller.abort(new Error('check cancelled')), 100);
    await assert.rejects(waiting, /check cancelled/);
    release();
  });

  it('shares connection results between workers until the TTL expires', async () => {
    const c1 = new RedisConnectionCache(a, { prefix });
    const c2 = new RedisConnectionCache(b, { prefix });
    const key = 'mx.example.net|192.0.2.25|ehlo=probe.example.org|port=25';
    assert.equal(await c2.get(key), undefined);
    await c1.set(key, { banner: '220 mx.example.net ESMTP', tls: { protocol: 'TLSv1.3' } }, 300);
    const hit = await c2.get(key);
    assert.deepEqual(hit?.value, { banner: '220 mx.example.net ESMTP', tls: { protocol: 'TLSv1.3' } });
    assert.ok(Math.abs(Date.parse(hit!.storedAt) - Date.now()) < 5000);
    await sleep(400);
    assert.equal(await c2.get(key), undefined, 'expired');
  });

  it('caps entry lifetimes at the configured maximum, and stores nothing when switched off', async () => {
    const capped = new RedisConnectionCache(a, { prefix, maxTtlMs: 200 });
    await capped.set('capped', { x: 1 }, 60_000);
    const pttl = await a.pttl(`${prefix}:smtp:conn:${createHash('sha256').update('capped').digest('hex')}`);
    assert.ok(pttl > 0 && pttl <= 200, `TTL capped (${pttl})`);
    const off = new RedisConnectionCache(a, { prefix, maxTtlMs: 0 });
    await off.set('off', { x: 1 }, 60_000);
    assert.equal(await off.get('off'), undefined);
    assert.equal(await new RedisConnectionCache(b, { prefix }).get('off'), undefined);
  });

  it('lets one worker probe an address while the others wait for its result (single flight)', async () => {
    const w1 = new RedisConnectionCache(a, { prefix });
    const w2 = new RedisConnectionCache(b, { prefix });
    const signal = new AbortController().signal;
    const key = `single-flight-${Date.now()}`;
    const first = await w1.claim(key, 5000, signal);
    assert.ok('release' in first, 'the first asker probes');
    const waiter = w2.claim(key, 5000, signal);
    await sleep(100);
    await w1.set(key, { banner: '220 mx' }, 60_000);
    first.release();
    const got = await waiter;
    assert.ok('entry' in got, "the second gets the first one's result");
    assert.deepEqual(got.entry.value, { banner: '220 mx' });

    // A prober that stores nothing (the MX did not answer) hands the claim on at once.
    const other = `${key}-dead`;
    const held = await w1.claim(other, 5000, signal);
    const next = w2.claim(other, 5000, signal);
    const t0 = performance.now();
    if ('release' in held) held.release();
    const taken = await next;
    assert.ok('release' in taken);
    assert.ok(performance.now() - t0 < 2000);
    if ('release' in taken) taken.release();
  });

  describe('look-up with claim, and store with release, one round trip each', () => {
    const entryKey = (key: string) => `${prefix}:smtp:conn:${createHash('sha256').update(key).digest('hex')}`;
    const signal = new AbortController().signal;

    it('claims a missing key in one command, stores with the lock released in one more, and hits in one', async () => {
      const counted = connectTestRedis();
      try {
        await counted.ping();
        const sent = recordCommands(counted);
        const cache = new RedisConnectionCache(counted, { prefix });
        const key = 'mx.one-trip.example|192.0.2.70|ehlo=probe.example.org|port=25';
        const claim = await cache.getOrClaim(key, 5000, signal);
        assert.ok('release' in claim && claim.store, 'a miss: this caller probes, and can store');
        assert.deepEqual(sent, ['eval']);
        const lockTtl = await a.pttl(`${entryKey(key)}:lock`);
        assert.ok(lockTtl > 0 && lockTtl <= 5000, `the lock lives as long as a session may (${lockTtl})`);

        await claim.store({ banner: '220 mx' }, 60_000);
        assert.deepEqual(sent, ['eval', 'eval']);
        assert.equal(await a.exists(`${entryKey(key)}:lock`), 0, 'the lock went with the store');
        const pttl = await a.pttl(entryKey(key));
        assert.ok(pttl > 55_000 && pttl <= 60_000, `stored with its TTL (${pttl})`);
        claim.release();
        await sleep(20);
        assert.deepEqual(sent, ['eval', 'eval'], 'release() after store() sends nothing');

        const hit = await cache.getOrClaim(key, 5000, signal);
        assert.ok('entry' in hit, 'a hit');
        assert.deepEqual(hit.entry.value, { banner: '220 mx' });
        assert.ok(Math.abs(Date.parse(hit.entry.storedAt) - Date.now()) < 5000);
        assert.deepEqual(sent, ['eval', 'eval', 'eval']);
        assert.equal(await a.exists(`${entryKey(key)}:lock`), 0, 'a hit takes no lock');
      } finally {
        counted.disconnect();
      }
    });

    it('lets exactly one of many concurrent askers across workers probe; the others get its result', async () => {
      const key = `one-prober-${Date.now()}`;
      const caches = [a, b, a, b, a, b].map((r) => new RedisConnectionCache(r, { prefix }));
      const settled: boolean[] = caches.map(() => false);
      const asks = caches.map((c, i) =>
        c.getOrClaim(key, 5000, signal).then((claim) => {
          settled[i] = true;
          return claim;
        }),
      );
      const [first, claim] = await Promise.race(asks.map((p, i) => p.then((c) => [i, c] as const)));
      assert.ok('release' in claim && claim.store, 'the first to settle is the prober');
      await sleep(150);
      assert.deepEqual(
        settled.filter((s, i) => s && i !== first),
        [],
        'the others wait while it probes',
      );
      await claim.store({ banner: '220 shared' }, 60_000);
      const others = await Promise.all(asks.filter((_, i) => i !== first));
      assert.equal(others.length, 5);
      for (const got of others) {
        assert.ok('entry' in got, 'a waiter gets the stored result rather than probing');
        assert.deepEqual(got.entry.value, { banner: '220 shared' });
      }
      assert.equal(await a.exists(`${entryKey(key)}:lock`), 0);
    });

    it('takes an entry stored under the same hash for another key (a collision) as a miss, and claims the key', async () => {
      const key = 'mx.collision.example|192.0.2.71|ehlo=probe.example.org|port=25';
      await a.set(
        entryKey(key),
        JSON.stringify({
          key: 'mx.other.example|198.51.100.9',
          value: { banner: '220 wrong MX' },
          storedAt: '',
        }),
        'PX',
        60_000,
      );
      const w1 = new RedisConnectionCache(a, { prefix });
      const w2 = new RedisConnectionCache(b, { prefix });
      assert.equal(await w1.get(key), undefined, "another key's entry is never returned");
      const claim = await w1.getOrClaim(key, 5000, signal);
      assert.ok('release' in claim && claim.store, 'a miss: this caller probes');
      assert.equal(await a.exists(`${entryKey(key)}:lock`), 1, 'holding the lock of the key');
      // A second asker neither gets the wrong MX's results nor probes alongside.
      let waited = false;
      const waiter = w2.getOrClaim(key, 5000, signal).then((got) => {
        waited = true;
        return got;
      });
      await sleep(150);
      assert.equal(waited, false, 'the second asker waits for the holder');
      await claim.store({ banner: '220 right MX' }, 60_000);
      const got = await waiter;
      assert.ok('entry' in got);
      assert.deepEqual(got.entry.value, { banner: '220 right MX' });
      assert.deepEqual((await w2.get(key))?.value, { banner: '220 right MX' });
      assert.equal(await a.exists(`${entryKey(key)}:lock`), 0, 'the store released the lock');
    });

    it('releases the lock alone when the result is not stored, and the next asker probes at once', async () => {
      const small = new RedisConnectionCache(a, { prefix, maxValueBytes: 200 });
      const other = new RedisConnectionCache(b, { prefix, maxValueBytes: 200 });
      for (const [what, value, ttlMs] of [
        ['too large', { banner: 'x'.repeat(500) }, 60_000],
        ['no lifetime', { banner: '220 mx' }, 0],
      ] as const) {
        const key = `not-stored-${what}-${Date.now()}`;
        const held = await small.getOrClaim(key, 5000, signal);
        assert.ok('release' in held && held.store, what);
        const next = other.getOrClaim(key, 5000, signal);
        await sleep(50);
        const t0 = performance.now();
        await held.store(value, ttlMs);
        assert.equal(await a.exists(entryKey(key)), 0, `${what}: nothing stored`);
        const taken = await next;
        assert.ok('release' in taken, `${what}: the next asker probes in its place`);
        assert.ok(performance.now() - t0 < 2000, `${what}: promptly`);
        taken.release();
        await sleep(50);
        assert.equal(await a.exists(`${entryKey(key)}:lock`), 0, `${what}: and lets go in turn`);
      }
    });

    it("stores a result but leaves alone a lock that is no longer the holder's", async () => {
      const cache = new RedisConnectionCache(a, { prefix });
      const key = `lock-taken-over-${Date.now()}`;
      const held = await cache.getOrClaim(key, 5000, signal);
      assert.ok('release' in held && held.store);
      // The holder outlived its lock, and the next prober took the key.
      await a.set(`${entryKey(key)}:lock`, 'next-prober', 'PX', 5000);
      await held.store({ banner: '220 late' }, 60_000);
      assert.deepEqual((await cache.get(key))?.value, { banner: '220 late' });
      assert.equal(await a.get(`${entryKey(key)}:lock`), 'next-prober');
      held.release();
      await sleep(50);
      assert.equal(await a.get(`${entryKey(key)}:lock`), 'next-prober');
    });

    it('asks Redis nothing when the cache is off', async () => {
      const counted = connectTestRedis();
      try {
        await counted.ping();
        const sent = recordCommands(counted);
        const off = new RedisConnectionCache(counted, { prefix, maxTtlMs: 0 });
        const claim = await off.getOrClaim('off-key', 5000, signal);
        assert.ok('release' in claim);
        await claim.store?.({ banner: '220 mx' }, 60_000);
        claim.release();
        assert.deepEqual(sent, []);
        assert.equal(await a.exists(entryKey('off-key'), `${entryKey('off-key')}:lock`), 0);
      } finally {
        counted.disconnect();
      }
    });
  });
});
