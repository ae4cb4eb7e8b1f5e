import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { freePort, startSmtpFake } from '../../support/smtp-fakes.js';
import type { SmtpFake } from '../../support/smtp-fakes.js';
import { startTestService, waitForCheck } from '../../support/service.js';
import type { TestService } from '../../support/service.js';
import { waitFor } from '../../support/monitor.js';

/**
 * Who sees whose reports (issue 13 §2): a token's checks are listed and readable only with
 * that token and the admin token; anonymous checks are listed when MXDOCTOR_REPORTS_VIEW is
 * public; addresses given to `verify` reach nobody but whoever asked — not through the JSON
 * API, the pages, the JSON download, nor the domain listings. Bounce diagnoses made with a
 * token are the token's too.
 */
const ALICE = 'alice-token-0123456789abcdef';
const BOB = 'bob-token-0123456789abcdefgh';
const ADMIN = 'admin-token-0123456789abcdef';
const SECRET = 'ceo.private.person';
const ADDRESS = `${SECRET}@good.example.com`;

const ZONES = {
  'good.example.com': { MX: ['10 mx.good.example.com'], TXT: ['v=spf1 mx -all'] },
  'mx.good.example.com': { A: ['127.0.0.83'] },
};

function headers(token?: string, cookie?: string): Record<string, string> {
  return {
    ...(token ? { authorization: `Bearer ${token}` } : {}),
    ...(cookie ? { cookie } : {}),
  };
}

async function submit(url: string, body: unknown, token?: string): Promise<string> {
  const res = await fetch(`${url}/api/v1/checks`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers(token) },
    body: JSON.stringify(body),
  });
  assert.equal(res.status, 202, await res.clone().text());
  return ((await res.json()) as { id: string }).id;
}

async function get(url: string, path: string, token?: string, cookie?: string) {
  const res = await fetch(`${url}${path}`, { headers: headers(token, cookie) });
  return { status: res.status, text: await res.text() };
}

/** The ids a reader finds in the domain's listing; `owner` readers may see their own addresses. */
async function listed(url: string, token?: string, cookie?: string, owner = false): Promise<string[]> {
  const r = await get(url, '/api/v1/domains/good.example.com/checks', token, cookie);
  assert.equal(r.status, 200);
  if (!owner) assert.ok(!r.text.includes(SECRET), 'no verified address in someone else’s listing');
  return (JSON.parse(r.text) as { checks: { id: string }[] }).checks.map((c) => c.id);
}

/** A browser: the form's CSRF cookie and token, then the form post; returns its cookies and the check id. */
async function submitForm(
  url: string,
  fields: Record<string, string>,
): Promise<{ cookie: string; id: string }> {
  const form = await fetch(`${url}/`);
  const csrfCookie = (form.headers.get('set-cookie') ?? '').split(';')[0]!;
  const token = /name="_csrf" value="([^"]+)"/.exec(await form.text())?.[1] ?? '';
  const res = await fetch(`${url}/checks`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: csrfCookie },
    body: new URLSearchParams({ _csrf: token, ...fields }).toString(),
  });
  assert.equal(res.status, 303);
  const owner = res.headers
    .getSetCookie()
    .map((c) => c.split(';')[0]!)
    .find((c) => c.startsWith('mxdoctor_owner='));
  assert.ok(owner, 'the browser gets an owner cookie');
  assert.match(
    res.headers.getSetCookie().find((c) => c.startsWith('mxdoctor_owner=')) ?? '',
    /HttpOnly.*SameSite=Lax/i,
  );
  return { cookie: `${csrfCookie}; ${owner}`, id: (res.headers.get('location') ?? '').split('/').pop()! };
}

