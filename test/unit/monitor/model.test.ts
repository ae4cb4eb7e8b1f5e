import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseMonitorInput, displayUrl } from '../../../src/monitor/model.js';
import type { Monitor, MonitorLimits } from '../../../src/monitor/model.js';
import { formToInput, formValuesOf, readForm } from '../../../src/web/monitors/form.js';
import { toAlertSettings, withAllRules } from '../../../src/monitor/model.js';
import { DEFAULT_ALERT_RULES } from '../../../src/monitor/alerts.js';

const LIMITS: MonitorLimits = {
  minIntervalMs: 300_000,
  retentionDays: 90,
  retentionRuns: 500,
  allowPrivate: false,
};
let n = 0;
const newId = (bytes: number) => `${'x'.repeat(bytes === 6 ? 7 : 31)}${n++ % 10}`;

describe('monitor requests', () => {
  it('fills in defaults: every rule on (persistence 2, 1 for expiry and TLSA), 90 days or 500 runs', () => {
    const r = parseMonitorInput({ domain: 'Bücher.Example', schedule: { every: '1h' } }, LIMITS, newId);
    assert.ok(r.ok);
    assert.deepEqual(r.spec.domain, {
      input: 'Bücher.Example',
      ascii: 'xn--bcher-kva.example',
      unicode: 'bücher.example',
    });
    assert.deepEqual(r.spec.retention, { days: 90, runs: 500 });
    assert.equal(r.spec.alerts.rules.cert_changed.persistence, 2);
    assert.equal(r.spec.alerts.rules.tlsa_mismatch.persistence, 1);
    assert.equal(r.spec.alerts.unknownAfter, '30m');
    assert.equal(r.spec.paused, false);
    assert.deepEqual(r.spec.destinations, []);
  });

  it('refuses webhook targets that are non-public IP literals unless private targets are allowed', () => {
    const body = {
      domain: 'example.com',
      schedule: { every: '1h' },
      destinations: [{ type: 'webhook', url: 'http://10.1.2.3/hook' }],
    };
    const strict = parseMonitorInput(body, LIMITS, newId);
    assert.equal(strict.ok, false);
    assert.match(!strict.ok ? strict.errors[0]!.message : '', /10\.1\.2\.3 is a private/);
    assert.equal(parseMonitorInput(body, { ...LIMITS, allowPrivate: true }, newId).ok, true);
    assert.equal(
      parseMonitorInput(
        { ...body, destinations: [{ type: 'webhook', url: 'https://hooks.slack.com/services/T0/B0/xyz' }] },
        LIMITS,
        newId,
      ).ok,
      true,
    );
  });

  it('PATCH: keeps what is not named, merges alert rules, keeps a webhook secret for the same URL, drops verify addresses of another domain', () => {
    const created = parseMonitorInput(
      {
        domain: 'example.com',
        schedule: { every: '1h' },
        verify: ['postmaster@example.com'],
        destinations: [{ type: 'webhook', url: 'https://hooks.example.org/a' }],
        alerts: { rules: { mx_changed: { persistence: 4 } } },
      },
      LIMITS,
      newId,
    );
    assert.ok(created.ok);
    const m: Monitor = {
      version: 1,
      id: 'AAAAAAAAAAAAAAAA',
      rev: 1,
      createdAt: '',
      updatedAt: '',
      ...created.spec,
    };
    const secret = (m.destinations[0] as { secret: string }).secret;
    const patch = parseMonitorInput(
      {
        alerts: { rules: { cert_changed: { enabled: false } } },
        destinations: [{ type: 'webhook', url: 'https://hooks.example.org/a', format: 'slack' }],
      },
      LIMITS,
      newId,
      m,
    );
    assert.ok(patch.ok);
    assert.equal(patch.spec.alerts.rules.mx_changed.persistence, 4);
    assert.equal(patch.spec.alerts.rules.cert_changed.enabled, false);
    assert.deepEqual(patch.spec.options.verify, ['postmaster@example.com']);
    assert.equal((patch.spec.destinations[0] as { secret: string; format: string }).secret, secret);
    assert.equal((patch.spec.destinations[0] as { format: string }).format, 'slack');
    const moved = parseMonitorInput({ domain: 'example.net' }, LIMITS, newId, m);
    assert.ok(moved.ok);
    assert.deepEqual(moved.spec.options.verify, [], 'addresses at the old domain do not follow');
  });

  it('masks credentials and long paths of webhook URLs for display', () => {
    assert.equal(
      displayUrl('https://user:pw@hooks.example.org/services/T000/B000/XXXXXXXXXXXX?token=abc'),
      'https://***@hooks.example.org/services/T000/B000/…?…',
    );
  });

  it('turns the web form into the same request the API takes, and back', () => {
    const defaults = { retentionDays: 90, retentionRuns: 500, rules: toAlertSettings(DEFAULT_ALERT_RULES) };
    const blank = formValuesOf(undefined, defaults);
    assert.equal(blank.every, '15m');
    assert.equal(blank.webhooks.length, 3);
    const values = readForm({
      domain: 'example.com',
      every: '30m',
      emails: 'ops@example.com, noc@example.com',
      emailMinLevel: 'warn',
      webhookUrl1: 'https://hooks.example.org/b',
      webhookFormat1: 'slack',
      rule_cert_changed: '1',
      persist_cert_changed: '3',
      labels: 'prod  team=mail',
      retentionDays: '',
    });
    const input = formToInput(values) as Record<string, unknown>;
    assert.deepEqual(input.schedule, { every: '30m' });
    assert.deepEqual(input.destinations, [
      { type: 'email', to: ['ops@example.com', 'noc@example.com'], minLevel: 'warn' },
      { type: 'webhook', url: 'https://hooks.example.org/b', format: 'slack', minLevel: 'info' },
    ]);
    assert.deepEqual((input.alerts as { rules: Record<string, unknown> }).rules.cert_changed, {
      enabled: true,
      persistence: 3,
    });
    assert.deepEqual((input.alerts as { rules: Record<string, unknown> }).rules.mx_changed, {
      enabled: false,
    });
    assert.deepEqual(input.retention, {}, 'an empty field keeps the default');
    const r = parseMonitorInput(input, LIMITS, newId);
    assert.ok(r.ok, JSON.stringify(!r.ok && r.errors));
    const m: Monitor = {
      version: 1,
      id: 'AAAAAAAAAAAAAAAA',
      rev: 1,
      createdAt: '',
      updatedAt: '',
      ...r.spec,
    };
    const again = formValuesOf(m, defaults);
    assert.equal(again.emails, 'ops@example.com\nnoc@example.com');
    assert.equal(again.webhooks[0]!.url, 'https://hooks.example.org/b');
    assert.equal(again.rules.cert_changed!.persistence, '3');
    assert.equal(again.labels, 'prod team=mail');
  });
});

describe('monitors stored before a rule existed', () => {
  it('get the new rule with its default settings, and keep their own', () => {
    const rules: Record<string, { enabled: boolean; persistence: number }> = structuredClone(
      DEFAULT_ALERT_RULES.rules,
    );
    delete rules.score_drop;
    rules.mx_changed = { enabled: false, persistence: 5 };
    const old = { alerts: { rules } } as unknown as Parameters<typeof withAllRules>[0];
    const now = withAllRules(old);
    assert.deepEqual(now.alerts.rules.score_drop, DEFAULT_ALERT_RULES.rules.score_drop);
    assert.deepEqual(now.alerts.rules.mx_changed, { enabled: false, persistence: 5 });
  });
});
