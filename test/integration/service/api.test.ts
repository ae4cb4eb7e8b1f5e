import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { reportValidator } from '../../support/schema.js';
import { openApiValidator } from '../../support/openapi.js';
import { startTestService, waitForCheck } from '../../support/service.js';
import type { TestService } from '../../support/service.js';

describe('JSON API against a real Redis and worker', () => {
  let t: TestService;
  let validate: (component: string, value: unknown) => string[];
  before(async () => {
    t = await startTestService();
    const doc = (await (await fetch(`${t.url}/api/v1/openapi.json`)).json()) as Record<string, unknown>;
    validate = openApiValidator(doc);
  });
  after(async () => t.stop());

  const post = (body: unknown, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
    fetch(`${t.url}/api/v1/checks`, {
      method: 'POST',
      headers,
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  it('serves an OpenAPI 3.1 document describing the endpoints', async () => {
    const res = await fetch(`${t.url}/api/v1/openapi.json`);
    assert.equal(res.status, 200);
    const doc = (await res.json()) as {
      openapi: string;
      paths: Record<string, unknown>;
      components: { schemas: Record<string, unknown> };
    };
    assert.equal(doc.openapi, '3.1.0');
    // Other areas (monitors) add their own paths; they are tested with them.
    assert.deepEqual(
      Object.keys(doc.paths)
        .filter((p) => /^\/api\/v1\/(checks|domains)\b/.test(p))
        .sort(),
      ['/api/v1/checks', '/api/v1/checks/{id}', '/api/v1/domains/{domain}/checks'],
    );
    for (const name of ['CheckRequest', 'CheckAccepted', 'CheckStatus', 'Report', 'DomainChecks', 'Error'])
      assert.ok(doc.components.schemas[name], name);
  });

  it('queues a check, reports progress, and returns the report (POST → worker → GET)', async () => {
    const res = await post({ domain: ' Shop.Example.COM. ', options: { smtp: false } });
    assert.equal(res.status, 202);
    const accepted = (await res.json()) as {
      id: string;
      status: string;
      deduplicated: boolean;
      links: { self: string };
    };
    assert.deepEqual(validate('CheckAccepted', accepted), []);
    assert.equal(res.headers.get('location'), `/api/v1/checks/${accepted.id}`);
    assert.equal(accepted.deduplicated, false);
    assert.match(res.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);

    const done = await waitForCheck(t.url, accepted.id);
    assert.deepEqual(validate('CheckStatus', done), []);
    assert.equal(done.status, 'completed');
    const report = done.report as {
      domain: { ascii: string };
      checks: { id: string; status: string }[];
      options: { smtp: boolean };
    };
    assert.equal(report.domain.ascii, 'shop.example.com');
    assert.equal(report.options.smtp, false);
    assert.ok(report.checks.some((f) => f.id === 'mx.records' && f.status === 'pass'));
    assert.deepEqual(reportValidator()(report), [], 'the stored report matches the published report schema');
    assert.equal((done.links as { report: string }).report, `/checks/${accepted.id}/report.json`);

    const json = await fetch(`${t.url}/checks/${accepted.id}/report.json`);
    assert.equal(json.status, 200);
    assert.match(
      json.headers.get('content-disposition') ?? '',
      /attachment; filename="mxdoctor-shop\.example\.com-\d{4}-\d\d-\d\d\.json"/,
    );
    assert.deepEqual(await json.json(), report);

    // The worker logged the job with the id of the request that queued it.
    const started = t.logs.lines.find((l) => l.msg === 'check started' && l.jobId === accepted.id);
    assert.ok(started, 'a "check started" line with the job id');
    assert.equal(started.reqId, res.headers.get('x-request-id'));
    const requestLine = t.logs.lines.find((l) => l.msg === 'request completed' && l.jobId === accepted.id);
    assert.ok(requestLine?.reqId, 'the request line carries reqId and jobId');
  });

  it('reuses a running or just-finished identical check, and not a different one', async () => {
    const body = { domain: 'nomail.example.com', dkimSelectors: ['s1', 'google'], options: { smtp: false } };
    const first = (await (await post(body)).json()) as { id: string };
    const same = (await (
      await post({ ...body, domain: 'NOMAIL.example.com', dkimSelectors: ['GOOGLE', 's1'] })
    ).json()) as {
      id: string;
      deduplicated: boolean;
    };
    assert.equal(same.id, first.id, 'same domain and options while running');
    assert.equal(same.deduplicated, true);
    await waitForCheck(t.url, first.id);
    const after = (await (await post(body)).json()) as { id: string; status: string; deduplicated: boolean };
    assert.equal(after.id, first.id, 'just finished: still the same check');
    assert.equal(after.status, 'completed');
    assert.deepEqual(validate('CheckAccepted', after), []);
    const other = (await (await post({ ...body, dkimSelectors: ['s2'] })).json()) as { id: string };
    assert.notEqual(other.id, first.id, 'different options: a new check');
    await waitForCheck(t.url, other.id);
  });

  it('lists the recent checks of a domain, newest first', async () => {
    const a = (await (
      await post({ domain: 'shop.example.com', dkimSelectors: ['one'], options: { smtp: false } })
    ).json()) as { id: string };
    await waitForCheck(t.url, a.id);
    const b = (await (
      await post({ domain: 'shop.example.com', dkimSelectors: ['two'], options: { smtp: false } })
    ).json()) as { id: string };
    await waitForCheck(t.url, b.id);
    const res = await fetch(`${t.url}/api/v1/domains/SHOP.example.com/checks?limit=2`);
    assert.equal(res.status, 200);
    const body = (await res.json()) as { domain: { ascii: string }; checks: { id: string }[] };
    assert.deepEqual(validate('DomainChecks', body), []);
    assert.deepEqual(
      body.checks.map((c) => c.id),
      [b.id, a.id],
    );
  });

  const cases: {
    name: string;
    send: () => Promise<Response>;
    status: number;
    code: string;
    field?: string;
    message: RegExp;
  }[] = [
    {
      name: 'an invalid domain',
      send: () => post({ domain: 'exa mple.com' }),
      status: 400,
      code: 'invalid_request',
      field: 'domain',
      message: /contains spaces.*Expected a domain name/,
    },
    {
      name: 'a missing domain',
      send: () => post({ verify: [] }),
      status: 400,
      code: 'invalid_request',
      field: 'domain',
      message: /domain is required/,
    },
    {
      name: 'an address to verify at another domain',
      send: () =>
        post({ domain: 'shop.example.com', verify: ['info@shop.example.com', 'ceo@other.example'] }),
      status: 400,
      code: 'invalid_request',
      field: 'verify[1]',
      message: /must be at the checked domain/,
    },
    {
      name: 'an unknown field',
      send: () => post({ domain: 'shop.example.com', smtp: false }),
      status: 400,
      code: 'invalid_request',
      field: 'smtp',
      message: /Unknown field "smtp"; accepted: domain, verify, dkimSelectors, options.smtp/,
    },
    {
      name: 'malformed JSON',
      send: () => post('{"domain": "shop.example.com"'),
      status: 400,
      code: 'invalid_json',
      message: /not valid JSON/,
    },
    {
      name: 'an oversized body',
      send: () => post({ domain: 'shop.example.com', dkimSelectors: ['x'.repeat(20_000)] }),
      status: 413,
      code: 'payload_too_large',
      message: /larger than the 16 KiB/,
    },
    {
      name: 'the wrong content type',
      send: () => post('domain=shop.example.com', { 'content-type': 'application/x-www-form-urlencoded' }),
      status: 415,
      code: 'unsupported_media_type',
      message: /Content-Type must be application\/json/,
    },
    {
      name: 'a list limit out of range',
      send: () => fetch(`${t.url}/api/v1/domains/shop.example.com/checks?limit=101`),
      status: 400,
      code: 'invalid_request',
      field: 'limit',
      message: /^limit must be a whole number from 1 to 100\.$/,
    },
    {
      name: 'an unknown check id',
      send: () => fetch(`${t.url}/api/v1/checks/AAAAAAAAAAAAAAAAAAAAAA`),
      status: 404,
      code: 'not_found',
      field: 'id',
      message: /No check with id/,
    },
    {
      name: 'a malformed check id',
      send: () => fetch(`${t.url}/api/v1/checks/..%2F..%2Fetc`),
      status: 404,
      code: 'not_found',
      field: 'id',
      message: /No check with id/,
    },
    {
      name: 'a wrong method',
      send: () => fetch(`${t.url}/api/v1/checks`, { method: 'DELETE' }),
      status: 405,
      code: 'method_not_allowed',
      message: /accepts POST only/,
    },
    {
      name: 'an unknown endpoint',
      send: () => fetch(`${t.url}/api/v1/nothing`),
      status: 404,
      code: 'not_found',
      message: /No API endpoint GET \/api\/v1\/nothing/,
    },
    {
      name: 'an invalid domain in the history endpoint',
      send: () => fetch(`${t.url}/api/v1/domains/not_a.example/checks`),
      status: 400,
      code: 'invalid_request',
      field: 'domain',
      message: /not allowed in host names/,
    },
  ];
  for (const c of cases) {
    it(`answers ${c.status} ${c.code} for ${c.name}`, async () => {
      const res = await c.send();
      assert.equal(res.status, c.status);
      assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
      const body = (await res.json()) as { error: { code: string; message: string; field?: string } };
      assert.deepEqual(validate('Error', body), []);
      assert.equal(body.error.code, c.code);
      assert.match(body.error.message, c.message);
      assert.equal(body.error.field, c.field);
    });
  }
});
