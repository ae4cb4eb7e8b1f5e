import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createHash } from 'node:crypto';
import { startFixtureDns } from '../../support/dns-server.js';
import type { FixtureDns, Zones } from '../../support/dns-server.js';
import { startTestService } from '../../support/service.js';
import type { TestService } from '../../support/service.js';
import { freePort, startSmtpFake } from '../../support/smtp-fakes.js';
import type { SmtpFake } from '../../support/smtp-fakes.js';
import { DAYS, createTestPki } from '../../support/test-ca.js';
import {
  ADMIN_TOKEN,
  WebhookReceiver,
  alertsOf,
  api,
  runNow,
  startMailRelay,
  waitFor,
  waitForRuns,
} from '../../support/monitor.js';

/**
 * Alerts end to end, through the real service (web + worker, Redis, BullMQ) against MX
 * fakes on 127.0.0.x, a fixture resolver that validates (AD) for the DANE case, a webhook
 * receiver and a mail relay on loopback, and a clock the test moves for certificate expiry.
 *
 * Runs are triggered with "run now" (the schedules are hourly), so the test decides what
 * each run sees: a renewed certificate, a server that flaps, time passing.
 */
const SOA = ['ns.example.net hostmaster.example.net 1 3600 600 86400 300'];
const HOSTS = { dane: '127.0.0.41', flap: '127.0.0.42', expiry: '127.0.0.43' };