describe('reports belong to whoever asked', () => {
  let t: TestService;
  let mx: SmtpFake;
  before(async () => {
    const port = await freePort();
    mx = await startSmtpFake({
      host: '127.0.0.83',
      port,
      name: 'mx.good.example.com',
      users: ['sales'],
      domains: ['good.example.com'],
    });
    t = await startTestService({
      zones: ZONES,
      env: {
        MXDOCTOR_SMTP_PORT: String(port),
        MXDOCTOR_SMTP_LEGACY_TLS: 'false',
        MXDOCTOR_API_TOKENS: `alice:${ALICE},bob:${BOB}`,
        MXDOCTOR_ADMIN_TOKEN: ADMIN,
        MXDOCTOR_DEDUPE_WINDOW: '60s',
      },
    });
  });
  after(async () => {
    await t?.stop();
    await mx?.stop();
  });

  it('a token’s check is listed and readable only with that token and the admin token', async () => {
    const id = await submit(t.url, { domain: 'good.example.com', verify: [ADDRESS] }, ALICE);
    const done = await waitFor(async () => {
      const r = await get(t.url, `/api/v1/checks/${id}`, ALICE);
      return r.status === 200 && (JSON.parse(r.text) as { status: string }).status === 'completed' && r.text;
    }, 'the check');
    assert.match(
      done,
      new RegExp(`${SECRET}@good\\.example\\.com is undeliverable`),
      'the owner sees it all',
    );

    for (const [who, token] of [
      ['anonymous', undefined],
      ['another token', BOB],
    ] as const) {
      assert.ok(!(await listed(t.url, token)).includes(id), `not listed for ${who}`);
      for (const path of [
        `/api/v1/checks/${id}`,
        `/checks/${id}`,
        `/checks/${id}/report.json`,
        `/checks/${id}/events`,
      ]) {
        assert.equal((await get(t.url, path, token)).status, 404, `${path} for ${who}`);
      }
      const page = await get(t.url, '/domains/good.example.com', token);
      assert.ok(!page.text.includes(id), `not on the domain page for ${who}`);
    }
    assert.ok((await listed(t.url, ALICE, undefined, true)).includes(id));
    assert.ok((await listed(t.url, ADMIN, undefined, true)).includes(id), 'the admin token lists it');
    assert.match((await get(t.url, `/api/v1/checks/${id}`, ADMIN)).text, new RegExp(SECRET));

    // The same request without the token is a check of its own, not the token's.
    const again = await submit(t.url, { domain: 'good.example.com', verify: [ADDRESS] });
    assert.notEqual(again, id);
    await waitForCheck(t.url, again);
  });

  it('a browser’s verified addresses are hidden from everyone else, on every page and in the API', async () => {
    const { cookie, id } = await submitForm(t.url, { domain: 'good.example.com', verify: ADDRESS });
    await waitForCheck(t.url, id);
    // Public by default: listed, and readable by anyone with the link, with the address hidden.
    assert.ok((await listed(t.url)).includes(id));
    for (const path of [`/api/v1/checks/${id}`, `/checks/${id}`, `/checks/${id}/report.json`]) {
      const other = await get(t.url, path);
      assert.equal(other.status, 200, path);
      assert.ok(!other.text.includes(SECRET), `${path}: no address for another reader`);
      assert.match(other.text, /\[hidden\]@good\.example\.com/, path);
      const own = await get(t.url, path, undefined, cookie);
      assert.match(own.text, new RegExp(SECRET), `${path}: the browser that asked sees it`);
    }
    const domainPage = await get(t.url, '/domains/good.example.com');
    assert.ok(domainPage.text.includes(id) && !domainPage.text.includes(SECRET));
    // The stored report itself is untouched: its owner downloads the exact bytes.
    const own = JSON.parse((await get(t.url, `/checks/${id}/report.json`, undefined, cookie)).text) as {
      options: { verify: string[] };
    };
    assert.deepEqual(own.options.verify, [ADDRESS]);
  });

  it('an anonymous API check that verified addresses is never listed; its link shows it', async () => {
    const id = await submit(t.url, { domain: 'good.example.com', verify: [`sales@good.example.com`] });
    const plain = await submit(t.url, { domain: 'good.example.com', dkimSelectors: ['s1'] });
    await waitForCheck(t.url, id);
    await waitForCheck(t.url, plain);
    const ids = await listed(t.url);
    assert.ok(!ids.includes(id), 'not listed');
    assert.ok(ids.includes(plain), 'a check without addresses is');
    assert.match((await get(t.url, `/api/v1/checks/${id}`)).text, /sales@good\.example\.com/);
  });

  it('a token’s bounce diagnosis is the token’s', async () => {
    const res = await fetch(`${t.url}/api/v1/bounces`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', ...headers(ALICE) },
      body: `From: MAILER-DAEMON@mx.example.net\nTo: a@good.example.com\nSubject: Undelivered Mail\n\n<${ADDRESS}>: 550 5.1.1 User unknown\n`,
    });
    assert.equal(res.status, 202);
    const { id } = (await res.json()) as { id: string };
    assert.equal((await get(t.url, `/api/v1/bounces/${id}`, ALICE)).status, 200);
    assert.equal((await get(t.url, `/api/v1/bounces/${id}`, ADMIN)).status, 200);
    for (const path of [`/api/v1/bounces/${id}`, `/bounces/${id}`, `/bounces/${id}/diagnosis.json`]) {
      assert.equal((await get(t.url, path)).status, 404, path);
      assert.equal((await get(t.url, path, BOB)).status, 404, path);
    }
  });
});

describe('MXDOCTOR_REPORTS_VIEW=private', () => {
  let t: TestService;
  before(async () => {
    t = await startTestService({
      zones: ZONES,
      env: { MXDOCTOR_REPORTS_VIEW: 'private', MXDOCTOR_ADMIN_TOKEN: ADMIN },
    });
  });
  after(async () => t?.stop());

  it('lists anonymous reports to nobody but the admin; their link still opens them', async () => {
    const id = await submit(t.url, { domain: 'good.example.com', options: { smtp: false } });
    await waitForCheck(t.url, id);
    assert.deepEqual(await listed(t.url), []);
    assert.ok(!(await get(t.url, '/domains/good.example.com')).text.includes(id));
    assert.deepEqual(await listed(t.url, ADMIN), [id]);
    assert.equal((await get(t.url, `/api/v1/checks/${id}`)).status, 200);
  });
});
