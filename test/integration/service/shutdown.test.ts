import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFixtureDns } from '../../support/dns-server.js';
import type { FixtureDns } from '../../support/dns-server.js';
import { SERVICE_ZONES } from '../../fixtures/zones/service.js';
import { ADMIN_TOKEN, api } from '../../support/monitor.js';
import { TEST_REDIS_URL, cleanPrefix, testPrefix } from '../../support/redis.js';
import { unusedPort } from '../../support/service.js';
import { MxdoctorProcess } from '../../support/spawn.js';

/**
 * After SIGTERM the process exits once it has stopped (issue 13 §4), even when work was
 * abandoned at the end of the grace period: here an alert email to a relay that accepts the
 * connection and never greets (nodemailer waits 20 s for the greeting and cannot be
 * cancelled). It used to log "stopped" only after 10 s more and exit when that connection
 * finally timed out.
 */
describe('shutdown', { timeout: 90_000 }, () => {
  let dns: FixtureDns;
  let relay: Server;
  let relayPort = 0;
  const held: Socket[] = [];
  before(async () => {
    dns = await startFixtureDns({ zones: SERVICE_ZONES });
    relayPort = await unusedPort();
    relay = createServer((s) => {
      held.push(s);
      s.on('error', () => {});
    });
    await new Promise<void>((r) => relay.listen(relayPort, '127.0.0.1', () => r()));
  });
  after(async () => {
    for (const s of held) s.destroy();
    await new Promise<void>((r) => relay.close(() => r()));
    await dns.stop();
  });

  it('exits as soon as it has stopped, with an alert email stuck in flight', async () => {
    const prefix = testPrefix('term');
    const port = await unusedPort();
    const p = new MxdoctorProcess(['serve'], {
      MXDOCTOR_RESOLVERS: dns.address,
      MXDOCTOR_ALLOW_PRIVATE: '1',
      MXDOCTOR_SMTP_PORT: String(await unusedPort()),
      MXDOCTOR_EHLO_NAME: 'probe.example.org',
      REDIS_URL: TEST_REDIS_URL,
      MXDOCTOR_REDIS_PREFIX: prefix,
      MXDOCTOR_WORKER_PORT: '0',
      PORT: String(port),
      MXDOCTOR_HOST: '127.0.0.1',
      MXDOCTOR_DATA_DIR: mkdtempSync(join(tmpdir(), 'mxdoctor-data-')),
      MXDOCTOR_ADMIN_TOKEN: ADMIN_TOKEN,
      MXDOCTOR_ALERT_SMTP_URL: `smtp://127.0.0.1:${relayPort}`,
      MXDOCTOR_SHUTDOWN_GRACE: '2s',
    });
    const url = `http://127.0.0.1:${port}`;
    try {
      await p.waitForLog(/listening on/);
      const m = await api<{ id: string; destinations: { id: string }[] }>(url, 'POST', '/api/v1/monitors', {
        domain: 'shop.example.com',
        schedule: { every: '1h' },
        paused: true,
        destinations: [{ type: 'email', to: ['ops@example.com'] }],
      });
      assert.equal(m.status, 201, JSON.stringify(m.body));
      const test = await api(
        url,
        'POST',
        `/api/v1/monitors/${m.body.id}/destinations/${m.body.destinations[0]!.id}/test`,
      );
      assert.equal(test.status, 202);
      // The delivery is running once the relay has its connection.
      for (const until = Date.now() + 10_000; held.length === 0;) {
        assert.ok(Date.now() < until, 'the delivery connected to the relay');
        await new Promise((r) => setTimeout(r, 50));
      }
      const t0 = Date.now();
      p.kill('SIGTERM');
      await p.waitForLog(/^stopped$/, 30_000);
      const stoppedMs = Date.now() - t0;
      const exit = await p.exited;
      const exitMs = Date.now() - t0;
      assert.equal(exit.code, 0);
      assert.ok(stoppedMs < 5000, `stopped ${stoppedMs} ms after SIGTERM (grace 2 s)`);
      assert.ok(exitMs - stoppedMs < 1000, `exited ${exitMs - stoppedMs} ms after it stopped`);
    } finally {
      p.kill('SIGKILL');
      await cleanPrefix(prefix);
    }
  });
});
