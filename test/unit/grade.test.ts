import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AREA_WEIGHTS, findingWeight, scoreFindings, scoreOf } from '../../src/report/grade.js';
import { GROUPS } from '../../src/report/groups.js';
import type { Status } from '../../src/report/model.js';

const f = (id: string, status: Status) => ({ id, status });

describe('score (report/grade.ts)', () => {
  it('gives 100 when everything counted passes, and leaves info and error out', () => {
    const s = scoreFindings([
      f('mx.records', 'pass'),
      f('spf.record', 'pass'),
      f('dnssec.domain', 'info'),
      f('dnsbl.listed', 'error'),
      f('smtp.connect', 'error'),
    ]);
    assert.equal(s.value, 100);
    const reputation = s.areas.find((a) => a.area === 'Reputation')!;
    assert.deepEqual(reputation, { area: 'Reputation', weight: 15, score: null, counted: 0, notCounted: 1 });
  });

  it('never lowers the score for "could not test"', () => {
    const base = [f('mx.records', 'pass'), f('spf.record', 'warn'), f('dmarc.record', 'fail')];
    const withErrors = [
      ...base,
      f('smtp.connect', 'error'),
      f('smtp.starttls', 'error'),
      f('dnsbl.listed', 'error'),
    ];
    assert.equal(scoreFindings(withErrors).value, scoreFindings(base).value);
  });

  it('weighs pass 1, warn ½, fail 0 by finding importance within an area', () => {
    // Authentication only: spf.record (10) pass, dmarc.policy (10) warn, bimi.record (2) fail.
    const s = scoreFindings([f('spf.record', 'pass'), f('dmarc.policy', 'warn'), f('bimi.record', 'fail')]);
    assert.equal(findingWeight('bimi.record'), 2);
    assert.equal(findingWeight('dkim.key'), 5);
    assert.equal(s.areas.find((a) => a.area === 'Authentication')!.score, Math.round((100 * 15) / 22));
    assert.equal(s.value, Math.round((100 * 15) / 22));
  });

  it('averages one finding ID over its instances (one per MX address)', () => {
    const s = scoreFindings([
      f('smtp.starttls', 'pass'),
      f('smtp.starttls', 'pass'),
      f('smtp.starttls', 'pass'),
      f('smtp.starttls', 'fail'),
    ]);
    assert.equal(s.areas.find((a) => a.area === 'SMTP & TLS')!.score, 75);
  });

  it('combines areas by their weights and scales up when an area has nothing to count', () => {
    // MX (20) 100, Authentication (30) 0 → 40; the untested areas do not dilute it.
    const s = scoreFindings([f('mx.records', 'pass'), f('spf.record', 'fail'), f('smtp.connect', 'error')]);
    assert.equal(s.value, 40);
  });

  it('is null when nothing could be counted', () => {
    assert.equal(scoreFindings([f('dns.resolver', 'error'), f('mx.null', 'info')]).value, null);
    assert.equal(scoreFindings([]).value, null);
  });

  it('has a weight for every area of the report and weights that add up to 100', () => {
    for (const g of GROUPS) assert.ok(g.title in AREA_WEIGHTS, g.title);
    assert.equal(
      Object.values(AREA_WEIGHTS).reduce((a, b) => a + b, 0),
      100,
    );
  });

  it('scores a report stored without a score from its findings', () => {
    const checks = [f('mx.records', 'pass'), f('spf.record', 'fail')];
    assert.deepEqual(scoreOf({ checks }), scoreFindings(checks));
  });
});
