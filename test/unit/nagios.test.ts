import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { formatNagios } from '../../src/cli/nagios.js';
import { cert, finding, report, tls } from '../support/report-builder.js';

const now = new Date('2026-11-28T12:00:00Z');

describe('Nagios output', () => {
  it('is OK with the certificate days and zero counts as performance data', () => {
    const r = report({
      findings: [finding('mx.records', 'pass'), finding('dnssec.domain', 'error')],
      tls: [tls('mx1.example.com', '192.0.2.1', cert('aa', '2027-01-07T12:00:00.000Z'))],
    });
    const out = formatNagios(r, now);
    assert.equal(out.code, 0);
    assert.equal(
      out.line,
      'MXDOCTOR OK - example.com: 1 checks passed (1 could not be tested) | duration=1.000s;;;0 cert_days=40;21:;7: fail=0;;0;0 warn=0;0;;0 error=1;;;0',
    );
    assert.deepEqual(out.details, []);
  });

  it('is CRITICAL on a failing finding, names the worst three, and lists every problem below', () => {
    const r = report({
      findings: [
        finding('spf.record', 'warn', { title: 'SPF record', summary: 'two records' }),
        finding('tls.certificate.expiry', 'fail', {
          title: 'Certificate validity',
          summary: 'Expired on 2026-11-25 | "3 days ago"',
          subject: { host: 'mx1.example.com', address: '192.0.2.1' },
        }),
      ],
    });
    const out = formatNagios(r, now);
    assert.equal(out.code, 2);
    assert.match(
      out.line,
      /^MXDOCTOR CRITICAL - example\.com: Certificate validity \(mx1\.example\.com\): Expired on 2026-11-25 "3 days ago"; SPF record: two records \| /,
    );
    assert.deepEqual(out.details, [
      'FAIL Certificate validity (mx1.example.com 192.0.2.1): Expired on 2026-11-25 "3 days ago"',
      'WARN SPF record: two records',
    ]);
  });

  it('is UNKNOWN when the MX lookup itself failed', () => {
    const r = report({
      findings: [finding('mx.records', 'error', { summary: 'SERVFAIL from 127.0.0.1:53' })],
    });
    r.mx = { kind: 'error', hosts: [] };
    const out = formatNagios(r, now);
    assert.equal(out.code, 3);
    assert.match(out.line, /^MXDOCTOR UNKNOWN - example\.com: mx\.records: SERVFAIL/);
  });
});
