import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFixtureDns } from '../../support/dns-server.js';
import type { FixtureDns } from '../../support/dns-server.js';
import { SERVICE_ZONES } from '../../fixtures/zones/service.js';
import { TEST_REDIS_URL, cleanPrefix, testPrefix } from '../../support/redis.js';
import { unusedPort } from '../../support/service.js';
import { MxdoctorProcess } from '../../support/spawn.js';

/**
 * First run (issue 13 §7): `npm start` without MXDOCTOR_ADMIN_TOKEN on a loopback-only web
 * server generates an admin token, keeps it in the data directory readable by its owner
 * only, and prints a sign-in link once; a later start reuses it without printing it again.
 * Listening beyond loopback without a token keeps the monitors locked, as before.
 */
describe('first run: an admin token for a newcomer on loopback', { timeout: 120_000 }, () => {
  let dns: FixtureDns;
  const prefix = testPrefix('first');
  before(async () => {
    dns = await startFixtureDns({ zones: SERVICE_ZONES });
  });
  after(async () => {
    await dns.stop();
    await cleanPrefix(prefix);
  });

  const env = async (host: string, dataDir: string, port: number): Promise<Record<string, string>> => ({
    MXDOCTOR_RESOLVERS: dns.address,
    MXDOCTOR_SMTP_PORT: String(await unusedPort()),
    MXDOCTOR_EHLO_NAME: 'probe.example.org',
    REDIS_URL: TEST_REDIS_URL,
    MXDOCTOR_REDIS_PREFIX: prefix,
    MXDOCTOR_WORKER_PORT: '0',
    PORT: String(port),
    MXDOCTOR_HOST: host,
    MXDOCTOR_DATA_DIR: dataDir,
    MXDOCTOR_SHUTDOWN_GRACE: '1s',
  });

  const stop = async (p: MxdoctorProcess): Promise<void> => {
    p.kill('SIGTERM');
    assert.equal((await p.exited).code, 0);
  };

  it('generates the token, stores it privately, prints a sign-in link that signs the browser in', async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'mxdoctor-first-')), 'data');
    const port = await unusedPort();
    const url = `http://127.0.0.1:${port}`;
    const first = new MxdoctorProcess(['serve'], await env('127.0.0.1', dataDir, port));
    let token = '';
    try {
      await first.waitForLog(/listening on/);
      await first.waitForLog(/^generated an admin token/);
      const link = await first.waitForStderr(
        new RegExp(`${url.replace(/[.]/g, '\\.')}/monitors/signin\\?token=([A-Za-z0-9_-]{32})`),
      );
      token = link[1]!;
      const file = join(dataDir, 'admin-token');
      assert.equal(readFileSync(file, 'utf8').trim(), token);
      assert.equal(statSync(file).mode & 0o777, 0o600, 'readable by its owner only');

      const signIn = await fetch(link[0], { redirect: 'manual' });
      assert.equal(signIn.status, 303);
      assert.equal(signIn.headers.get('location'), '/monitors');
      const session = signIn.headers
        .getSetCookie()
        .map((c) => c.split(';')[0]!)
        .find((c) => c.startsWith('mxdoctor_admin='));
      assert.ok(session, 'signed in');
      const form = await fetch(`${url}/monitors/new`, { headers: { cookie: session } });
      assert.equal(form.status, 200, 'the monitor form is open to the signed-in browser');
      assert.equal((await fetch(`${url}/monitors/new`)).status, 401, 'and to nobody else');
      const api = await fetch(`${url}/api/v1/monitors`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ domain: 'shop.example.com', schedule: { every: '1h' }, paused: true }),
      });
      assert.equal(api.status, 201, 'the token works for the API too');
      const wrong = await fetch(`${url}/monitors/signin?token=not-the-token-at-all`, { redirect: 'manual' });
      assert.equal(wrong.status, 401);
      assert.ok(!first.stdout.includes(token), 'the token is in no log line (not even the sign-in request)');
    } finally {
      await stop(first);
    }

    const second = new MxdoctorProcess(['serve'], await env('127.0.0.1', dataDir, port));
    try {
      await second.waitForLog(/^admin token read from .*admin-token; sign in with it at/);
      await second.waitForLog(/listening on/);
      assert.ok(!second.stderr.includes(token), 'the link is printed once, when generated');
      const again = await fetch(`${url}/monitors/signin?token=${token}`, { redirect: 'manual' });
      assert.equal(again.status, 303, 'the same token still signs in');
    } finally {
      await stop(second);
    }
  });

  it('stays locked when listening on all interfaces without a token', async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'mxdoctor-first-')), 'data');
    const port = await unusedPort();
    const p = new MxdoctorProcess(['serve'], await env('0.0.0.0', dataDir, port));
    try {
      await p.waitForLog(/^monitors are locked: MXDOCTOR_ADMIN_TOKEN is not set/);
      await p.waitForLog(/listening on/);
      assert.ok(!existsSync(join(dataDir, 'admin-token')), 'no token generated');
      assert.doesNotMatch(p.stderr, /signin\?token=/);
      const form = await fetch(`http://127.0.0.1:${port}/monitors/new`);
      assert.equal(form.status, 401);
      assert.match(await form.text(), /No admin token is configured|admin token/);
    } finally {
      await stop(p);
    }
  });
});
