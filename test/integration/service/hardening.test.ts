import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { freePort, scriptedMta, startPlaybook } from '../../support/smtp-fakes.js';
import type { Playbook } from '../../support/smtp-fakes.js';
import { startTestService, waitForCheck } from '../../support/service.js';
import type { TestService } from '../../support/service.js';
import { ADMIN_TOKEN, api } from '../../support/monitor.js';

/**
 * Smaller findings of issue 13 §4, through the running service: /metrics, the monitors API
 * and the admin session cookie, `verify` addresses with control characters, undecodable
 * path parameters, and control characters from a hostile server in the report page.
 */
async function signIn(url: string): Promise<{ cookie: string; csrf: string }> {
  const form = await fetch(`${url}/monitors/signin`);
  const csrfCookie = (form.headers.get('set-cookie') ?? '').split(';')[0]!;
  const csrf = /name="_csrf" value="([^"]+)"/.exec(await form.text())?.[1] ?? '';
  const res = await fetch(`${url}/monitors/signin`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: csrfCookie },
    body: new URLSearchParams({ _csrf: csrf, token: ADMIN_TOKEN, next: '/monitors' }).toString(),
  });
  assert.equal(res.status, 303);
  const session = res.headers
    .getSetCookie()
    .map((c) => c.split(';')[0]!)
    .find((c) => c.startsWith('mxdoctor_admin='));
  assert.ok(session, 'signed in');
  return { cookie: `${csrfCookie}; ${session}`, csrf };
}

describe('service hardening', () => {
  let t: TestService;
  let mx: Playbook;
  before(async () => {
    const port = await freePort();
    mx = await startPlaybook(
      '127.0.0.84',
      port,
      scriptedMta({
        name: 'mx.odd.example.com',
        greeting: ['220 mx.odd.example.com ESMTP null\u0000byte bare\rreturn bell\u0007'],
      }),
    );
    t = await startTestService({
      zones: {
        'odd.example.com': { MX: ['10 mx.odd.example.com'] },
        'mx.odd.example.com': { A: ['127.0.0.84'] },
      },
      env: {
        MXDOCTOR_SMTP_PORT: String(port),
        MXDOCTOR_SMTP_LEGACY_TLS: 'false',
        MXDOCTOR_ADMIN_TOKEN: ADMIN_TOKEN,
        MXDOCTOR_METRICS_VIEW: 'public',
        MXDOCTOR_MONITORS_VIEW: 'private',
      },
    });
  });
  after(async () => {
    await t?.stop();
    await mx?.stop();
  });

  it('public metrics name private monitors by id only', async () => {
    const m = await api<{ id: string }>(t.url, 'POST', '/api/v1/monitors', {
      domain: 'secret-customer.example.com',
      schedule: { every: '1h' },
      paused: true,
    });
    assert.equal(m.status, 201);
    const res = await fetch(`${t.url}/metrics`);
    assert.equal(res.status, 200, 'public on this server');
    const text = await res.text();
    assert.ok(text.includes(`mxdoctor_monitor_paused{monitor="${m.body.id}"} 1`));
    assert.ok(!text.includes('secret-customer'), 'no private monitor’s domain');
  });

  it('refuses monitor API writes made with the browser’s session cookie and no CSRF token', async () => {
    const { cookie, csrf } = await signIn(t.url);
    const made = await api<{ id: string }>(t.url, 'POST', '/api/v1/monitors', {
      domain: 'shop.example.com',
      schedule: { every: '1h' },
      paused: true,
    });
    const id = made.body.id;
    const evil = { cookie, origin: 'http://evil.example' };
    const del = await fetch(`${t.url}/api/v1/monitors/${id}`, { method: 'DELETE', headers: evil });
    assert.equal(del.status, 403);
    assert.match(await del.text(), /CSRF|X-CSRF-Token|bearer token/i);
    const create = await fetch(`${t.url}/api/v1/monitors`, {
      method: 'POST',
      headers: { ...evil, 'content-type': 'application/json' },
      body: JSON.stringify({ domain: 'shop.example.com', schedule: { every: '1h' } }),
    });
    assert.equal(create.status, 403);
    assert.equal((await api(t.url, 'GET', `/api/v1/monitors/${id}`)).status, 200, 'still there');
    // Reading with the session is fine; writing with it needs the pages' CSRF token.
    assert.equal((await fetch(`${t.url}/api/v1/monitors/${id}`, { headers: { cookie } })).status, 200);
    const withToken = await fetch(`${t.url}/api/v1/monitors/${id}`, {
      method: 'DELETE',
      headers: { cookie, 'x-csrf-token': csrf },
    });
    assert.equal(withToken.status, 204);
  });

  it('refuses verify addresses with control characters, as the CLI does', async () => {
    for (const address of [
      'a\u0000b@odd.example.com',
      'a\rb@odd.example.com',
      'ab\u007f@odd.example.com',
      'a\u001bb@odd.example.com',
    ]) {
      const res = await fetch(`${t.url}/api/v1/checks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ domain: 'odd.example.com', verify: [address] }),
      });
      assert.equal(res.status, 400, JSON.stringify(address));
      const body = (await res.json()) as { error: { field: string; message: string } };
      assert.equal(body.error.field, 'verify[0]');
      assert.match(body.error.message, /contains a control character/);
    }
  });

  it('answers 400, without a stack trace, for undecodable percent-encoding in a path', async () => {
    const page = await fetch(`${t.url}/checks/%E0%A4%A`);
    assert.equal(page.status, 400);
    assert.match(await page.text(), /<h1>Bad request<\/h1>/);
    const apiRes = await api<{ error: { code: string } }>(t.url, 'GET', '/api/v1/monitors/%zz');
    assert.equal(apiRes.status, 400);
    assert.equal(apiRes.body.error.code, 'invalid_request');
    assert.equal(t.logs.find(/^unexpected error/), undefined, 'not logged as a bug');
  });

  it('shows a hostile server’s NUL, bare CR and BEL visibly in the report page', async () => {
    const res = await fetch(`${t.url}/api/v1/checks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ domain: 'odd.example.com' }),
    });
    const { id } = (await res.json()) as { id: string };
    await waitForCheck(t.url, id);
    const html = await (await fetch(`${t.url}/checks/${id}`)).text();
    assert.match(html, /null\\x00byte bare\\x0dreturn bell\\x07/);
    // eslint-disable-next-line no-control-regex -- control characters are what must not be there
    assert.doesNotMatch(html, /[\u0000\u0007]|\r(?!\n)/);
  });
});
