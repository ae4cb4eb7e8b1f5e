import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Queue } from 'bullmq';
import { startFixtureDns } from '../../support/dns-server.js';
import type { FixtureDns } from '../../support/dns-server.js';
import { SERVICE_BEHAVIOUR, SERVICE_ZONES } from '../../fixtures/zones/service.js';
import { TEST_REDIS_URL, cleanPrefix, connectTestRedis, testPrefix } from '../../support/redis.js';
import { REDIS_SERVER, TestRedisServer } from '../../support/redis-server.js';
import { startTestService } from '../../support/service.js';
import type { TestService } from '../../support/service.js';
import { ADMIN_TOKEN, api, waitFor, waitForRuns } from '../../support/monitor.js';
import type { RunRow } from '../../support/monitor.js';
import { MonitorScheduler } from '../../../src/queue/monitor-scheduler.js';
import { MonitorStore } from '../../../src/store/monitors.js';
import type { Monitor } from '../../../src/monitor/model.js';
import { QUEUE_CHECKS } from '../../../src/queue/names.js';
import { deleteKeysWithPrefix } from '../../../src/store/redis.js';

/**
 * Job schedulers kept in step with the monitors, through the real service processes (web,
 * workers) and Redis: runs happen on schedule exactly once with two workers; pause and
 * delete leave no scheduler; a worker starting up repairs what a crash between the store
 * write and the scheduler write left; restarting every process (and Redis, append-only)
 * loses no monitor. Schedules here are seconds apart (MXDOCTOR_MONITOR_MIN_INTERVAL=1s).
 */
const ENV = {
  MXDOCTOR_ADMIN_TOKEN: ADMIN_TOKEN,
  MXDOCTOR_MONITOR_MIN_INTERVAL: '1s',
  MXDOCTOR_LOG_LEVEL: 'info',
  MXDOCTOR_DNSBLS: 'bl.example.test',
  MXDOCTOR_DOMAIN_BLOCKLISTS: '-',
};

/** A DNS-only monitor of a fixture domain (fast: no SMTP). */
const monitorBody = (every: string, extra: Record<string, unknown> = {}) => ({
  domain: 'shop.example.com',
  options: { smtp: false },
  schedule: { every },
  ...extra,
});

