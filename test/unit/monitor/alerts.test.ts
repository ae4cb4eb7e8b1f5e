import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_ALERT_RULES, evaluateAlerts, observe } from '../../../src/monitor/alerts.js';
import type { Alert, AlertState } from '../../../src/monitor/alerts.js';
import { summarizeReport } from '../../../src/monitor/summary.js';
import type { Finding } from '../../../src/report/model.js';
import type { TlsObservation } from '../../../src/tls/model.js';
import { cert, finding, report, tls } from '../../support/report-builder.js';

/** Plays a sequence of runs through the alert engine, five minutes apart. */
function play(
  runs: { findings?: Finding[]; tls?: TlsObservation[]; minutes?: number }[],
  start = Date.parse('2026-11-28T12:00:00Z'),
) {
  let state: AlertState = {};
  const perRun: Alert[][] = [];
  runs.forEach((r, i) => {
    const now = new Date(start + (r.minutes ?? i * 5) * 60_000);
    const summary = summarizeReport(
      report({ findings: r.findings ?? [finding('mx.records', 'pass')], ...(r.tls ? { tls: r.tls } : {}) }),
      `r${i}`,
    );
    const out = evaluateAlerts('m1', `r${i}`, state, observe(summary, now), now);
    state = out.state;
    perRun.push(out.alerts);
  });
  return perRun;
}

const kinds = (alerts: Alert[]) => alerts.map((a) => `${a.rule}:${a.kind}`);

