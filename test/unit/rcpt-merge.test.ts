import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mergeRecipientReprobe } from '../../src/report/rcpt-merge.js';
import { finding, report } from '../support/report-builder.js';

describe('mergeRecipientReprobe', () => {
  const base = () =>
    report({
      findings: [
        finding('smtp.starttls', 'pass'),
        finding('rcpt.verify', 'pass', { subject: { name: 'alice@example.com' }, check: 'smtp' }),
        finding('rcpt.verify', 'error', { subject: { name: 'bob@example.com' }, check: 'smtp' }),
        finding('rcpt.catch_all', 'error', { check: 'smtp' }),
        finding('spf.record', 'pass'),
      ],
      data: {
        smtp: {
          tls: [],
          sessions: [],
          recipients: [
            { address: 'alice@example.com', verdict: 'deliverable', reason: 'accepted' },
            { address: 'bob@example.com', verdict: 'greylisted', reason: 'greylisted' },
          ],
          catchAll: { state: 'unknown', probes: ['x1'] },
        },
      },
    });

  it('replaces only the findings of the addresses asked again, and the catch-all when it is known now', () => {
    const merged = mergeRecipientReprobe(base(), {
      findings: [
        finding('rcpt.verify', 'fail', { subject: { name: 'bob@example.com' }, check: 'smtp' }),
        finding('rcpt.catch_all', 'pass', { check: 'smtp' }),
        finding('smtp.greylisting', 'info', { check: 'smtp' }),
      ],
      verdicts: [{ address: 'bob@example.com', verdict: 'undeliverable' }],
      catchAll: { state: 'no' },
      checkedAt: '2026-11-28T12:10:00.000Z',
    });
    assert.deepEqual(
      merged.checks.map((f) => `${f.id}:${f.status}${f.subject?.name ? `:${f.subject.name}` : ''}`),
      [
        'smtp.starttls:pass',
        'rcpt.verify:pass:alice@example.com',
        'rcpt.verify:fail:bob@example.com',
        'rcpt.catch_all:pass',
        'spf.record:pass',
      ],
    );
    assert.equal(merged.verdict, 'fail');
    assert.equal(merged.complete, true);
    assert.deepEqual(merged.counts, { pass: 4, fail: 1, warn: 0, info: 0, error: 0 });
  });

  it('keeps the old catch-all finding when the re-probe could not tell', () => {
    const merged = mergeRecipientReprobe(base(), {
      findings: [finding('rcpt.verify', 'error', { subject: { name: 'bob@example.com' }, check: 'smtp' })],
      verdicts: [{ address: 'bob@example.com', verdict: 'greylisted' }],
      catchAll: { state: 'unknown' },
      checkedAt: '2026-11-28T12:10:00.000Z',
    });
    assert.equal(merged.checks.filter((f) => f.id === 'rcpt.catch_all').length, 1);
    assert.equal(merged.checks.length, 5);
  });
});
