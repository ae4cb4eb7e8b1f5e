import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { evaluateRollover } from '../../src/dane/rollover.js';
import type { RolloverHost, TlsaLike } from '../../src/dane/rollover.js';
import { certFacts, createCa, issueLeaf, observation } from '../support/forge-certs.js';

const ca = createCa();
const current = issueLeaf(ca, { commonName: 'mx.example.com' });
const next = issueLeaf(ca, { commonName: 'mx.example.com' });
const second = issueLeaf(ca, { commonName: 'mx.example.com' });
const C = certFacts(current);
const N = certFacts(next);
const A = certFacts(ca);
const rec = (usage: number, selector: number, matchingType: number, data: string): TlsaLike => ({
  usage,
  selector,
  matchingType,
  data,
});
const host = (records: TlsaLike[], dnssec: RolloverHost['dnssec'] = 'secure'): RolloverHost => ({
  host: 'mx.example.com',
  tlsaName: '_25._tcp.mx.example.com',
  dnssec,
  records,
});
const served = [observation('mx.example.com', '192.0.2.25', [current, ca])];

describe('DANE rollover scheme (RFC 7671 §8)', () => {
  const cases: { name: string; records: TlsaLike[]; obs?: typeof served; status: string | undefined }[] = [
    { name: 'one "3 1 1" for the current key', records: [rec(3, 1, 1, C.spkiSha256)], status: 'warn' },
    { name: 'one "2 1 1" for the CA', records: [rec(2, 1, 1, A.spkiSha256)], status: 'warn' },
    {
      name: '"3 1 1" current + "3 1 1" next',
      records: [rec(3, 1, 1, C.spkiSha256), rec(3, 1, 1, N.spkiSha256)],
      status: 'pass',
    },
    {
      name: '"3 1 1" + "2 1 1"',
      records: [rec(3, 1, 1, C.spkiSha256), rec(2, 1, 1, A.spkiSha256)],
      status: 'pass',
    },
    {
      name: 'two records that both describe the current certificate ("3 1 1" and "3 0 1")',
      records: [rec(3, 1, 1, C.spkiSha256), rec(3, 0, 1, C.sha256)],
      status: 'warn',
    },
    {
      name: 'two servers, each with its own key and record, and no spare',
      records: [rec(3, 1, 1, C.spkiSha256), rec(3, 1, 1, certFacts(second).spkiSha256)],
      obs: [
        observation('mx.example.com', '192.0.2.25', [current, ca]),
        observation('mx.example.com', '192.0.2.26', [second, ca]),
      ],
      status: 'warn',
    },
    {
      name: 'two records, served key unknown',
      records: [rec(3, 1, 1, C.spkiSha256), rec(3, 1, 1, N.spkiSha256)],
      obs: [],
      status: 'info',
    },
    {
      name: 'unusable records only ("1 1 1")',
      records: [rec(1, 1, 1, C.spkiSha256)],
      status: undefined,
    },
  ];
  for (const c of cases) {
    it(`${c.name}: ${c.status ?? 'no finding'}`, () => {
      const findings = evaluateRollover(host(c.records), c.obs ?? served);
      assert.equal(findings[0]?.status, c.status);
      if (c.status === 'warn') assert.match(findings[0]!.remedy ?? '', /RFC 7671 §8/);
    });
  }

  it('says nothing when the records are not DNSSEC-secure (DANE is not in effect)', () => {
    assert.deepEqual(evaluateRollover(host([rec(3, 1, 1, C.spkiSha256)], 'insecure'), served), []);
  });
});
