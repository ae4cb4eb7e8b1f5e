import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startFixtureDns } from '../../support/dns-server.js';
import type { FixtureDns } from '../../support/dns-server.js';
import { SERVICE_ZONES } from '../../fixtures/zones/service.js';
import { openApiValidator } from '../../support/openapi.js';
import { startTestService } from '../../support/service.js';
import type { TestService } from '../../support/service.js';
import { ADMIN_TOKEN, WebhookReceiver, api, runNow, waitFor, waitForRuns } from '../../support/monitor.js';

/**
 * The monitors API through a real service (web + worker + Redis): authorisation, request
 * validation with per-field errors, changes with their revisions, runs, reports, diffs,
 * test alerts and the per-monitor metrics. Every response is validated against the served
 * OpenAPI document. Monitors here are DNS-only (fast); changes come from the fixture DNS.
 */
const API_TOKEN = 'reader-token-0123456789abcdef';
const SOA = ['ns1.example.net hostmaster.example.net 2026112801 3600 600 1209600 300'];

describe('monitors API', { timeout: 120_000 }, () => {
  let dns: FixtureDns;
  let t: TestService;
  let hook: WebhookReceiver;
  let validate: (component: string, value: unknown) => string[];
  before(async () => {
    dns = await startFixtureDns({
      zones: {
        ...SERVICE_ZONES,
        'changing.example.com': { MX: ['10 mx1.changing.example.com'], SOA, TXT: ['v=spf1 mx -all'] },
        'mx1.changing.example.com': { A: ['127.0.0.31'] },
        'mx2.changing.example.com': { A: ['127.0.0.32'] },
      },
    });
    hook = await new WebhookReceiver().start();
    t = await startTestService({
      dns,
      env: {
        MXDOCTOR_ADMIN_TOKEN: ADMIN_TOKEN,
        MXDOCTOR_API_TOKENS: `reader:${API_TOKEN}`,
        MXDOCTOR_MONITORS_VIEW: 'private',
        MXDOCTOR_DNSBLS: 'bl.example.test',
        MXDOCTOR_DOMAIN_BLOCKLISTS: '-',
        MXDOCTOR_ALERT_BACKOFF: '100ms',
      },
    });
    const doc = (await (await fetch(`${t.url}/api/v1/openapi.json`)).json()) as Record<string, unknown>;
    validate = openApiValidator(doc);
  });
  after(async () => {
    await t?.stop();
    await hook?.stop();
    await dns?.stop();
  });

  const valid = (component: string, value: unknown) =>
    assert.deepEqual(validate(component, value), [], component);
  const create = async (body: Record<string, unknown>) => {
    const r = await api<{ id: string } & Record<string, unknown>>(t.url, 'POST', '/api/v1/monitors', {
      domain: 'shop.example.com',
      options: { smtp: false },
      schedule: { every: '1h' },
      ...body,
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r;
  };

  it('documents the monitor endpoints in the OpenAPI document', async () => {
    const doc = (await (await fetch(`${t.url}/api/v1/openapi.json`)).json()) as {
      paths: Record<string, Record<string, { security?: unknown }>>;
    };
    for (const p of [
      '/api/v1/monitors',
      '/api/v1/monitors/{id}',
      '/api/v1/monitors/{id}/run',
      '/api/v1/monitors/{id}/runs',
      '/api/v1/monitors/{id}/runs/{runId}',
      '/api/v1/monitors/{id}/diff',
      '/api/v1/monitors/{id}/destinations/{destinationId}/test',
    ])
      assert.ok(doc.paths[p], p);
    assert.deepEqual(doc.paths['/api/v1/monitors']!.post!.security, [{ bearer: [] }]);
    assert.deepEqual(Object.keys(doc.paths['/api/v1/monitors/{id}']!).sort(), ['delete', 'get', 'patch']);
  });

  it('needs the admin token to change monitors, and a token to read them when they are private', async () => {
    const body = { domain: 'shop.example.com', schedule: { every: '1h' } };
    for (const token of [null, 'wrong-token-wrong-token', API_TOKEN]) {
      const r = await api(t.url, 'POST', '/api/v1/monitors', body, token);
      assert.equal(r.status, 401, String(token));
      assert.equal(r.headers.get('www-authenticate'), 'Bearer realm="mxdoctor"');
      valid('Error', r.body);
    }
    const anonymous = await api(t.url, 'GET', '/api/v1/monitors', undefined, null);
    assert.equal(anonymous.status, 401);
    assert.match(
      String((anonymous.body.error as { message: string }).message),
      /MXDOCTOR_MONITORS_VIEW=private/,
    );
    const reader = await api<{ monitors: unknown[] }>(t.url, 'GET', '/api/v1/monitors', undefined, API_TOKEN);
    assert.equal(reader.status, 200);
    valid('MonitorList', reader.body);
  });

  it('says per field what is wrong and what is accepted', async () => {
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ domain: 'shop.example.com' }, 'schedule', /schedule is required/],
      [
        { domain: 'shop.example.com', schedule: { every: '1m' } },
        'schedule',
        /shorter than the minimum interval of 5m \(MXDOCTOR_MONITOR_MIN_INTERVAL\)/,
      ],
      [
        { domain: 'shop.example.com', schedule: { cron: '* * * * *' } },
        'schedule',
        /runs as often as every 1m, more often than the minimum interval of 5m/,
      ],
      [{ domain: 'shop.example.com', schedule: { cron: '61 * * * *' } }, 'schedule', /is not a cron pattern/],
      [
        { domain: 'shop.example.com', schedule: { cron: '0 * * * *', tz: 'Mars/Olympus' } },
        'schedule',
        /not a time zone/,
      ],
      [
        { domain: 'shop.example.com', schedule: { every: 'often' } },
        'schedule',
        /is not an interval; use a number with s, m, h or d/,
      ],
      [{ domain: 'http://shop.example.com/', schedule: { every: '1h' } }, 'domain', /URL/],
      [
        {
          domain: 'shop.example.com',
          schedule: { every: '1h' },
          destinations: [{ type: 'email', to: ['not an address'] }],
        },
        'destinations[0].to',
        /is not an email address/,
      ],
      [
        {
          domain: 'shop.example.com',
          schedule: { every: '1h' },
          destinations: [{ type: 'webhook', url: 'ftp://example.com/x' }],
        },
        'destinations[0].url',
        /ftp: URLs are not accepted/,
      ],
      [
        {
          domain: 'shop.example.com',
          schedule: { every: '1h' },
          destinations: [{ type: 'webhook', url: 'http://0.0.0.0/x' }],
        },
        'destinations[0].url',
        /The webhook host 0\.0\.0\.0 is a "this network"/,
      ],
      [
        { domain: 'shop.example.com', schedule: { every: '1h' }, destinations: [{ type: 'pager', to: 'x' }] },
        'destinations[0]',
        /must be \{"type": "email"/,
      ],
      [
        { domain: 'shop.example.com', schedule: { every: '1h' }, labels: ['<b>'] },
        'labels[0]',
        /Label "<b>" is not accepted/,
      ],
      [
        {
          domain: 'shop.example.com',
          schedule: { every: '1h' },
          alerts: { expiryWarnDays: 5, expiryFailDays: 7 },
        },
        'alerts.expiryFailDays',
        /must be fewer days than/,
      ],
      [
        { domain: 'shop.example.com', schedule: { every: '1h' }, colour: 'blue' },
        'colour',
        /Unknown field "colour"/,
      ],
    ];
    for (const [body, field, message] of cases) {
      const r = await api<{ error: { code: string; field: string; message: string } }>(
        t.url,
        'POST',
        '/api/v1/monitors',
        body,
      );
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal(r.body.error.code, 'invalid_request');
      assert.equal(r.body.error.field, field, JSON.stringify(body));
      assert.match(r.body.error.message, message);
      valid('Error', r.body);
    }
    const wrongType = await fetch(`${t.url}/api/v1/monitors`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'text/plain' },
      body: '{}',
    });
    assert.equal(wrongType.status, 415);
  });

  it('creates, reads, changes and deletes a monitor; PATCH keeps what it does not name', async () => {
    const r = await create({
      name: 'Shop',
      labels: ['prod', 'team=mail'],
      destinations: [{ type: 'webhook', url: hook.url, format: 'slack' }],
      alerts: { rules: { mx_changed: { persistence: 3 } }, unknownAfter: '45m' },
      retention: { runs: 20 },
    });
    valid('Monitor', r.body);
    const m = r.body as {
      id: string;
      rev: number;
      destinations: { id: string; secret: string }[];
      alerts: { rules: Record<string, { persistence: number; enabled: boolean }>; unknownAfter: string };
      retention: { days: number; runs: number };
      nextRunAt: string;
    };
    assert.equal(r.headers.get('location'), `/api/v1/monitors/${m.id}`);
    assert.match(m.id, /^[A-Za-z0-9_-]{16}$/);
    assert.equal(m.rev, 1);
    assert.ok(m.destinations[0]!.secret.length >= 32, 'a webhook secret was generated');
    assert.equal(m.alerts.rules.mx_changed!.persistence, 3);
    assert.equal(m.alerts.rules.cert_changed!.persistence, 2, 'defaults for the rest');
    assert.equal(m.alerts.unknownAfter, '45m');
    assert.deepEqual(m.retention, { days: 90, runs: 20 });
    assert.ok(Date.parse(m.nextRunAt) > Date.now() && Date.parse(m.nextRunAt) <= Date.now() + 3_600_000);

    const patched = await api<typeof m & { labels: string[]; schedule: unknown }>(
      t.url,
      'PATCH',
      `/api/v1/monitors/${m.id}`,
      {
        schedule: { cron: '*/30 * * * *', tz: 'Europe/Berlin' },
        alerts: { rules: { verdict_worse: { enabled: false } } },
        destinations: [{ type: 'webhook', url: hook.url, format: 'json' }],
      },
    );
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    valid('Monitor', patched.body);
    assert.equal(patched.body.rev, 2);
    assert.deepEqual(patched.body.schedule, { cron: '*/30 * * * *', tz: 'Europe/Berlin' });
    assert.deepEqual(patched.body.labels, ['prod', 'team=mail'], 'labels kept');
    assert.equal(patched.body.alerts.rules.mx_changed!.persistence, 3, 'alert rules merged');
    assert.equal(patched.body.alerts.rules.verdict_worse!.enabled, false);
    assert.equal(
      patched.body.destinations[0]!.secret,
      m.destinations[0]!.secret,
      'same URL keeps its secret',
    );
    assert.equal(patched.body.destinations[0]!.id, m.destinations[0]!.id);

    // Readers see monitors without their destinations (webhook URLs and secrets are secrets).
    const asReader = await api<{ destinations: Record<string, unknown>[] }>(
      t.url,
      'GET',
      `/api/v1/monitors/${m.id}`,
      undefined,
      API_TOKEN,
    );
    assert.deepEqual(asReader.body.destinations, [{ id: m.destinations[0]!.id, type: 'webhook' }]);
    assert.ok(!JSON.stringify(asReader.body).includes(m.destinations[0]!.secret));
    valid('MonitorDetail', asReader.body);

    assert.equal((await api(t.url, 'DELETE', `/api/v1/monitors/${m.id}`)).status, 204);
    assert.equal((await api(t.url, 'GET', `/api/v1/monitors/${m.id}`)).status, 404);
    assert.equal((await api(t.url, 'DELETE', `/api/v1/monitors/${m.id}`)).status, 404);
  });

  it('lists runs newest first with what changed, serves a run with its report, and diffs any two runs', async () => {
    const r = await create({ domain: 'changing.example.com' });
    const id = r.body.id;
    const [first] = await waitForRuns(t.url, id, 1);
    const same = await runNow(t.url, id);
    assert.deepEqual(same.changes, { previousRunId: first!.runId, count: 0, texts: [] });
    dns.set('changing.example.com', {
      MX: ['10 mx1.changing.example.com', '20 mx2.changing.example.com'],
      SOA,
      TXT: ['v=spf1 mx a -all'],
    });
    const changed = await runNow(t.url, id);
    assert.ok(
      changed.changes!.texts.includes('MX set changed: added 20 mx2.changing.example.com'),
      JSON.stringify(changed.changes),
    );
    assert.ok(changed.changes!.texts.includes('SPF record changed: "v=spf1 mx -all" → "v=spf1 mx a -all"'));

    const runs = await api<{ runs: { runId: string }[]; next?: string }>(
      t.url,
      'GET',
      `/api/v1/monitors/${id}/runs?limit=2`,
    );
    valid('MonitorRuns', runs.body);
    assert.deepEqual(
      runs.body.runs.map((x) => x.runId),
      [changed.runId, same.runId],
    );
    assert.ok(runs.body.next);
    const older = await api<{ runs: { runId: string }[]; next?: string }>(
      t.url,
      'GET',
      `/api/v1/monitors/${id}/runs?limit=2&before=${encodeURIComponent(runs.body.next!)}`,
    );
    assert.deepEqual(
      older.body.runs.map((x) => x.runId),
      [first!.runId],
    );
    assert.equal(older.body.next, undefined);
    assert.equal((await api(t.url, 'GET', `/api/v1/monitors/${id}/runs?limit=0`)).status, 400);

    const one = await api<{
      run: { runId: string };
      report: { domain: { ascii: string } };
      previousRunId: string;
    }>(t.url, 'GET', `/api/v1/monitors/${id}/runs/${changed.runId}`);
    valid('MonitorRun', one.body);
    assert.equal(one.body.report.domain.ascii, 'changing.example.com');
    assert.equal(one.body.previousRunId, same.runId);

    const latest = await api<{
      facts: { fact: string; text: string }[];
      from: { reportId: string };
      same: boolean;
    }>(t.url, 'GET', `/api/v1/monitors/${id}/diff`);
    valid('MonitorDiff', latest.body);
    assert.equal(latest.body.from.reportId, same.runId, 'default: the latest run against the one before');
    const span = await api<{ facts: { fact: string; text: string }[] }>(
      t.url,
      'GET',
      `/api/v1/monitors/${id}/diff?from=${first!.runId}&to=${changed.runId}`,
    );
    assert.deepEqual(
      span.body.facts.filter((f) => f.fact === 'mx').map((f) => f.text),
      ['MX set changed: added 20 mx2.changing.example.com'],
    );
    const nothing = await api<{ same: boolean }>(
      t.url,
      'GET',
      `/api/v1/monitors/${id}/diff?from=${first!.runId}&to=${same.runId}`,
    );
    assert.equal(nothing.body.same, true);
    const missing = await api<{ error: { field: string } }>(
      t.url,
      'GET',
      `/api/v1/monitors/${id}/diff?from=nope&to=${same.runId}`,
    );
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.field, 'from');

    // Another domain: the history stays, the next run is a new baseline (no "MX set changed").
    await api(t.url, 'PATCH', `/api/v1/monitors/${id}`, { domain: 'shop.example.com' });
    const moved = await runNow(t.url, id);
    assert.equal(moved.changes, undefined);
    assert.deepEqual(moved.alerts, []);
    assert.equal(
      (await api<{ runs: unknown[] }>(t.url, 'GET', `/api/v1/monitors/${id}/runs`)).body.runs.length,
      4,
    );
  });

  it('sends a test alert to one destination, signed, and shows its outcome', async () => {
    const r = await create({ destinations: [{ type: 'webhook', url: hook.url }] });
    const dest = (r.body.destinations as { id: string; secret: string }[])[0]!;
    hook.secret = dest.secret;
    hook.respond = () => 200;
    const before = hook.received.length;
    const q = await api<{ deliveryId: string }>(
      t.url,
      'POST',
      `/api/v1/monitors/${r.body.id}/destinations/${dest.id}/test`,
    );
    assert.equal(q.status, 202);
    valid('TestAlertQueued', q.body);
    const got = await waitFor(
      async () => hook.received.slice(before).find((h) => h.headers['x-mxdoctor-event'] === 'test'),
      'the test alert',
    );
    assert.equal(got.signatureValid, true);
    assert.equal(got.json.type, 'mxdoctor.test');
    assert.equal(got.headers['x-mxdoctor-delivery'], q.body.deliveryId);
    const detail = await waitFor(async () => {
      const d = await api<{ deliveries: { deliveryId: string; status: string; test: boolean }[] }>(
        t.url,
        'GET',
        `/api/v1/monitors/${r.body.id}`,
      );
      return d.body.deliveries.find((x) => x.deliveryId === q.body.deliveryId) && d;
    }, 'the delivery record');
    assert.deepEqual(
      detail.body.deliveries.filter((x) => x.deliveryId === q.body.deliveryId).map((x) => [x.status, x.test]),
      [['sent', true]],
    );
    assert.equal(
      (await api(t.url, 'POST', `/api/v1/monitors/${r.body.id}/destinations/nope0000/test`)).status,
      404,
    );
  });

  it('exports per-monitor gauges on /metrics', async () => {
    const r = await create({ domain: 'nomail.example.com' });
    await waitForRuns(t.url, r.body.id, 1);
    assert.equal((await fetch(`${t.url}/metrics`)).status, 401, 'private: a token is needed');
    const text = await (
      await fetch(`${t.url}/metrics`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })
    ).text();
    const line = (name: string) =>
      text
        .split('\n')
        .find((l) => l.startsWith(`${name}{monitor="${r.body.id}",domain="nomail.example.com"}`));
    assert.equal(line('mxdoctor_monitor_verdict')?.split(' ')[1], '2', 'fail = 2');
    assert.equal(line('mxdoctor_monitor_paused')?.split(' ')[1], '0');
    const age = Number(line('mxdoctor_monitor_last_run_age_seconds')?.split(' ')[1]);
    assert.ok(age >= 0 && age < 60, `last run age ${age}`);
    assert.match(text, /# HELP mxdoctor_monitor_certificate_expiry_days /);
    assert.match(text, /mxdoctor_monitor_runs_total\{verdict="fail"\} \d+/);
  });
});
