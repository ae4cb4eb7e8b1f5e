import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Redis } from 'ioredis';
import { RedisAddressLimiter } from '../../../src/store/address-limiter.js';
import { RedisConnectionCache } from '../../../src/store/connection-cache.js';
import { sleep } from '../../../src/net/deadline.js';
import { cleanPrefix, connectTestRedis, testPrefix } from '../../support/redis.js';

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
});