describe('monitor scheduling', { timeout: 180_000 }, () => {
  let dns: FixtureDns;
  before(async () => {
    dns = await startFixtureDns({ zones: SERVICE_ZONES, behaviour: SERVICE_BEHAVIOUR });
  });
  after(async () => dns?.stop());

  const schedulerOf = async (prefix: string, id: string, url = TEST_REDIS_URL) => {
    const queue = new Queue(QUEUE_CHECKS, { connection: { url }, prefix });
    try {
      const s = await queue.getJobScheduler(MonitorScheduler.schedulerId(id));
      const delayed = (await queue.getDelayed()).filter(
        (j) => j.repeatJobKey === MonitorScheduler.schedulerId(id),
      );
      return {
        scheduler: s,
        delayed: delayed.length,
        completedRuns: (await queue.getCompleted()).filter(
          (j) => j.name === 'monitor-run' && (j.data as { monitorId: string }).monitorId === id,
        ),
      };
    } finally {
      await queue.close();
    }
  };

  it('runs a monitor on its schedule exactly once per time with two workers', async () => {
    const prefix = testPrefix('msched');
    const env = { ...ENV, MXDOCTOR_REDIS_PREFIX: prefix };
    // One job at a time per worker, and a domain whose check takes 3 s (its MX host's address
    // lookup is slow) on a 2 s schedule: each run overlaps the next, so both workers must take
    // runs, and both see every scheduled time.
    const workerEnv = { ...env, MXDOCTOR_WORKER_CONCURRENCY: '1' };
    const web = await startTestService({ mode: 'web', dns, prefix, env });
    const workers = [
      await startTestService({ mode: 'worker', dns, prefix, env: workerEnv }),
      await startTestService({ mode: 'worker', dns, prefix, env: workerEnv }),
    ];
    try {
      const r = await api<{ id: string }>(
        web.url,
        'POST',
        '/api/v1/monitors',
        monitorBody('2s', { domain: 'slow.example.com' }),
      );
      assert.equal(r.status, 201);
      const id = r.body.id;
      const scheduled = (runs: RunRow[]) => runs.filter((x) => x.trigger === 'schedule');
      const runs = scheduled(
        await waitFor(
          async () => {
            const all = await waitForRuns(web.url, id, 1);
            return scheduled(all).length >= 4 ? all : undefined;
          },
          '4 scheduled runs',
          30_000,
        ),
      );
      const times = runs.map((x) => Date.parse(x.scheduledAt!)).sort((a, b) => a - b);
      assert.equal(new Set(times).size, times.length, 'no scheduled time ran twice');
      for (let i = 1; i < times.length; i++)
        assert.equal(times[i]! - times[i - 1]!, 2000, 'no time was skipped');
      // Jitter: the runs keep this monitor's own phase within the 2 s interval.
      assert.equal(new Set(times.map((x) => x % 2000)).size, 1);
      // Both workers took part, and every run job ran once.
      const logs = workers.map((w) => w.logs.lines.filter((l) => l.msg === 'monitor run finished').length);
      assert.ok(
        logs.every((n) => n >= 1),
        `both workers ran monitor runs: ${logs.join(', ')}`,
      );
      const { completedRuns } = await schedulerOf(prefix, id);
      const byId = new Set(completedRuns.map((j) => j.id));
      assert.equal(byId.size, completedRuns.length);
      const committed = (
        await api<{ runs: RunRow[] }>(web.url, 'GET', `/api/v1/monitors/${id}/runs?limit=500`)
      ).body.runs;
      assert.equal(new Set(committed.map((x) => x.runId)).size, committed.length, 'one run record per run');
    } finally {
      await Promise.all(workers.map((w) => w.stop()));
      await web.stop();
      await cleanPrefix(prefix);
    }
  });

  it('pausing removes the scheduler, resuming restores it, deleting leaves no scheduler and no data', async () => {
    const prefix = testPrefix('mpause');
    const t = await startTestService({ dns, prefix, env: { ...ENV, MXDOCTOR_REDIS_PREFIX: prefix } });
    try {
      const r = await api<{ id: string; nextRunAt?: string }>(
        t.url,
        'POST',
        '/api/v1/monitors',
        monitorBody('1h'),
      );
      const id = r.body.id;
      assert.ok(r.body.nextRunAt, 'the response says when it runs next');
      assert.ok((await schedulerOf(prefix, id)).scheduler, 'a scheduler exists');
      assert.equal((await schedulerOf(prefix, id)).delayed, 1, 'with its next job');
      await waitForRuns(t.url, id, 1);

      const paused = await api<{ paused: boolean; nextRunAt?: string }>(
        t.url,
        'PATCH',
        `/api/v1/monitors/${id}`,
        { paused: true },
      );
      assert.equal(paused.status, 200);
      assert.equal(paused.body.paused, true);
      assert.equal(paused.body.nextRunAt, undefined);
      let s = await schedulerOf(prefix, id);
      assert.equal(s.scheduler, undefined, 'paused: no scheduler');
      assert.equal(s.delayed, 0, 'and no pending job');

      await api(t.url, 'PATCH', `/api/v1/monitors/${id}`, { paused: false, schedule: { every: '2h' } });
      s = await schedulerOf(prefix, id);
      assert.equal(s.scheduler?.every, 7_200_000, 'resumed with the new schedule');
      assert.equal(s.delayed, 1);

      const del = await api(t.url, 'DELETE', `/api/v1/monitors/${id}`);
      assert.equal(del.status, 204);
      s = await schedulerOf(prefix, id);
      assert.equal(s.scheduler, undefined, 'deleted: no scheduler');
      assert.equal(s.delayed, 0);
      const redis = connectTestRedis();
      try {
        const keys = await redis.keys(`${prefix}:mon:${id}*`);
        assert.deepEqual(keys, [], 'no monitor data left');
        assert.equal(await redis.hexists(`${prefix}:mons:last`, id), 0);
      } finally {
        redis.disconnect();
      }
      assert.equal((await api(t.url, 'GET', `/api/v1/monitors/${id}`)).status, 404);
    } finally {
      await t.stop();
    }
  });

  it('a worker starting up repairs what a crash between the store write and the scheduler write left', async () => {
    const prefix = testPrefix('mrecon');
    const env = { ...ENV, MXDOCTOR_REDIS_PREFIX: prefix };
    const web = await startTestService({ mode: 'web', dns, prefix, env });
    const redis = connectTestRedis();
    const queue = new Queue(QUEUE_CHECKS, { connection: { url: TEST_REDIS_URL }, prefix });
    const store = new MonitorStore(redis, prefix);
    const scheduler = new MonitorScheduler(queue, { minIntervalMs: 1000, cronJitterMs: 60_000 });
    let worker: TestService | undefined;
    try {
      const make = async (extra: Record<string, unknown> = {}) =>
        (await api<Monitor>(web.url, 'POST', '/api/v1/monitors', monitorBody('1h', extra))).body;
      // 1. Stored, then the process died before the scheduler was written.
      const noScheduler = await make();
      await scheduler.remove(noScheduler.id);
      // 2. Edited (rev 2) in the store; the scheduler still has rev 1 and the old schedule.
      const stale = await make();
      assert.equal(
        await store.update({ ...stale, rev: stale.rev + 1, schedule: { every: '3h' } }, stale.rev),
        'ok',
      );
      // 3. Deleted from the store; the scheduler removal never happened.
      const orphan = await make();
      await store.delete(orphan.id);
      // 4. Paused in the store; the scheduler removal never happened.
      const paused = await make();
      assert.equal(await store.update({ ...paused, rev: paused.rev + 1, paused: true }, paused.rev), 'ok');
      // 5. Consistent.
      const fine = await make();

      worker = await startTestService({ mode: 'worker', dns, prefix, env });
      const line = await waitFor(
        async () => worker!.logs.find(/^monitor schedulers repaired at start-up/),
        'the reconcile log line',
      );
      assert.deepEqual(line.created, [noScheduler.id]);
      assert.deepEqual(line.updated, [stale.id]);
      assert.deepEqual([...(line.removed as string[])].sort(), [orphan.id, paused.id].sort());
      assert.equal(line.unchanged, 1);
      const present = await scheduler.present();
      assert.deepEqual([...present.keys()].sort(), [noScheduler.id, stale.id, fine.id].sort());
      assert.equal(present.get(stale.id), stale.rev + 1, 'the stale scheduler carries the new revision');
      assert.equal(
        (await queue.getJobScheduler(MonitorScheduler.schedulerId(stale.id)))?.every,
        3 * 3_600_000,
      );
      // And a second reconcile finds nothing to do.
      const again = await scheduler.reconcile(store);
      assert.deepEqual([again.created, again.updated, again.removed, again.unchanged], [[], [], [], 3]);
    } finally {
      await worker?.stop();
      await web.stop();
      await queue.close();
      await deleteKeysWithPrefix(redis, prefix);
      redis.disconnect();
    }
  });

  it(
    'restarting every process and Redis (append-only) loses no monitor, and scheduled runs go on',
    { skip: REDIS_SERVER ? false : 'redis-server is not on PATH' },
    async () => {
      const server = await TestRedisServer.create({ appendOnly: true });
      await server.start();
      const prefix = testPrefix('mrestart');
      const env = { ...ENV, REDIS_URL: server.url, MXDOCTOR_REDIS_PREFIX: prefix };
      let t = await startTestService({ dns, prefix, env });
      try {
        const made = [];
        for (const body of [
          monitorBody('2s', { labels: ['prod'] }),
          monitorBody('1h', {
            domain: 'nomail.example.com',
            alerts: { rules: { mx_changed: { persistence: 3 } } },
          }),
          monitorBody('1h', { paused: true }),
        ]) {
          const r = await api<Monitor>(t.url, 'POST', '/api/v1/monitors', body);
          assert.equal(r.status, 201);
          made.push(r.body);
        }
        await waitForRuns(t.url, made[0]!.id, 2);
        await t.stop();
        await server.stop('SIGKILL');

        await server.start();
        t = await startTestService({ dns, prefix, env });
        await waitFor(async () => t.logs.find(/^monitor schedulers in step/), 'the start-up reconcile');
        const list = await api<{ monitors: (Monitor & { nextRunAt?: string })[] }>(
          t.url,
          'GET',
          '/api/v1/monitors',
        );
        const byId = new Map(list.body.monitors.map((m) => [m.id, m]));
        for (const m of made) {
          const back = byId.get(m.id);
          assert.ok(back, `monitor ${m.id} survived`);
          assert.deepEqual(
            {
              schedule: back.schedule,
              paused: back.paused,
              labels: back.labels,
              alerts: back.alerts,
              rev: back.rev,
            },
            { schedule: m.schedule, paused: m.paused, labels: m.labels, alerts: m.alerts, rev: m.rev },
          );
        }
        assert.equal(byId.get(made[1]!.id)!.alerts.rules.mx_changed.persistence, 3);
        assert.ok(byId.get(made[0]!.id)!.nextRunAt && !byId.get(made[2]!.id)!.nextRunAt);
        const before = (await waitForRuns(t.url, made[0]!.id, 1)).length;
        await waitForRuns(t.url, made[0]!.id, before + 2, 20_000);
      } finally {
        await t.stop();
        await server.stop('SIGKILL');
      }
    },
  );
});
