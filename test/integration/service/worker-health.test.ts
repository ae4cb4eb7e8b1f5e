import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestService, unusedPort } from '../../support/service.js';
import type { TestService } from '../../support/service.js';

const METRICS_TOKEN = 'metrics-token-0123456789abcdef';

// A standalone worker serves its operations endpoints on node:http, not through the web
// app's express router: the same replies, matched as express matches routes.
describe('worker process: /healthz, /readyz and /metrics on MXDOCTOR_WORKER_PORT', () => {
  let t: TestService;
  let url: string;
  before(async () => {
    const port = await unusedPort();
    t = await startTestService({
      mode: 'worker',
      env: { MXDOCTOR_WORKER_PORT: String(port), MXDOCTOR_METRICS_TOKEN: METRICS_TOKEN },
    });
    url = `http://127.0.0.1:${port}`;
  });
  after(async () => t.stop());

  it('answers /healthz and /readyz with JSON, not cached', async () => {
    const health = await fetch(`${url}/healthz`);
    assert.equal(health.status, 200);
    assert.equal(health.headers.get('content-type'), 'application/json; charset=utf-8');
    assert.equal(health.headers.get('cache-control'), 'no-store');
    assert.deepEqual(await health.json(), { status: 'ok' });
    const ready = await fetch(`${url}/readyz`);
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), {
      status: 'ready',
      checks: { redis: 'ok', queue: 'ok', worker: 'ok' },
    });
  });

  it('refuses /metrics without the token and serves Prometheus text with it', async () => {
    for (const auth of [undefined, 'Bearer wrong-token-0123456789abcdef']) {
      const refused = await fetch(`${url}/metrics`, { headers: auth ? { authorization: auth } : {} });
      assert.equal(refused.status, 401);
      assert.equal(refused.headers.get('www-authenticate'), 'Bearer realm="mxdoctor metrics"');
      assert.match(await refused.text(), /MXDOCTOR_METRICS_TOKEN/);
    }
    const metrics = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    assert.equal(metrics.status, 200);
    assert.match(metrics.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const text = await metrics.text();
    for (const name of ['mxdoctor_checks_total', 'mxdoctor_queue_jobs{state="waiting"}'])
      assert.ok(text.includes(name), `metrics include ${name}`);
  });

  it('matches paths in any case, with a trailing slash or a query, and HEAD without a body', async () => {
    for (const path of ['/HealthZ', '/healthz/', '/healthz?probe=1'])
      assert.equal((await fetch(`${url}${path}`)).status, 200, path);
    const head = await fetch(`${url}/healthz`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), String('{"status":"ok"}'.length));
    assert.equal(await head.text(), '');
  });

  it('answers 404 to other paths and methods', async () => {
    for (const [path, method] of [
      ['/', 'GET'],
      ['/api/v1/checks', 'GET'],
      ['/healthz/x', 'GET'],
      ['/healthz', 'POST'],
    ] as const)
      assert.equal((await fetch(`${url}${path}`, { method })).status, 404, `${method} ${path}`);
  });
});
