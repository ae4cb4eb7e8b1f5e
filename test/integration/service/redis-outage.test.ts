import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestService, waitForCheck } from '../../support/service.js';
import type { TestService } from '../../support/service.js';
import { REDIS_SERVER, TestRedisServer } from '../../support/redis-server.js';

describe('Redis outage', { skip: REDIS_SERVER ? false : 'redis-server is not on PATH' }, () => {
  let redis: TestRedisServer;
  let t: TestService;
  before(async () => {
    redis = await TestRedisServer.create();
    await redis.start();
    t = await startTestService({ env: { REDIS_URL: redis.url } });
  });
  after(async () => {
    await t?.stop().catch(() => {});
    await redis?.stop();
  });

  const post = () =>
    fetch(`${t.url}/api/v1/checks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        domain: 'shop.example.com',
        dkimSelectors: [String(Date.now())],
        options: { smtp: false },
      }),
    });

  it('answers 503 with a clear log line while Redis is down, and recovers when it returns', async () => {
    const before = (await (await post()).json()) as { id: string };
    await waitForCheck(t.url, before.id);

    await redis.stop('SIGKILL');
    await new Promise((r) => setTimeout(r, 200));
    const api = await post();
    assert.equal(api.status, 503);
    assert.equal(api.headers.get('retry-after'), '30');
    assert.deepEqual(await api.json(), {
      error: {
        code: 'unavailable',
        message: 'The service cannot reach its database (Redis) right now. Please try again in a minute.',
      },
    });
    const read = await fetch(`${t.url}/api/v1/checks/${before.id}`);
    assert.equal(read.status, 503);
    const bounce = await fetch(`${t.url}/api/v1/bounces`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: '550 5.1.1 <a@b.example>: User unknown',
    });
    assert.equal(bounce.status, 503);
    assert.equal(((await bounce.json()) as { error: { code: string } }).error.code, 'unavailable');
    const page = await fetch(`${t.url}/checks/${before.id}`);
    assert.equal(page.status, 503);
    assert.match(await page.text(), /<h1>Temporarily unavailable<\/h1>/);
    const ready = await fetch(`${t.url}/readyz`);
    assert.equal(ready.status, 503);
    assert.equal(((await ready.json()) as { status: string }).status, 'not ready');
    assert.equal((await fetch(`${t.url}/healthz`)).status, 200, 'the process itself is fine');
    const line = t.logs.find(
      /^Redis is unreachable at redis:\/\/127\.0\.0\.1:\d+ \(.+\); answering 503 until it returns$/,
    );
    assert.ok(line, 'one clear log line names Redis and what happens meanwhile');

    await redis.start();
    const until = Date.now() + 15_000;
    while ((await fetch(`${t.url}/readyz`)).status !== 200) {
      assert.ok(Date.now() < until, 'ready again within 15 s');
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(t.logs.find(/^Redis is reachable again$/));
    // A fresh Redis (no persistence in this test): new checks work end to end again.
    const after = await post();
    assert.equal(after.status, 202);
    const done = await waitForCheck(t.url, ((await after.json()) as { id: string }).id, 20_000);
    assert.equal(done.status, 'completed');
  });
});
