import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestService, waitForCheck } from '../../support/service.js';
import type { TestService } from '../../support/service.js';

/** A form GET: the CSRF cookie and the form's token. */
async function formSession(url: string): Promise<{ cookie: string; token: string }> {
  const res = await fetch(`${url}/`);
  const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0]!;
  const token = /name="_csrf" value="([^"]+)"/.exec(await res.text())?.[1] ?? '';
  return { cookie, token };
}

function postForm(url: string, path: string, fields: Record<string, string>, cookie?: string) {
  return fetch(`${url}${path}`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(cookie ? { cookie } : {}) },
    body: new URLSearchParams(fields).toString(),
  });
}

const METRICS_TOKEN = 'metrics-token-0123456789abcdef';

describe('web edge: pages, security, operations', () => {
  let t: TestService;
  before(async () => {
    t = await startTestService({ env: { MXDOCTOR_METRICS_TOKEN: METRICS_TOKEN } });
  });
  after(async () => t.stop());

  it('serves the form with strict security headers', async () => {
    const res = await fetch(`${t.url}/`);
    assert.equal(res.status, 200);
    const csp = res.headers.get('content-security-policy') ?? '';
    for (const d of [
      "default-src 'self'",
      "script-src 'self'",
      "style-src 'self'",
      "frame-ancestors 'none'",
      "object-src 'none'",
      "form-action 'self'",
    ])
      assert.ok(csp.includes(d), `CSP has ${d}: ${csp}`);
    assert.ok(!/unsafe-inline|unsafe-eval/.test(csp));
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.match(res.headers.get('set-cookie') ?? '', /mxdoctor_csrf=.*HttpOnly.*SameSite=Strict/i);
    const html = await res.text();
    assert.match(html, /<label for="domain">Domain or email address<\/label>/);
    assert.ok(!/<script>|style="|onclick=/i.test(html), 'no inline script or style');
  });

  it('rejects a form post without a valid CSRF token (403) and accepts one with it (303)', async () => {
    const noToken = await postForm(t.url, '/checks', { domain: 'shop.example.com' });
    assert.equal(noToken.status, 403);
    assert.match(await noToken.text(), /security token or cookie is missing/);
    const { cookie, token } = await formSession(t.url);
    const forged = await postForm(
      t.url,
      '/checks',
      { domain: 'shop.example.com', _csrf: `${token}x` },
      cookie,
    );
    assert.equal(forged.status, 403);
    const ok = await postForm(
      t.url,
      '/checks',
      { domain: 'shop.example.com', smtpOff: '1', _csrf: token },
      cookie,
    );
    assert.equal(ok.status, 303);
    const location = ok.headers.get('location') ?? '';
    assert.match(location, /^\/checks\/[A-Za-z0-9_-]{22}$/);
    const pending = await fetch(`${t.url}${location}`);
    assert.equal(pending.status, 200);
    const html = await pending.text();
    assert.ok(/Checking shop\.example\.com|Mail check of shop\.example\.com/.test(html));
    await waitForCheck(t.url, location.split('/').pop()!);
    const done = await (await fetch(`${t.url}${location}`)).text();
    assert.match(done, /Mail check of shop\.example\.com/);
    assert.match(done, /SMTP off/);
  });

  it('streams live progress as Server-Sent Events until the check is done', async () => {
    /** Reads an event stream to its end (or 20 s) and returns its events. */
    async function events(
      path: string,
    ): Promise<{ type: string | null; events: { event: string; data: unknown }[] }> {
      const res = await fetch(`${t.url}${path}`, { signal: AbortSignal.timeout(20_000) });
      const text = await res.text();
      const events = text
        .split('\n\n')
        .map((block) => ({
          event: /^event: (.+)$/m.exec(block)?.[1] ?? '',
          data: /^data: (.+)$/m.exec(block)?.[1],
        }))
        .filter((e) => e.event)
        .map((e) => ({ event: e.event, data: JSON.parse(e.data ?? 'null') as unknown }));
      return { type: res.headers.get('content-type'), events };
    }
    const worker = t.service.worker!;
    await worker.pause();
    const res = await fetch(`${t.url}/api/v1/checks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ domain: 'stream.example.com', options: { smtp: false } }),
    });
    const { id } = (await res.json()) as { id: string };
    const live = events(`/checks/${id}/events`);
    await new Promise((r) => setTimeout(r, 200));
    worker.resume();
    const { type, events: seen } = await live;
    assert.equal(type, 'text/event-stream; charset=utf-8');
    assert.ok(seen.filter((e) => e.event === 'progress').length >= 1, 'progress while it ran');
    assert.deepEqual(seen.at(-1), { event: 'done', data: { status: 'completed' } });
    // A finished check answers "done" at once; an unknown one "gone".
    assert.deepEqual((await events(`/checks/${id}/events`)).events, [
      { event: 'done', data: { status: 'completed' } },
    ]);
    assert.deepEqual((await events('/checks/AAAAAAAAAAAAAAAAAAAAAA/events')).events, [
      { event: 'done', data: { status: 'gone' } },
    ]);
  });

  it('shows validation errors next to the fields with what is accepted (400)', async () => {
    const { cookie, token } = await formSession(t.url);
    const res = await postForm(
      t.url,
      '/checks',
      {
        domain: 'shop.example.com',
        verify: 'sales@shop.example.com\nboss@elsewhere.example',
        dkimSelectors: 'good bad!',
        _csrf: token,
      },
      cookie,
    );
    assert.equal(res.status, 400);
    const html = await res.text();
    assert.match(html, /id="verify-error"[^>]*>.*is not at shop\.example\.com/s);
    assert.match(html, /id="dkimSelectors-error"[^>]*>.*is not a DKIM selector/s);
    assert.match(html, /aria-invalid=true/);
    assert.match(html, /value="shop\.example\.com"/, 'keeps what was typed');
  });

  it('answers unknown pages and checks with a 404 page', async () => {
    const page = await fetch(`${t.url}/nothing-here`);
    assert.equal(page.status, 404);
    assert.match(await page.text(), /There is no page at this address/);
    const check = await fetch(`${t.url}/checks/AAAAAAAAAAAAAAAAAAAAAA`);
    assert.equal(check.status, 404);
    assert.match(await check.text(), /There is no check at this address/);
  });

  it('has /healthz, /readyz and Prometheus /metrics', async () => {
    assert.deepEqual(await (await fetch(`${t.url}/healthz`)).json(), { status: 'ok' });
    const ready = await fetch(`${t.url}/readyz`);
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), {
      status: 'ready',
      checks: { redis: 'ok', queue: 'ok', worker: 'ok' },
    });
    // Private by default: the metrics name monitored domains and the service's load.
    for (const auth of [undefined, 'Bearer wrong-token-0123456789abcdef']) {
      const refused = await fetch(`${t.url}/metrics`, { headers: auth ? { authorization: auth } : {} });
      assert.equal(refused.status, 401);
      assert.match(await refused.text(), /MXDOCTOR_METRICS_TOKEN/);
    }
    const metrics = await (
      await fetch(`${t.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })
    ).text();
    for (const name of [
      'mxdoctor_checks_total{outcome=',
      'mxdoctor_check_duration_seconds_bucket',
      'mxdoctor_smtp_sessions_total',
      'mxdoctor_queue_jobs{state="waiting"}',
      'mxdoctor_queue_oldest_waiting_seconds',
      'mxdoctor_http_requests_total',
      'mxdoctor_process_cpu_seconds_total',
    ])
      assert.ok(metrics.includes(name), `metrics include ${name}`);
  });

  it('keeps the admin dashboard off without MXDOCTOR_ADMIN_TOKEN', async () => {
    assert.equal((await fetch(`${t.url}/admin/queues`)).status, 404);
  });
});