describe('alert engine', () => {
  const ok = [
    finding('smtp.starttls', 'pass', { subject: { host: 'mx1.example.com', address: '192.0.2.1' } }),
  ];
  const bad = [
    finding('smtp.starttls', 'fail', { subject: { host: 'mx1.example.com', address: '192.0.2.1' } }),
  ];

  it('does not alert on a failure seen once (flapping), alerts once when it persists, then once on recovery', () => {
    const alerts = play([
      { findings: ok },
      { findings: bad },
      { findings: ok },
      { findings: bad },
      { findings: bad },
      { findings: bad },
      { findings: ok },
      { findings: ok },
    ]);
    assert.deepEqual(alerts.map(kinds), [
      [],
      [],
      [],
      [],
      ['finding_fail:problem', 'verdict_worse:problem', 'score_drop:problem'],
      [],
      [],
      ['finding_fail:recovered', 'verdict_worse:recovered', 'score_drop:recovered'],
    ]);
  });

  it('never treats "could not test" as a regression, but alerts once when it lasts past 30 minutes', () => {
    const err = [
      finding('smtp.connect', 'error', { subject: { host: 'mx1.example.com', address: '192.0.2.1' } }),
    ];
    const okc = [
      finding('smtp.connect', 'pass', { subject: { host: 'mx1.example.com', address: '192.0.2.1' } }),
    ];
    const alerts = play([
      { findings: okc, minutes: 0 },
      { findings: err, minutes: 5 },
      { findings: err, minutes: 20 },
      { findings: err, minutes: 34 },
      { findings: err, minutes: 36 },
      { findings: err, minutes: 60 },
      { findings: okc, minutes: 65 },
    ]);
    assert.deepEqual(alerts.map(kinds), [
      [],
      [],
      [],
      [],
      ['finding_fail:unknown'],
      [],
      ['finding_fail:recovered'],
    ]);
    assert.match(alerts[4]![0]!.text, /could not be tested for 31 minutes/);
  });

  it('warns once at 21 days and once at 7 days before a certificate expires, and notes the renewal', () => {
    const expiry = '2026-12-31T12:00:00.000Z';
    const at = (daysBefore: number) =>
      (Date.parse(expiry) - Date.parse('2026-11-28T12:00:00Z')) / 60_000 - daysBefore * 1440;
    const c = [tls('mx1.example.com', '192.0.2.1', cert('aa', expiry))];
    const renewed = [tls('mx1.example.com', '192.0.2.1', cert('bb', '2027-03-31T12:00:00.000Z'))];
    const alerts = play([
      { tls: c, minutes: at(30) },
      { tls: c, minutes: at(21) },
      { tls: c, minutes: at(20) },
      { tls: c, minutes: at(10) },
      { tls: c, minutes: at(7) },
      { tls: c, minutes: at(6) },
      { tls: renewed, minutes: at(5) },
      { tls: renewed, minutes: at(4) },
    ]);
    assert.deepEqual(alerts.map(kinds), [
      [],
      ['cert_expiry:problem'],
      [],
      [],
      ['cert_expiry:problem'],
      [],
      ['cert_expiry:recovered'],
      ['cert_changed:changed'],
    ]);
    assert.equal(alerts[1]![0]!.level, 'warn');
    assert.equal(alerts[4]![0]!.level, 'fail');
    assert.match(alerts[1]![0]!.text, /expires on 2026-12-31, in 21 days/);
  });

  it('says at once when a new certificate is not covered by TLSA (rollover trap)', () => {
    const tlsa = (status: 'pass' | 'fail') =>
      finding('dane.match', status, {
        subject: { host: 'mx1.example.com', address: '192.0.2.1' },
        summary: status === 'fail' ? 'No TLSA record matches the certificate' : 'TLSA matches',
      });
    const alerts = play([
      {
        findings: [tlsa('pass')],
        tls: [tls('mx1.example.com', '192.0.2.1', cert('aa', '2027-06-01T00:00:00.000Z'))],
      },
      {
        findings: [tlsa('fail')],
        tls: [tls('mx1.example.com', '192.0.2.1', cert('bb', '2027-09-01T00:00:00.000Z'))],
      },
      {
        findings: [tlsa('fail')],
        tls: [tls('mx1.example.com', '192.0.2.1', cert('bb', '2027-09-01T00:00:00.000Z'))],
      },
    ]);
    assert.deepEqual(kinds(alerts[1]!), ['tlsa_mismatch:problem']);
    assert.ok(kinds(alerts[2]!).includes('cert_changed:changed'));
    assert.ok(kinds(alerts[2]!).includes('finding_fail:problem'));
    assert.ok(!kinds(alerts[2]!).includes('tlsa_mismatch:problem'), 'not repeated');
  });

  it('alerts on a blocklist listing already present at the first run, but not on pre-existing failures', () => {
    const alerts = play([
      {
        findings: [
          finding('dnsbl.listed', 'fail', { subject: { address: '192.0.2.1', name: 'zen.spamhaus.org' } }),
          finding('spf.all', 'fail'),
        ],
      },
    ]);
    assert.deepEqual(kinds(alerts[0]!), ['dnsbl_listed:problem']);
  });

  it('makes every alert key unique per state change', () => {
    const alerts = play([
      { findings: ok },
      { findings: bad },
      { findings: bad },
      { findings: ok },
      { findings: ok },
      { findings: bad },
      { findings: bad },
    ]).flat();
    const keys = alerts.map((a) => a.key);
    assert.equal(new Set(keys).size, keys.length);
  });

  it('can disable a rule', () => {
    const rules = structuredClone(DEFAULT_ALERT_RULES);
    rules.rules.verdict_worse.enabled = false;
    const summary = summarizeReport(report({ findings: bad }), 'r');
    assert.ok(!observe(summary, new Date(), rules).some((o) => o.rule === 'verdict_worse'));
  });
});

