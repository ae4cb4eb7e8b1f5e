import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Redis } from 'ioredis';
import { ReportStore } from '../../../src/store/reports.js';
import type { Report } from '../../../src/report/model.js';
import { cleanPrefix, connectTestRedis, testPrefix } from '../../support/redis.js';

/** An ISO time `minutes` ago (reports older than the retention leave the index). */
const ago = (minutes: number) => new Date(Date.now() - minutes * 60_000).toISOString();

function report(domain: string, finishedAt: string, verdict: Report['verdict'] = 'pass'): Report {
  return {
    schemaVersion: 1,
    tool: { name: 'mxdoctor', version: '0.1.0' },
    domain: { input: domain, ascii: domain, unicode: domain },
    startedAt: finishedAt,
    finishedAt,
    durationMs: 12,
    verdict,
    complete: true,
    counts: { pass: 1, warn: 0, fail: verdict === 'fail' ? 1 : 0, info: 0, error: 0 },
    options: { verify: [], dkimSelectors: [], smtp: false, greylistRetryMs: 0 },
    resolvers: ['127.0.0.1:53'],
    mx: { kind: 'none', hosts: [] },
    checks: [],
    data: {},
    dnsLog: [],
  };
}

describe('report store', () => {
  const prefix = testPrefix('store');
  let redis: Redis;
  let store: ReportStore;
  before(() => {
    redis = connectTestRedis();
    store = new ReportStore(redis, { prefix, retentionMs: 3_600_000, domainHistory: 3 });
  });
  after(async () => {
    redis.disconnect();
    await cleanPrefix(prefix);
  });

  it('stores a report once: a second save of the same id changes nothing', async () => {
    assert.equal(await store.saveOnce('AAAAAAAAAAAAAAAAAAAAA1', report('a.example.com', ago(10))), true);
    assert.equal(
      await store.saveOnce('AAAAAAAAAAAAAAAAAAAAA1', report('a.example.com', ago(5), 'fail')),
      false,
    );
    assert.equal((await store.get('AAAAAAAAAAAAAAAAAAAAA1'))?.verdict, 'pass');
    assert.equal((await store.listByDomain('a.example.com')).length, 1);
    const ttl = await redis.pttl(`${prefix}:report:AAAAAAAAAAAAAAAAAAAAA1`);
    assert.ok(ttl > 3_500_000 && ttl <= 3_600_000, `kept for the retention (${ttl} ms)`);
  });

  it('lists a domain’s reports newest first, keeping the configured number', async () => {
    for (let i = 1; i <= 5; i++) {
      await store.saveOnce(`BBBBBBBBBBBBBBBBBBBBB${i}`, report('b.example.com', ago(10 - i)));
    }
    const list = await store.listByDomain('b.example.com');
    assert.deepEqual(
      list.map((m) => m.id),
      ['BBBBBBBBBBBBBBBBBBBBB5', 'BBBBBBBBBBBBBBBBBBBBB4', 'BBBBBBBBBBBBBBBBBBBBB3'],
    );
    assert.deepEqual(list[0]!.domain, { ascii: 'b.example.com', unicode: 'b.example.com' });
    assert.deepEqual(
      (await store.listByDomain('b.example.com', 1)).map((m) => m.id),
      ['BBBBBBBBBBBBBBBBBBBBB5'],
    );
    // A report older than the retention is not listed (nor kept in the index).
    await store.saveOnce('DDDDDDDDDDDDDDDDDDDDD1', report('d.example.com', ago(120)));
    assert.deepEqual(await store.listByDomain('d.example.com'), []);
  });

  it('replaces a stored report in place (re-probe), keeping its expiry, and not a missing one', async () => {
    const id = 'CCCCCCCCCCCCCCCCCCCCC1';
    await store.saveOnce(id, report('c.example.com', ago(10)));
    await redis.pexpire(`${prefix}:report:${id}`, 500_000);
    assert.equal(await store.replace(id, report('c.example.com', ago(4), 'fail')), true);
    assert.equal((await store.get(id))?.verdict, 'fail');
    assert.equal((await store.getMeta(id))?.verdict, 'fail');
    assert.ok((await redis.pttl(`${prefix}:report:${id}`)) <= 500_000);
    assert.equal(await store.replace('CCCCCCCCCCCCCCCCCCCCC9', report('c.example.com', ago(4))), false);
  });
});