describe('web edge: rate limits, API tokens, admin token', () => {
  const TOKEN = 'ci-token-0123456789abcdef';
  const ADMIN = 'admin-token-0123456789abcdef';
  let t: TestService;
  before(async () => {
    t = await startTestService({
      env: {
        MXDOCTOR_RATE_LIMIT_CHECKS: '2/1m',
        MXDOCTOR_RATE_LIMIT_TOKEN: '3/1m',
        MXDOCTOR_API_TOKENS: `ci:${TOKEN}`,
        MXDOCTOR_ADMIN_TOKEN: ADMIN,
      },
    });
  });
  after(async () => t.stop());

  const post = (domain: string, headers: Record<string, string> = {}) =>
    fetch(`${t.url}/api/v1/checks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ domain, options: { smtp: false } }),
    });

  it('limits anonymous checks per client (429 with Retry-After), not counting rejected input', async () => {
    assert.equal((await post('not a domain')).status, 400);
    assert.equal((await post('shop.example.com')).status, 202);
    assert.equal((await post('nomail.example.com')).status, 202);
    const limited = await post('slow.example.com');
    assert.equal(limited.status, 429);
    assert.ok(Number(limited.headers.get('retry-after')) > 0);
    const body = (await limited.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, 'rate_limited');
    assert.match(
      body.error.message,
      /started checks 2 times in 60 seconds, the most allowed. Please wait \d+ seconds/,
    );

    // The web form shares the anonymous budget and shows a clear page.
    const form = await fetch(`${t.url}/`);
    const cookie = (form.headers.get('set-cookie') ?? '').split(';')[0]!;
    const token = /name="_csrf" value="([^"]+)"/.exec(await form.text())?.[1] ?? '';
    const page = await fetch(`${t.url}/checks`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie },
      body: new URLSearchParams({ domain: 'shop.example.com', _csrf: token }).toString(),
    });
    assert.equal(page.status, 429);
    assert.ok(page.headers.get('retry-after'));
    const html = await page.text();
    assert.match(html, /<h1>Too many requests<\/h1>/);
    assert.match(html, /Please wait \d+ seconds and try again/);
  });

  it('gives a valid API token its own budget and refuses an unknown one (401)', async () => {
    const auth = { authorization: `Bearer ${TOKEN}` };
    for (const d of ['shop.example.com', 'nomail.example.com', 'slow.example.com']) {
      const res = await post(d, { ...auth });
      assert.equal(res.status, 202, `token check of ${d}`);
    }
    const fourth = await post('shop.example.com', auth);
    // Identical to the first token request: deduplicated, but still counted against the token.
    assert.equal(fourth.status, 429);
    assert.match(
      ((await fourth.json()) as { error: { message: string } }).error.message,
      /This API token has started checks 3 times/,
    );
    const wrong = await post('shop.example.com', { authorization: 'Bearer not-the-token-at-all-123' });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.headers.get('www-authenticate'), 'Bearer realm="mxdoctor"');
    assert.equal(((await wrong.json()) as { error: { code: string } }).error.code, 'unauthorized');
    assert.ok(
      !t.logs.lines.some((l) => JSON.stringify(l).includes(TOKEN)),
      'the token never appears in the logs',
    );
  });

  it('serves the queue dashboard only with the admin token', async () => {
    const anonymous = await fetch(`${t.url}/admin/queues`);
    assert.equal(anonymous.status, 401);
    assert.match(anonymous.headers.get('www-authenticate') ?? '', /^Basic realm="mxdoctor admin"/);
    const wrong = await fetch(`${t.url}/admin/queues`, { headers: { authorization: `Bearer ${ADMIN}x` } });
    assert.equal(wrong.status, 401);
    const basic = Buffer.from(`admin:${ADMIN}`).toString('base64');
    const page = await fetch(`${t.url}/admin/queues`, { headers: { authorization: `Basic ${basic}` } });
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<div id="root">/);
    const api = await fetch(`${t.url}/admin/queues/api/queues`, {
      headers: { authorization: `Bearer ${ADMIN}` },
    });
    assert.equal(api.status, 200);
    const queues = (await api.json()) as { queues: { name: string }[] };
    assert.deepEqual(
      queues.queues.map((q) => q.name),
      ['checks'],
    );
  });
});
