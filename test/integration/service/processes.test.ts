import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFixtureDns } from '../../support/dns-server.js';
import type { FixtureDns } from '../../support/dns-server.js';
import { SERVICE_BEHAVIOUR, SERVICE_ZONES } from '../../fixtures/zones/service.js';
import { TEST_REDIS_URL, cleanPrefix, connectTestRedis, testPrefix } from '../../support/redis.js';
import { startTestService, unusedPort, waitForCheck } from '../../support/service.js';
import type { TestService } from '../../support/service.js';
import { MxdoctorProcess } from '../../support/spawn.js';
import { CHECK_PROCESS_NODE_FLAGS } from '../../../src/server/heap.js';
import { REDIS_SERVER } from '../../support/redis-server.js';

/**
 * The real processes (`mxdoctor worker`, `mxdoctor serve`) under signals: a worker killed
 * with SIGKILL mid-check (another worker finishes the job, one report), SIGTERM draining,
 * and `npm start`'s private Redis.
 */
describe('service processes', { timeout: 240_000 }, () => {
  let dns: FixtureDns;
  before(async () => {
    dns = await startFixtureDns({ zones: SERVICE_ZONES, behaviour: SERVICE_BEHAVIOUR });
  });
  after(async () => dns.stop());

  const baseEnv = async (prefix: string): Promise<Record<string, string>> => ({
    MXDOCTOR_RESOLVERS: dns.address,
    MXDOCTOR_DNS_TIMEOUT: '5s',
    MXDOCTOR_ALLOW_PRIVATE: '1',
    MXDOCTOR_SMTP_PORT: String(await unusedPort()),
    MXDOCTOR_EHLO_NAME: 'probe.example.org',
    REDIS_URL: TEST_REDIS_URL,
    MXDOCTOR_REDIS_PREFIX: prefix,
    MXDOCTOR_WORKER_PORT: '0',
    MXDOCTOR_JOB_LOCK: '1500ms',
    // `serve` on loopback keeps a generated admin token there: not in the repository.
    MXDOCTOR_DATA_DIR: mkdtempSync(join(tmpdir(), 'mxdoctor-data-')),
  });

  const submitSlow = async (web: TestService): Promise<string> => {
    const res = await fetch(`${web.url}/api/v1/checks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ domain: 'slow.example.com', options: { smtp: false } }),
    });
    assert.equal(res.status, 202);
    return ((await res.json()) as { id: string }).id;
  };

  const waitActive = async (web: TestService, id: string): Promise<void> => {
    const until = Date.now() + 20_000;
    for (;;) {
      const s = (await (await fetch(`${web.url}/api/v1/checks/${id}`)).json()) as { status: string };
      if (s.status === 'active') return;
      assert.ok(Date.now() < until, `job became active (is ${s.status})`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  it('finishes a check with exactly one report after its worker is killed with SIGKILL mid-check', async () => {
    const prefix = testPrefix('kill');
    const env = await baseEnv(prefix);
    const web = await startTestService({ mode: 'web', dns, env: { MXDOCTOR_REDIS_PREFIX: prefix } });
    const first = new MxdoctorProcess(['worker'], env);
    let second: MxdoctorProcess | undefined;
    try {
      await first.waitForLog(/^worker started/);
      // Started as `node bin/mxdoctor.js worker`, without the V8 settings npm run worker passes.
      await first.waitForLog(/^node started without --max-semi-space-size=4: /);
      const id = await submitSlow(web);
      await first.waitForLog(/^check started$/);
      await waitActive(web, id);
      first.kill('SIGKILL');
      assert.equal((await first.exited).signal, 'SIGKILL');
      assert.ok(!first.lines().some((l) => l.msg === 'check finished'), 'killed before it finished');

      second = new MxdoctorProcess(['worker'], env, { nodeArgs: CHECK_PROCESS_NODE_FLAGS });
      const done = await waitForCheck(web.url, id, 40_000);
      assert.equal(done.status, 'completed');
      await second.waitForLog(/^check finished$/);
      assert.ok(
        !second.lines().some((l) => /^node started without/.test(String(l.msg))),
        'started with the settings',
      );
      const stalled = second.lines().find((l) => /^check stalled/.test(String(l.msg)));
      assert.equal(stalled?.jobId, id, 'the second worker recovered the stalled job');
      const history = (await (await fetch(`${web.url}/api/v1/domains/slow.example.com/checks`)).json()) as {
        checks: { id: string }[];
      };
      assert.deepEqual(
        history.checks.map((c) => c.id),
        [id],
        'exactly one report',
      );
      // And one in storage: no second report under another key from the first attempt.
      const redis = connectTestRedis();
      try {
        assert.deepEqual(await redis.keys(`${prefix}:report:*`), [`${prefix}:report:${id}`]);
      } finally {
        redis.disconnect();
      }
    } finally {
      first.kill('SIGKILL');
      second?.kill('SIGKILL');
      await second?.exited;
      await web.stop();
      await cleanPrefix(prefix);
    }
  });

  it('drains on SIGTERM: stops accepting requests, lets the running check finish, exits 0', async () => {
    const prefix = testPrefix('term');
    const port = await unusedPort();
    const env = {
      ...(await baseEnv(prefix)),
      PORT: String(port),
      MXDOCTOR_HOST: '127.0.0.1',
      MXDOCTOR_SHUTDOWN_GRACE: '20s',
    };
    const serve = new MxdoctorProcess(['serve'], env);
    const url = `http://127.0.0.1:${port}`;
    try {
      await serve.waitForLog(/listening on/);
      const res = await fetch(`${url}/api/v1/checks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ domain: 'slow.example.com', options: { smtp: false } }),
      });
      const { id } = (await res.json()) as { id: string };
      await serve.waitForLog(/^check started$/);
      serve.kill('SIGTERM');
      await serve.waitForLog(/^shutting down/);
      await assert.rejects(fetch(`${url}/healthz`), 'no new connections once draining');
      const exit = await serve.exited;
      assert.equal(exit.code, 0);
      const lines = serve.lines();
      const finished = lines.findIndex((l) => l.msg === 'check finished' && l.jobId === id);
      const stopped = lines.findIndex((l) => l.msg === 'stopped');
      assert.ok(
        finished >= 0 && finished < stopped,
        'the running check finished before the process stopped: ' + JSON.stringify(lines.map((l) => l.msg)),
      );
      const redis = connectTestRedis();
      try {
        assert.equal(await redis.exists(`${prefix}:report:${id}`), 1, 'its report is stored');
      } finally {
        redis.disconnect();
      }
    } finally {
      serve.kill('SIGKILL');
      await cleanPrefix(prefix);
    }
  });

  it(
    'npm start: starts a private append-only Redis when none answers, and keeps reports across restarts',
    { skip: REDIS_SERVER ? false : 'redis-server is not on PATH' },
    async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'mxdoctor-data-'));
      const port = await unusedPort();
      const env = await baseEnv('{mxdoctor}');
      delete (env as Record<string, string | undefined>).REDIS_URL;
      Object.assign(env, {
        PORT: String(port),
        MXDOCTOR_HOST: '127.0.0.1',
        MXDOCTOR_LOCAL_REDIS_PORT: String(await unusedPort()),
        MXDOCTOR_DATA_DIR: dataDir,
      });
      const url = `http://127.0.0.1:${port}`;
      const first = new MxdoctorProcess(['serve'], env);
      let id = '';
      try {
        const started = await first.waitForLog(
          /^No Redis answered at redis:\/\/127\.0\.0\.1:\d+: started a private redis-server/,
        );
        assert.match(String(started.msg), /append-only/);
        await first.waitForLog(/listening on/);
        const res = await fetch(`${url}/api/v1/checks`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ domain: 'shop.example.com', options: { smtp: false } }),
        });
        id = ((await res.json()) as { id: string }).id;
        assert.equal((await waitForCheck(url, id)).status, 'completed');
        first.kill('SIGTERM');
        assert.equal((await first.exited).code, 0);
        assert.ok(existsSync(join(dataDir, 'appendonlydir')), 'append-only files in the data directory');
        assert.ok(readdirSync(join(dataDir, 'appendonlydir')).some((f) => f.endsWith('.aof')));
      } finally {
        first.kill('SIGKILL');
      }
      const second = new MxdoctorProcess(['serve'], env);
      try {
        await second.waitForLog(/listening on/);
        const again = await fetch(`${url}/api/v1/checks/${id}`);
        assert.equal(again.status, 200);
        assert.equal(
          ((await again.json()) as { status: string }).status,
          'completed',
          'the report survived the restart',
        );
        second.kill('SIGTERM');
        assert.equal((await second.exited).code, 0);
      } finally {
        second.kill('SIGKILL');
      }
    },
  );

  it('npm start without Redis and without redis-server: one clear message, exit 2', async () => {
    const env = await baseEnv('{mxdoctor}');
    delete (env as Record<string, string | undefined>).REDIS_URL;
    Object.assign(env, {
      // An empty PATH directory: no redis-server to be found (node is started by its full path).
      PATH: mkdtempSync(join(tmpdir(), 'mxdoctor-path-')),
      MXDOCTOR_LOCAL_REDIS_PORT: String(await unusedPort()),
      PORT: '0',
    });
    const p = new MxdoctorProcess(['serve'], env);
    const timer = setTimeout(() => p.kill('SIGKILL'), 30_000);
    const exit = await p.exited;
    clearTimeout(timer);
    assert.equal(exit.code, 2);
    const lines = p.stderr.trim().split('\n');
    assert.equal(lines.length, 1, `one line: ${p.stderr}`);
    assert.match(
      lines[0]!,
      /^mxdoctor: mxdoctor needs Redis, but nothing answers at redis:\/\/127\.0\.0\.1:\d+ and there is no redis-server on PATH\. Start one with `docker compose up -d redis`, or install/,
    );
    assert.ok(!/\bat .*\.ts:\d+/.test(p.stderr), 'no stack trace');
  });
});