describe('monitor alerts', { timeout: 180_000 }, () => {
  const pki = createTestPki('mxdoctor monitor test');
  const leafFor = (name: string, days: number) => {
    const l = pki.leaf({ names: [name], notAfter: DAYS(days) });
    return { key: l.keyPem, cert: l.chainPem, certPem: l.certPem };
  };
  const first = leafFor('mx.dane.test', 80);
  const renewed = leafFor('mx.dane.test', 120);
  const sha256OfCert = (pem: string) =>
    createHash('sha256').update(new X509Certificate(pem).raw).digest('hex');

  let dns: FixtureDns;
  let t: TestService;
  let fakes: SmtpFake[] = [];
  let hook: WebhookReceiver;
  let relay: Awaited<ReturnType<typeof startMailRelay>>;
  let clockOffsetMs = 0;
  const now = () => new Date(Date.now() + clockOffsetMs);

  before(async () => {
    const port = await freePort();
    const zones: Zones = {
      '': { SOA: ['a.root-servers.net nstld.verisign-grs.com 1 1800 900 604800 86400'] },
      'dane.test': { MX: ['10 mx.dane.test'], SOA, TXT: ['v=spf1 mx -all'] },
      'mx.dane.test': { A: [HOSTS.dane] },
      // DANE-EE, full certificate: pins the very certificate (renewing it breaks the match).
      // The TLSA name carries the SMTP port probed (RFC 7672 §2.2: _25._tcp in the world).
      [`_${port}._tcp.mx.dane.test`]: { TLSA: [`3 0 1 ${sha256OfCert(first.certPem)}`] },
      'flap.test': { MX: ['10 mx.flap.test'], SOA },
      'mx.flap.test': { A: [HOSTS.flap] },
      'expiry.test': { MX: ['10 mx.expiry.test'], SOA },
      'mx.expiry.test': { A: [HOSTS.expiry] },
    };
    dns = await startFixtureDns({ zones, ad: true });
    const smtp = (host: string, name: string, tls: { key: string; cert: string }) =>
      startSmtpFake({ host, port, name, tls, domains: [name.replace(/^mx\./, '')] });
    fakes = [
      await smtp(HOSTS.dane, 'mx.dane.test', first),
      await smtp(HOSTS.flap, 'mx.flap.test', leafFor('mx.flap.test', 80)),
      await smtp(HOSTS.expiry, 'mx.expiry.test', leafFor('mx.expiry.test', 30)),
    ];
    hook = await new WebhookReceiver().start();
    relay = await startMailRelay(
      (() => {
        const l = pki.leaf({ names: ['127.0.0.1', 'localhost'] });
        return { key: l.keyPem, cert: l.chainPem };
      })(),
    );
    t = await startTestService({
      dns,
      now,
      env: {
        MXDOCTOR_SMTP_PORT: String(port),
        MXDOCTOR_CA_FILE: pki.rootFile,
        MXDOCTOR_EHLO_NAME: 'probe.mxdoctor.test',
        MXDOCTOR_MAIL_FROM: 'probe@mxdoctor.test',
        MXDOCTOR_ADMIN_TOKEN: ADMIN_TOKEN,
        // Every run sees the server as it is now (no shared connection cache).
        MXDOCTOR_SMTP_CACHE_TTL: '0',
        MXDOCTOR_SMTP_LEGACY_TLS: 'false',
        MXDOCTOR_SMTP_RATE_PER_IP: 'off',
        MXDOCTOR_DNSBLS: 'bl.example.test',
        MXDOCTOR_DOMAIN_BLOCKLISTS: '-',
        MXDOCTOR_ALERT_BACKOFF: '100ms',
        MXDOCTOR_ALERT_ATTEMPTS: '4',
        MXDOCTOR_ALERT_SMTP_URL: relay.url,
        MXDOCTOR_ALERT_FROM: 'alerts@mxdoctor.test',
        MXDOCTOR_PUBLIC_URL: 'https://mxdoctor.example.org',
        MXDOCTOR_WORKER_CONCURRENCY: '4',
      },
    });
  });
  after(async () => {
    await t?.stop();
    await Promise.all(fakes.map((f) => f.stop()));
    await hook?.stop();
    await relay?.stop();
    await dns?.stop();
    for (const f of fakes) f.assertNoMessageSent();
  });

  const create = async (body: Record<string, unknown>) => {
    const r = await api<{ id: string; destinations: { id: string; type: string; secret?: string }[] }>(
      t.url,
      'POST',
      '/api/v1/monitors',
      { schedule: { every: '1h' }, ...body },
    );
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body;
  };
  const count = (alerts: { rule: string; kind: string }[], rule: string, kind?: string) =>
    alerts.filter((a) => a.rule === rule && (!kind || a.kind === kind)).length;

  it('a renewed certificate: "TLSA no longer matches" at once, "certificate changed" exactly once, delivered by webhook (retried on 500, signed) and by email with the diff', async () => {
    // The receiver fails twice before it accepts: deliveries are retried with backoff.
    hook.respond = (n) => (n < 2 ? 500 : 200);
    const m = await create({
      domain: 'dane.test',
      destinations: [
        { type: 'webhook', url: hook.url },
        { type: 'email', to: ['ops@dane.test'] },
      ],
    });
    hook.secret = m.destinations.find((d) => d.type === 'webhook')!.secret!;
    const [baseline] = await waitForRuns(t.url, m.id, 1);
    assert.equal(baseline!.trigger, 'initial');
    assert.deepEqual(await alertsOf(t.url, m.id), [], 'a good baseline raises nothing');

    fakes[0]!.setTls(renewed);
    const second = await runNow(t.url, m.id);
    let alerts = await alertsOf(t.url, m.id);
    assert.equal(
      count(alerts, 'tlsa_mismatch', 'problem'),
      1,
      'the rollover trap is reported the moment it appears',
    );
    assert.equal(
      count(alerts, 'cert_changed'),
      0,
      'a changed certificate waits for the second run (flapping protection)',
    );
    assert.ok(
      second.changes!.texts.some((x) => /mx\.dane\.test 127\.0\.0\.41 certificate changed: expires/.test(x)),
    );

    await runNow(t.url, m.id);
    await runNow(t.url, m.id);
    alerts = await alertsOf(t.url, m.id);
    assert.equal(count(alerts, 'cert_changed', 'changed'), 1, 'exactly one "certificate changed"');
    assert.equal(count(alerts, 'tlsa_mismatch'), 1, 'and the mismatch is not repeated');
    const tlsa = alerts.find((a) => a.rule === 'tlsa_mismatch')!;
    assert.equal(tlsa.level, 'fail');
    assert.match(tlsa.text, /DNSSEC-secure/);

    // Webhook: the second run's alert went out once, after two 500s; every attempt signed.
    const delivered = await waitFor(
      async () => hook.received.filter((h) => h.status === 200).length >= 2 && hook.received,
      'webhook deliveries',
    );
    const firstAlertAttempts = delivered.filter((h) =>
      (h.json.alerts as { rule: string }[]).some((a) => a.rule === 'tlsa_mismatch'),
    );
    assert.deepEqual(
      firstAlertAttempts.map((h) => h.status),
      [500, 500, 200],
      'retried after 500 until accepted',
    );
    assert.ok(
      delivered.every((h) => h.signatureValid),
      'every request carries a valid HMAC-SHA256 signature',
    );
    assert.equal(
      new Set(firstAlertAttempts.map((h) => h.headers['x-mxdoctor-delivery'])).size,
      1,
      'one delivery id',
    );
    const payload = firstAlertAttempts[2]!.json as {
      type: string;
      monitor: { domain: string };
      links: { report: string };
      changes: string[];
    };
    assert.equal(payload.type, 'mxdoctor.alert');
    assert.equal(payload.monitor.domain, 'dane.test');
    assert.match(
      payload.links.report,
      new RegExp(`^https://mxdoctor\\.example\\.org/monitors/${m.id}/runs/`),
    );
    assert.ok(payload.changes.some((c) => /certificate changed/.test(c)));

    // Email: received by the relay, with the diff in the plain-text and HTML bodies.
    const mail = await waitFor(async () => relay.mails.find((x) => /TLSA|DANE/i.test(x.raw)), 'alert email');
    assert.deepEqual(mail.to, ['ops@dane.test']);
    assert.equal(mail.from, 'alerts@mxdoctor.test');
    assert.match(mail.raw, /^Subject: \[mxdoctor\] FAIL dane\.test/m);
    const text = mail.raw.replace(/=\r?\n/g, '');
    assert.match(text, /What changed since the previous run:/);
    assert.match(text, /mx\.dane\.test 127\.0\.0\.41 certificate changed: expires/);
    assert.match(text, /Content-Type: text\/html/);
    assert.match(text, /https:\/\/mxdoctor\.example\.org\/monitors\//);

    // The monitor's page lists the deliveries, including the failed attempts.
    const detail = await api<{ deliveries: { status: string; type: string }[] }>(
      t.url,
      'GET',
      `/api/v1/monitors/${m.id}`,
    );
    assert.ok(detail.body.deliveries.some((d) => d.type === 'webhook' && d.status === 'retrying'));
    assert.ok(detail.body.deliveries.some((d) => d.type === 'webhook' && d.status === 'sent'));
  });

  it('a flapping server does not alert until the change persists', async () => {
    const m = await create({ domain: 'flap.test', options: { smtp: true } });
    await waitForRuns(t.url, m.id, 1);
    const flap = fakes[1]!;
    for (const offer of [false, true, false, true]) {
      flap.setStartTls(offer);
      await runNow(t.url, m.id);
    }
    assert.deepEqual(await alertsOf(t.url, m.id), [], 'STARTTLS coming and going every other run: no alert');
    flap.setStartTls(false);
    await runNow(t.url, m.id);
    assert.deepEqual(await alertsOf(t.url, m.id), [], 'seen once: still no alert');
    await runNow(t.url, m.id);
    const alerts = await alertsOf(t.url, m.id);
    assert.ok(count(alerts, 'finding_fail', 'problem') >= 1, 'the second run in a row alerts');
    assert.equal(count(alerts, 'cert_changed', 'changed'), 1);
    assert.ok(
      alerts.some((a) => /STARTTLS/.test(a.title)),
      alerts.map((a) => a.title).join(' | '),
    );
    await runNow(t.url, m.id);
    assert.equal((await alertsOf(t.url, m.id)).length, alerts.length, 'and once only');
    flap.setStartTls(true);
  });

  it('warns once 21 days before a certificate expires and once at 7 days (controllable clock)', async () => {
    const m = await create({ domain: 'expiry.test' });
    await waitForRuns(t.url, m.id, 1);
    const day = 86_400_000;
    try {
      clockOffsetMs = 2 * day;
      await runNow(t.url, m.id);
      assert.equal(count(await alertsOf(t.url, m.id), 'cert_expiry'), 0, '28 days left: nothing yet');
      clockOffsetMs = 9 * day + 3600_000; // just under 21 days left
      await runNow(t.url, m.id);
      clockOffsetMs = 12 * day;
      await runNow(t.url, m.id);
      let alerts = await alertsOf(t.url, m.id);
      assert.equal(count(alerts, 'cert_expiry', 'problem'), 1, 'one warning');
      assert.equal(alerts.find((a) => a.rule === 'cert_expiry')!.level, 'warn');
      assert.match(alerts.find((a) => a.rule === 'cert_expiry')!.text, /expires on .*, in 20 days/);
      clockOffsetMs = 23 * day + 3600_000; // just under 7 days left
      await runNow(t.url, m.id);
      clockOffsetMs = 24 * day;
      await runNow(t.url, m.id);
      alerts = await alertsOf(t.url, m.id);
      const expiry = alerts.filter((a) => a.rule === 'cert_expiry');
      assert.deepEqual(
        expiry.map((a) => a.level),
        ['fail', 'warn'],
        'then one failure (newest first), and nothing more',
      );
    } finally {
      clockOffsetMs = 0;
    }
  });
});