describe('alert engine: what is news', () => {
  const at = (host: string, address: string) => ({ subject: { host, address } });

  it('never alerts on something that was never testable (a resolver that does not validate DNSSEC)', () => {
    const alerts = play(
      Array.from({ length: 20 }, (_, i) => ({
        findings: [finding('dnssec.domain', 'error'), finding('mx.records', 'pass')],
        minutes: i * 15,
      })),
    );
    assert.deepEqual(alerts.flat(), []);
  });

  it('counts a TLSA mismatch under insecure DNS as a warning, and says when it is fixed with the level of the problem', () => {
    const m = (status: 'pass' | 'warn') => finding('dane.match', status, at('mx1.example.com', '192.0.2.1'));
    const alerts = play([
      { findings: [m('pass')] },
      { findings: [m('warn')] },
      { findings: [m('pass')] },
      { findings: [m('pass')] },
    ]);
    // Persistence 1 both ways: the trap is reported at once, and so is its fix.
    assert.deepEqual(alerts.map(kinds), [[], ['tlsa_mismatch:problem'], ['tlsa_mismatch:recovered'], []]);
    assert.equal(alerts[1]![0]!.level, 'warn');
    assert.equal(alerts[2]![0]!.level, 'warn', 'a "warn only" destination hears about the recovery too');
  });

  it('calls an improvement that is not yet good a change, not a recovery', () => {
    const v = (status: 'pass' | 'warn' | 'fail') => finding('spf.record', status);
    const alerts = play([
      { findings: [v('pass')] },
      { findings: [v('fail')] },
      { findings: [v('fail')] },
      { findings: [v('warn')] },
      { findings: [v('warn')] },
    ]);
    const verdict = alerts.map((a) =>
      a.filter((x) => x.rule === 'verdict_worse').map((x) => `${x.kind}:${x.to}`),
    );
    assert.deepEqual(verdict, [[], [], ['problem:fail'], [], ['changed:warn']]);
  });

  it('reports a newly listed domain (domain blocklists) once', () => {
    const listed = finding('dnsbl.domain', 'fail', { subject: { name: 'example.com.dbl.example.net' } });
    const alerts = play([
      { findings: [finding('dnsbl.domain', 'pass')] },
      { findings: [listed] },
      { findings: [listed] },
      { findings: [listed] },
    ]);
    assert.deepEqual(alerts.map(kinds), [
      [],
      [],
      ['finding_fail:problem', 'dnsbl_listed:problem', 'verdict_worse:problem', 'score_drop:problem'],
      [],
    ]);
  });
});

describe('alert engine: the score', () => {
  const starttls = (status: 'pass' | 'warn' | 'fail', host: string) =>
    finding('smtp.starttls', status, {
      subject: { host, address: host === 'mx1' ? '192.0.2.1' : '192.0.2.2' },
    });
  // Two MX addresses: one failing costs half of smtp.starttls (score 50), both failing 0.
  const score100 = [starttls('pass', 'mx1'), starttls('pass', 'mx2')];
  const score75 = [starttls('pass', 'mx1'), starttls('warn', 'mx2')];
  const score50 = [starttls('pass', 'mx1'), starttls('fail', 'mx2')];
  const score0 = [starttls('fail', 'mx1'), starttls('fail', 'mx2')];
  const scoreAlerts = (alerts: Alert[][]) => alerts.map((a) => a.filter((x) => x.rule === 'score_drop'));

  it('alerts on a drop of 10 points or more once it persists, with both scores, and again at a further drop', () => {
    const alerts = scoreAlerts(
      play([
        { findings: score100 },
        { findings: score75 },
        { findings: score75 },
        { findings: score0 },
        { findings: score0 },
      ]),
    );
    assert.deepEqual(
      alerts.map((a) => a.map((x) => x.kind)),
      [[], [], ['problem'], [], ['problem']],
    );
    assert.equal(alerts[2]![0]!.text, 'The score dropped from 100 to 75/100.');
    assert.equal(alerts[2]![0]!.level, 'warn');
    assert.deepEqual([alerts[4]![0]!.from, alerts[4]![0]!.to], ['75', '0']);
  });

  it('says when the score recovers, and ignores a rise that follows no drop', () => {
    const alerts = scoreAlerts(
      play([
        { findings: score50 },
        { findings: score100 },
        { findings: score100 },
        { findings: score50 },
        { findings: score50 },
        { findings: score100 },
        { findings: score100 },
      ]),
    );
    assert.deepEqual(
      alerts.map((a) => a.map((x) => x.kind)),
      [[], [], [], [], ['problem'], [], ['recovered']],
    );
  });

  it('does not alert on a change smaller than 10 points, nor on a score that cannot be computed', () => {
    const small = [
      starttls('pass', 'mx1'),
      starttls('pass', 'mx2'),
      finding('smtp.extensions', 'warn', { subject: { host: 'mx1', address: '192.0.2.1' } }),
    ];
    const untestable = [finding('smtp.starttls', 'error')];
    const alerts = scoreAlerts(
      play([
        { findings: score100 },
        { findings: small },
        { findings: small },
        ...Array.from({ length: 10 }, () => ({ findings: untestable })),
      ]),
    );
    assert.deepEqual(alerts.flat(), []);
  });
});
