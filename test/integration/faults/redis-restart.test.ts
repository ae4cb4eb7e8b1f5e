import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SERVICE_ZONES, benchZones } from '../../fixtures/zones/service.js';
import { startFixtureDns } from '../../support/dns-server.js';
import type { FixtureDns } from '../../support/dns-server.js';
import { ADMIN_TOKEN, api, waitFor, waitForRuns } from '../../support/monitor.js';
import { REDIS_SERVER, TestRedisServer } from '../../support/redis-server.js';
import { startTestService, waitForCheck } from '../../support/service.js';
import type { TestService } from '../../support/service.js';

/**
 * Fault: Redis is killed and restarted while checks and monitors are queued (issue 13 §3,
 * §8). A private redis-server with append-only persistence (fsync on every write, as a
 * durable deployment runs it); the web process accepts checks and creates monitors while no
 * worker runs, so everything is waiting in the queue; Redis is killed with SIGKILL and
 * started again from its files; then a worker starts. Nothing accepted may be lost: every
 * check completes with its report, every monitor is still there with its schedule and gets
 * its first run, and the web answers again without a restart of its own.
 */
const CHECKS = 12;
const MONITORS = 4;

describe(
  'fault: Redis restarted with checks and monitors queued',
  { timeout: 120_000, skip: REDIS_SERVER ? false : 'redis-server is not on PATH' },
  () => {
    let redis: TestRedisServer;
    let dns: FixtureDns;
    let web: TestService | undefined;
    let worker: TestService | undefined;
    const env = (url: string): Record<string, string> => ({
      REDIS_URL: url,
      MXDOCTOR_ADMIN_TOKEN: ADMIN_TOKEN,
      MXDOCTOR_RATE_LIMIT_CHECKS: 'off',
      MXDOCTOR_RATE_LIMIT_REQUESTS: 'off',
      MXDOCTOR_DNSBLS: 'off',
      MXDOCTOR_DOMAIN_BLOCKLISTS: 'off',
    });

    before(async () => {
      redis = await TestRedisServer.create({ appendOnly: true });
      await redis.start();
      dns = await startFixtureDns({ zones: { ...SERVICE_ZONES, ...benchZones(CHECKS + MONITORS) } });
    });
    after(async () => {
      await worker?.stop().catch(() => {});
      await web?.stop().catch(() => {});
      await redis?.stop();
      await dns?.stop();
    });

    it('loses no queued check, no monitor and no schedule, and the web recovers by itself', async () => {
      web = await startTestService({ mode: 'web', dns, env: env(redis.url) });
      const ids: string[] = [];
      for (let i = 0; i < CHECKS; i++) {
        const res = await fetch(`${web.url}/api/v1/checks`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ domain: `bench-${i}.example.com`, options: { smtp: false } }),
        });
        assert.equal(res.status, 202);
        ids.push(((await res.json()) as { id: string }).id);
      }
      const monitors: string[] = [];
      for (let i = 0; i < MONITORS; i++) {
        const created: { status: number; body: { id: string } } = await api<{ id: string }>(
          web.url,
          'POST',
          '/api/v1/monitors',
          {
            domain: `bench-${CHECKS + i}.example.com`,
            schedule: { every: '1h' },
            options: { smtp: false },
          },
        );
        assert.equal(created.status, 201, JSON.stringify(created.body));
        monitors.push(created.body.id);
      }
      for (const id of ids) {
        const s = (await (await fetch(`${web.url}/api/v1/checks/${id}`)).json()) as { status: string };
        assert.equal(s.status, 'queued', 'no worker yet: every check waits');
      }

      await redis.stop('SIGKILL');
      await redis.start();
      await waitFor(
        async () => (await fetch(`${web!.url}/readyz`)).status === 200,
        'the web process to be ready again',
        20_000,
      );

      for (const id of ids) {
        const res = await fetch(`${web.url}/api/v1/checks/${id}`);
        assert.equal(res.status, 200, `check ${id} is still known after the restart`);
        assert.equal(((await res.json()) as { status: string }).status, 'queued', `check ${id} still waits`);
      }

      worker = await startTestService({ mode: 'worker', dns, prefix: web.prefix, env: env(redis.url) });
      for (const id of ids) {
        const done = await waitForCheck(web.url, id, 60_000);
        assert.equal(done.status, 'completed', `check ${id}`);
        assert.ok(done.report, `check ${id} has its report`);
      }
      const listed = await api<{ monitors: { id: string; nextRunAt?: string }[] }>(
        web.url,
        'GET',
        '/api/v1/monitors',
      );
      assert.deepEqual(listed.body.monitors.map((m) => m.id).sort(), [...monitors].sort(), 'every monitor');
      for (const m of listed.body.monitors) assert.ok(m.nextRunAt, `monitor ${m.id} is still scheduled`);
      for (const id of monitors) {
        const [first] = await waitForRuns(web.url, id, 1, 60_000);
        assert.equal(first!.trigger, 'initial', `monitor ${id}: its first run`);
      }
    });
  },
);
