import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { diffRuns } from '../../../src/monitor/diff.js';
import { summarizeReport } from '../../../src/monitor/summary.js';
import { cert, finding, report, tls } from '../../support/report-builder.js';

const run = (id: string, r: Parameters<typeof report>[0]) => summarizeReport(report(r), id);

describe('diffRuns', () => {
  it('finds nothing between two identical runs', () => {
    const a = run('r1', { findings: [finding('mx.records', 'pass')] });
    const b = run('r2', { findings: [finding('mx.records', 'pass')] });
    const d = diffRuns(a, b);
    assert.equal(d.same, true);
  });

  it('says which MX hosts were added and removed', () => {
    const a = run('r1', {
      mx: [
        [10, 'mx1.example.com', ['192.0.2.1']],
        [20, 'mx2.example.com', ['192.0.2.2']],
      ],
    });
    const b = run('r2', {
      mx: [
        [10, 'mx1.example.com', ['192.0.2.1']],
        [30, 'mx3.example.com', ['192.0.2.3']],
      ],
    });
    const d = diffRuns(a, b);
    assert.deepEqual(
      d.facts.filter((f) => f.fact === 'mx').map((f) => f.text),
      ['MX set changed: added 30 mx3.example.com; removed 20 mx2.example.com'],
    );
  });

  it('describes a certificate change with the new issuer and expiry', () => {
    const a = run('r1', {
      tls: [tls('mx2.example.com', '192.0.2.2', cert('aa', '2026-12-20T00:00:00.000Z', 'CN=Old CA'))],
    });
    const b = run('r2', {
      tls: [
        tls(
          'mx2.example.com',
          '192.0.2.2',
          cert('bb', '2027-02-01T00:00:00.000Z', "CN=R11, O=Let's Encrypt"),
        ),
      ],
    });
    const change = diffRuns(a, b).facts.find((f) => f.fact === 'certificate')!;
    assert.equal(
      change.text,
      "mx2.example.com 192.0.2.2 certificate changed: new issuer CN=R11, O=Let's Encrypt, expires 2027-02-01 (was 2026-12-20)",
    );
  });

  it('reports STARTTLS that disappeared', () => {
    const a = run('r1', {
      tls: [tls('mx1.example.com', '192.0.2.1', cert('aa', '2027-01-01T00:00:00.000Z'))],
    });
    const b = run('r2', { tls: [tls('mx1.example.com', '192.0.2.1')] });
    const texts = diffRuns(a, b).facts.map((f) => f.text);
    assert.ok(texts.includes('mx1.example.com 192.0.2.1 no longer offers STARTTLS'));
    assert.ok(texts.includes('mx1.example.com 192.0.2.1 no longer presents a certificate'));
  });

  it('lists findings that appeared, disappeared and changed status', () => {
    const a = run('r1', {
      findings: [
        finding('mx.records', 'pass'),
        finding('mx.cname', 'warn', { subject: { host: 'mx1.example.com' } }),
        finding('spf.all', 'pass'),
      ],
    });
    const b = run('r2', {
      findings: [
        finding('mx.records', 'pass'),
        finding('spf.all', 'fail'),
        finding('dnsbl.listed', 'fail', { subject: { host: 'mx1.example.com', address: '192.0.2.1' } }),
      ],
      // As src/dnsbl/check.ts reports a listing.
      data: {
        dnsbl: {
          zones: ['zen.spamhaus.org'],
          domainZones: [],
          addresses: [
            {
              host: 'mx1.example.com',
              address: '192.0.2.1',
              results: [
                {
                  zone: 'zen.spamhaus.org',
                  list: 'Spamhaus ZEN',
                  query: '1.2.0.192.zen.spamhaus.org',
                  status: 'listed',
                  codes: ['127.0.0.2'],
                },
              ],
            },
          ],
          domain: [],
          brokenZones: {},
        },
      },
    });
    const d = diffRuns(a, b);
    assert.deepEqual(
      d.appeared.map((f) => f.id),
      ['dnsbl.listed'],
    );
    assert.deepEqual(
      d.disappeared.map((f) => f.key),
      ['mx.cname|mx1.example.com||'],
    );
    assert.deepEqual(
      d.changed.map((c) => [c.id, c.from, c.to]),
      [['spf.all', 'pass', 'fail']],
    );
    assert.ok(d.facts.some((f) => f.text === 'now listed: 192.0.2.1 on zen.spamhaus.org'));
    assert.ok(d.facts.some((f) => f.text === 'verdict warn → fail'));
  });
});
