import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startFixtureDns } from '../../support/dns-server.js';
import type { FixtureDns } from '../../support/dns-server.js';
import { SERVICE_ZONES } from '../../fixtures/zones/service.js';
import { startTestService } from '../../support/service.js';
import type { TestService } from '../../support/service.js';
import { ADMIN_TOKEN, api, waitFor, waitForRuns } from '../../support/monitor.js';

/**
 * The monitor pages without a browser: sign-in with the admin token (a session cookie),
 * CSRF on every form, creating and editing through the form with errors next to the fields,
 * the monitor page (history, changes, actions), a run's report, and remote text printed as
 * text. Monitors are private here (the default).
 */
const SOA = ['ns1.example.net hostmaster.example.net 2026112801 3600 600 1209600 300'];
const HOSTILE_SPF = 'v=spf1 include:<script>alert(1)</script> -all';

/** A browser-ish client: keeps cookies, follows nothing, reads CSRF tokens from pages. */
class Client {
  cookies = new Map<string, string>();
  constructor(private readonly base: string) {}
  private header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
  private keep(res: Response): void {
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const i = pair!.indexOf('=');
      this.cookies.set(pair!.slice(0, i), pair!.slice(i + 1));
    }
  }
  async get(path: string): Promise<{ status: number; html: string; res: Response }> {
    const res = await fetch(`${this.base}${path}`, {
      redirect: 'manual',
      headers: { cookie: this.header() },
    });
    this.keep(res);
    return { status: res.status, html: await res.text(), res };
  }
  async post(path: string, fields: Record<string, string>, csrfFrom?: string): Promise<Response> {
    const token = csrfFrom ? (/name="_csrf" value="([^"]+)"/.exec(csrfFrom)?.[1] ?? '') : '';
    const res = await fetch(`${this.base}${path}`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: this.header() },
      body: new URLSearchParams({ ...(token ? { _csrf: token } : {}), ...fields }).toString(),
    });
    this.keep(res);
    return res;
  }
}

