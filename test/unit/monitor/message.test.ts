import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import type { Alert } from '../../../src/monitor/alerts.js';
import {
  alertsFor,
  htmlBody,
  signWebhook,
  slackPayload,
  subjectOf,
  textBody,
  webhookPayload,
} from '../../../src/monitor/message.js';
import type { AlertBatch } from '../../../src/monitor/message.js';

const alert = (over: Partial<Alert>): Alert => ({
  key: 'm|r|cert_changed|mx1.example.com 192.0.2.1|changed',
  rule: 'cert_changed',
  subject: 'mx1.example.com 192.0.2.1',
  label: 'mx1.example.com [192.0.2.1]',
  kind: 'changed',
  level: 'info',
  title: 'Changed: mx1.example.com [192.0.2.1]',
  text: 'mx1.example.com [192.0.2.1] serves CN=mx1.example.com, issued by CN=R11, expiring 2027-02-01',
  from: 'aa',
  to: 'bb',
  at: '2026-11-28T12:00:00.000Z',
  ...over,
});

const batch = (alerts: Alert[], over: Partial<AlertBatch> = {}): AlertBatch => ({
  monitor: { id: 'AAAAAAAAAAAAAAAA', domain: 'example.com' },
  run: {
    id: 'r1',
    at: '2026-11-28T12:00:00.000Z',
    verdict: 'fail',
    counts: { pass: 1, warn: 0, fail: 1, info: 0, error: 0 },
  },
  alerts,
  changes: [
    'mx1.example.com 192.0.2.1 certificate changed: new issuer CN=R11, expires 2027-02-01 (was 2026-12-20)',
  ],
  links: {
    monitor: 'https://mx.example.org/monitors/AAAAAAAAAAAAAAAA',
    report: 'https://mx.example.org/monitors/AAAAAAAAAAAAAAAA/runs/r1',
  },
  test: false,
  ...over,
});

describe('alert messages', () => {
  const tlsa = alert({
    key: 'k2',
    rule: 'tlsa_mismatch',
    kind: 'problem',
    level: 'fail',
    title: 'Problem: DANE certificate match (mx1.example.com [192.0.2.1])',
    text: 'No TLSA record matches <the new certificate> & senders defer',
  });
  const recovered = alert({
    key: 'k3',
    rule: 'dnsbl_listed',
    kind: 'recovered',
    level: 'fail',
    title: 'Recovered: IP blocklists',
  });

  it('gives each destination the alerts at or above its level; recoveries carry the level of what cleared', () => {
    const all = [alert({}), tlsa, recovered];
    assert.deepEqual(
      alertsFor(all, 'info').map((a) => a.key),
      [all[0]!.key, 'k2', 'k3'],
    );
    assert.deepEqual(
      alertsFor(all, 'fail').map((a) => a.key),
      ['k2', 'k3'],
    );
  });

  it('names the worst news in the subject', () => {
    assert.equal(
      subjectOf(batch([alert({})])),
      '[mxdoctor] OK example.com: Changed: mx1.example.com [192.0.2.1]',
    );
    assert.equal(subjectOf(batch([alert({}), tlsa])), '[mxdoctor] FAIL example.com (1 problem, 1 change)');
    assert.equal(subjectOf(batch([recovered])), '[mxdoctor] OK example.com: Recovered: IP blocklists');
    assert.equal(
      subjectOf(batch([], { test: true, monitor: { id: 'x', name: 'Shop', domain: 'shop.example' } })),
      '[mxdoctor] Test alert for Shop (shop.example)',
    );
  });

  it('writes a plain-text body with the alerts, what changed and the links', () => {
    const text = textBody(batch([tlsa]));
    assert.match(
      text,
      /^mxdoctor monitor of example\.com\nRun of 2026-11-28 12:00:00 UTC: verdict fail\n\nPROBLEM \[fail\] Problem: DANE/,
    );
    assert.match(
      text,
      /What changed since the previous run:\n {2}- mx1\.example\.com 192\.0\.2\.1 certificate changed/,
    );
    assert.match(
      text,
      /Report: https:\/\/mx\.example\.org\/monitors\/AAAAAAAAAAAAAAAA\/runs\/r1\nMonitor: https/,
    );
  });

  it('escapes remote text in the HTML body and the Slack text', () => {
    const html = htmlBody(batch([tlsa]));
    assert.ok(html.includes('No TLSA record matches &lt;the new certificate&gt; &amp; senders defer'));
    assert.ok(!html.includes('<the new certificate>'));
    assert.match(
      html,
      /<a href="https:\/\/mx\.example\.org\/monitors\/AAAAAAAAAAAAAAAA\/runs\/r1">Open the report<\/a>/,
    );
    const slack = slackPayload(batch([tlsa])) as { text: string };
    assert.ok(slack.text.includes('&lt;the new certificate&gt; &amp; senders'));
    assert.match(
      slack.text,
      /<https:\/\/mx\.example\.org\/monitors\/AAAAAAAAAAAAAAAA\/runs\/r1\|Report> · <https:\/\/mx\.example\.org\/monitors\/AAAAAAAAAAAAAAAA\|Monitor>$/,
    );
  });

  it('builds the JSON payload and signs "t.body" with HMAC-SHA256', () => {
    const p = webhookPayload(batch([tlsa]), 'alert-xyz') as {
      type: string;
      deliveryId: string;
      alerts: { rule: string }[];
    };
    assert.equal(p.type, 'mxdoctor.alert');
    assert.equal(p.deliveryId, 'alert-xyz');
    assert.deepEqual(
      p.alerts.map((a) => a.rule),
      ['tlsa_mismatch'],
    );
    const body = JSON.stringify(p);
    const sig = signWebhook('secret-secret-secret', 1764331200, body);
    const expected = createHmac('sha256', 'secret-secret-secret').update(`1764331200.${body}`).digest('hex');
    assert.equal(sig, `t=1764331200,v1=${expected}`);
  });
});