describe('monitor pages', { timeout: 120_000 }, () => {
  let dns: FixtureDns;
  let t: TestService;
  before(async () => {
    dns = await startFixtureDns({
      zones: {
        ...SERVICE_ZONES,
        'hostile.example.com': { MX: ['10 mx.hostile.example.com'], SOA, TXT: ['v=spf1 -all'] },
        'mx.hostile.example.com': { A: ['127.0.0.33'] },
      },
    });
    t = await startTestService({
      dns,
      env: {
        MXDOCTOR_ADMIN_TOKEN: ADMIN_TOKEN,
        MXDOCTOR_DNSBLS: 'bl.example.test',
        MXDOCTOR_DOMAIN_BLOCKLISTS: '-',
      },
    });
  });
  after(async () => {
    await t?.stop();
    await dns?.stop();
  });

  it('asks for the admin token before showing private monitors, and signs in with it', async () => {
    const c = new Client(t.url);
    const list = await c.get('/monitors');
    assert.equal(list.status, 401);
    assert.match(list.html, /Monitors on this server are private/);
    assert.match(list.html, /<label for="token">Admin token<\/label>/);
    const wrong = await c.post('/monitors/signin', { token: 'not-the-token', next: '/monitors' }, list.html);
    assert.equal(wrong.status, 401);
    assert.match(await wrong.text(), /That is not the admin token/);
    const noCsrf = await c.post('/monitors/signin', { token: ADMIN_TOKEN });
    assert.equal(noCsrf.status, 403);
    const ok = await c.post('/monitors/signin', { token: ADMIN_TOKEN, next: '/monitors' }, list.html);
    assert.equal(ok.status, 303);
    assert.equal(ok.headers.get('location'), '/monitors');
    assert.match(
      ok.headers.get('set-cookie') ?? '',
      /mxdoctor_admin=\d+\.[A-Za-z0-9_-]+; Max-Age=43200; .*HttpOnly; SameSite=Strict/,
    );
    const after = await c.get('/monitors');
    assert.equal(after.status, 200);
    assert.match(after.html, /<a class="button primary-link" href="\/monitors\/new">New monitor<\/a>/);
    // A forged session cookie is not a session.
    const forged = new Client(t.url);
    forged.cookies.set('mxdoctor_admin', `${Date.now() + 3_600_000}.${'A'.repeat(43)}`);
    assert.equal((await forged.get('/monitors')).status, 401);
    // An open redirect through "next" is not possible.
    const evil = await c.post(
      '/monitors/signin',
      { token: ADMIN_TOKEN, next: 'https://evil.example/' },
      list.html,
    );
    assert.equal(evil.headers.get('location'), '/monitors');
  });

  it('creates a monitor with the form (errors next to the fields), shows its history, runs it and edits it', async () => {
    const c = new Client(t.url);
    const signin = await c.get('/monitors/signin');
    await c.post('/monitors/signin', { token: ADMIN_TOKEN }, signin.html);
    const form = await c.get('/monitors/new');
    assert.equal(form.status, 200);
    assert.match(form.html, /<option value="15m" selected>15m<\/option>/);
    assert.ok(!/<option value="1m"/.test(form.html), 'no choice below the minimum interval');

    const bad = await c.post(
      '/monitors',
      {
        domain: 'hostile.example.com',
        every: '15m',
        cron: '* * * * *',
        emails: 'not-an-address',
        smtpOff: '1',
      },
      form.html,
    );
    assert.equal(bad.status, 400);
    const badHtml = await bad.text();
    assert.match(badHtml, /<title>Error: New monitor · mxdoctor<\/title>/);
    assert.match(
      badHtml,
      /<a href="#cron">schedule\.cron &quot;\* \* \* \* \*&quot; runs as often as every 1m/,
    );
    assert.match(badHtml, /<a href="#emails">&quot;not-an-address&quot; is not an email address/);
    assert.match(badHtml, /value="hostile\.example\.com"/, 'what was typed is kept');

    const created = await c.post(
      '/monitors',
      {
        domain: 'hostile.example.com',
        name: 'Hostile',
        every: '1h',
        smtpOff: '1',
        labels: 'prod team=mail',
        webhookUrl0: 'http://127.0.0.1:9/hook',
        webhookFormat0: 'slack',
        rule_finding_fail: '1',
        persist_finding_fail: '2',
        rule_mx_changed: '1',
        persist_mx_changed: '1',
        recovered: '1',
        unknownAfter: '30m',
        expiryWarnDays: '21',
        expiryFailDays: '7',
        retentionDays: '30',
        retentionRuns: '100',
      },
      form.html,
    );
    assert.equal(created.status, 303, await created.clone().text());
    const location = created.headers.get('location')!;
    const id = /^\/monitors\/([A-Za-z0-9_-]{16})$/.exec(location)![1]!;
    const m = (
      await api<{
        alerts: { rules: Record<string, { enabled: boolean; persistence: number }> };
        retention: unknown;
        labels: string[];
      }>(t.url, 'GET', `/api/v1/monitors/${id}`)
    ).body;
    assert.deepEqual(m.labels, ['prod', 'team=mail']);
    assert.deepEqual(m.retention, { days: 30, runs: 100 });
    assert.equal(m.alerts.rules.mx_changed!.persistence, 1);
    assert.equal(m.alerts.rules.cert_changed!.enabled, false, 'unchecked rules are off');

    // The first run, then the SPF record changes to something with markup in it.
    await waitForRuns(t.url, id, 1);
    dns.set('hostile.example.com', { MX: ['10 mx.hostile.example.com'], SOA, TXT: [HOSTILE_SPF] });
    let page = await c.get(location);
    const run = await c.post(`${location}/run`, {}, page.html);
    assert.equal(run.status, 303);
    assert.equal(run.headers.get('location'), `${location}?notice=run`);
    await waitForRuns(t.url, id, 2);
    page = await c.get(location);
    assert.equal(page.status, 200);
    assert.match(page.html, /<h1>Monitor of Hostile<\/h1>/);
    assert.match(page.html, /2 runs kept; 30 days or 100 runs/);
    assert.match(page.html, /change[s]? since the run before/);
    assert.ok(
      page.html.includes(
        'SPF record changed: &quot;v=spf1 -all&quot; → &quot;v=spf1 include:&lt;script&gt;alert(1)&lt;/script&gt; -all&quot;',
      ),
    );
    assert.ok(!page.html.includes('<script>alert(1)'), 'remote text is printed as text');
    assert.match(page.html, /Slack webhook http:\/\/127\.0\.0\.1:9\/hook/);
    assert.match(page.html, /Send a test alert/);

    // The run's report page, with its diff.
    const runId = /href="\/monitors\/[^/]+\/runs\/([A-Za-z0-9_-]{22})"/.exec(page.html)![1]!;
    const report = await c.get(`/monitors/${id}/runs/${runId}`);
    assert.equal(report.status, 200);
    assert.match(report.html, /What changed since the previous run/);
    assert.match(report.html, /Mail check of hostile\.example\.com/);
    assert.ok(!report.html.includes('<script>alert(1)'));
    assert.ok(!/\/checks\/[A-Za-z0-9_-]+\/rerun/.test(report.html), 'no check actions on a monitor run');
    const json = await fetch(`${t.url}/monitors/${id}/runs/${runId}/report.json`, {
      headers: { cookie: `mxdoctor_admin=${c.cookies.get('mxdoctor_admin')}` },
    });
    assert.equal(json.status, 200);
    assert.match(
      json.headers.get('content-disposition') ?? '',
      /attachment; filename="mxdoctor-hostile\.example\.com-/,
    );
    const compare = await c.get(`/monitors/${id}/diff`);
    assert.equal(compare.status, 200);
    assert.match(compare.html, /SPF record changed/);

    // Edit: the form shows what is stored and keeps the webhook's secret.
    const before = (await api<{ destinations: { secret: string }[] }>(t.url, 'GET', `/api/v1/monitors/${id}`))
      .body;
    const edit = await c.get(`/monitors/${id}/edit`);
    assert.match(
      edit.html,
      /name="webhookUrl0" type="url" autocomplete="off" spellcheck="false" value="http:\/\/127\.0\.0\.1:9\/hook"/,
    );
    const saved = await c.post(
      `/monitors/${id}`,
      {
        domain: 'hostile.example.com',
        every: '2h',
        smtpOff: '1',
        webhookUrl0: 'http://127.0.0.1:9/hook',
        webhookFormat0: 'slack',
        recovered: '1',
        unknownAfter: '30m',
        expiryWarnDays: '21',
        expiryFailDays: '7',
        retentionDays: '30',
        retentionRuns: '100',
      },
      edit.html,
    );
    assert.equal(saved.status, 303);
    const afterEdit = (
      await api<{ destinations: { secret: string }[]; schedule: unknown; name?: string }>(
        t.url,
        'GET',
        `/api/v1/monitors/${id}`,
      )
    ).body;
    assert.deepEqual(afterEdit.schedule, { every: '2h' });
    assert.equal(afterEdit.destinations[0]!.secret, before.destinations[0]!.secret);
    assert.equal(afterEdit.name, undefined, 'the name was cleared');

    // Pause, resume, delete.
    page = await c.get(location);
    assert.equal(
      (await c.post(`${location}/pause`, {}, page.html)).headers.get('location'),
      `${location}?notice=paused`,
    );
    page = await c.get(`${location}?notice=paused`);
    assert.match(page.html, /The monitor is paused/);
    assert.match(page.html, /<button type="submit">Resume<\/button>/);
    await c.post(`${location}/resume`, {}, page.html);
    page = await c.get(location);
    const del = await c.post(`${location}/delete`, {}, page.html);
    assert.equal(del.headers.get('location'), '/monitors');
    assert.equal((await c.get(location)).status, 404);
  });

  it('refuses changes without the admin session, even with a valid form token', async () => {
    const admin = new Client(t.url);
    const s = await admin.get('/monitors/signin');
    await admin.post('/monitors/signin', { token: ADMIN_TOKEN }, s.html);
    const r = await api<{ id: string }>(t.url, 'POST', '/api/v1/monitors', {
      domain: 'shop.example.com',
      options: { smtp: false },
      schedule: { every: '1h' },
    });
    const anonymous = new Client(t.url);
    const form = await anonymous.get('/monitors/signin');
    const res = await anonymous.post(`/monitors/${r.body.id}/delete`, {}, form.html);
    assert.equal(res.status, 401);
    assert.equal((await api(t.url, 'GET', `/api/v1/monitors/${r.body.id}`)).status, 200, 'still there');
    await waitFor(
      async () =>
        (await api<{ runCount: number }>(t.url, 'GET', `/api/v1/monitors/${r.body.id}`)).body.runCount >= 1,
      'first run',
    );
  });
});
