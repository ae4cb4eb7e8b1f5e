import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import { matchTlsa, tlsaUnusable } from '../../src/dane/match.js';
import type { TlsaRecord } from '../../src/dns/types.js';
import { certFacts, createCa, issueLeaf, observation } from '../support/forge-certs.js';

const ca = createCa();
const leaf = issueLeaf(ca, { commonName: 'mx.example.com' });
const other = issueLeaf(ca, { commonName: 'mx.example.com' });
const L = certFacts(leaf);
const C = certFacts(ca);
const spkiDer = new X509Certificate(Buffer.from(L.der, 'base64')).publicKey.export({
  type: 'spki',
  format: 'der',
});

const tlsa = (usage: number, selector: number, matchingType: number, data: string): TlsaRecord => ({
  type: 'TLSA',
  name: '_25._tcp.mx.example.com',
  ttl: 300,
  usage,
  selector,
  matchingType,
  data,
});

describe('DANE TLSA matching (RFC 7671/7672)', () => {
  const obs = observation('mx.example.com', '192.0.2.25', [leaf, ca]);
  const cases: { name: string; records: TlsaRecord[]; outcome: string }[] = [
    {
      name: 'DANE-EE SPKI SHA-256 (3 1 1) of the leaf',
      records: [tlsa(3, 1, 1, L.spkiSha256)],
      outcome: 'match',
    },
    {
      name: 'DANE-EE full certificate SHA-256 (3 0 1)',
      records: [tlsa(3, 0, 1, L.sha256)],
      outcome: 'match',
    },
    { name: 'DANE-EE SPKI SHA-512 (3 1 2)', records: [tlsa(3, 1, 2, L.spkiSha512)], outcome: 'match' },
    {
      name: 'DANE-EE exact certificate (3 0 0)',
      records: [tlsa(3, 0, 0, Buffer.from(L.der, 'base64').toString('hex'))],
      outcome: 'match',
    },
    {
      name: 'DANE-EE exact SPKI (3 1 0)',
      records: [tlsa(3, 1, 0, spkiDer.toString('hex'))],
      outcome: 'match',
    },
    {
      name: 'DANE-TA of the issuing CA in the chain (2 1 1)',
      records: [tlsa(2, 1, 1, C.spkiSha256)],
      outcome: 'match',
    },
    {
      name: 'a stale 3 1 1 for a replaced key',
      records: [tlsa(3, 1, 1, certFacts(other).spkiSha256)],
      outcome: 'mismatch',
    },
    {
      name: 'DANE-EE with the CA digest (wrong usage)',
      records: [tlsa(3, 1, 1, C.spkiSha256)],
      outcome: 'mismatch',
    },
    {
      name: 'old + new key during a rollover',
      records: [tlsa(3, 1, 1, certFacts(other).spkiSha256), tlsa(3, 1, 1, L.spkiSha256)],
      outcome: 'match',
    },
    {
      name: 'only PKIX usages (1 1 1), unusable for SMTP',
      records: [tlsa(1, 1, 1, L.spkiSha256)],
      outcome: 'no_usable_records',
    },
  ];
  for (const c of cases) {
    it(`${c.name} → ${c.outcome}`, () => {
      assert.equal(matchTlsa(c.records, obs).outcome, c.outcome);
    });
  }

  it('DANE-TA does not match a chain whose issuer has the right name but not the key that signed the leaf', () => {
    // The CA re-keyed under the same name; the server's chain file still holds the old CA.
    const rekeyed = createCa();
    const newLeaf = issueLeaf(rekeyed, { commonName: 'mx.example.com' });
    assert.equal(certFacts(newLeaf).issuer, C.subject, 'the leaf names the old CA as its issuer');
    const stale = observation('mx.example.com', '192.0.2.25', [newLeaf, ca]);
    const v = matchTlsa([tlsa(2, 1, 1, C.spkiSha256)], stale);
    assert.equal(v.outcome, 'mismatch');
    assert.match(v.reason, /certificate 0 \(.*\) is not signed by certificate 1/);
    // The chain the new CA really signed matches a record of the new CA.
    const fresh = observation('mx.example.com', '192.0.2.25', [newLeaf, rekeyed]);
    assert.equal(matchTlsa([tlsa(2, 1, 1, certFacts(rekeyed).spkiSha256)], fresh).outcome, 'match');
  });

  it('DANE-TA does not match when the server sends only its leaf', () => {
    const v = matchTlsa([tlsa(2, 1, 1, C.spkiSha256)], observation('mx.example.com', '192.0.2.25', [leaf]));
    assert.equal(v.outcome, 'mismatch');
    assert.match(v.reason, /sends only its leaf/);
  });

  it('DANE-TA requires the leaf to be valid for the MX name; DANE-EE does not', () => {
    const wrongName = observation('mx.example.com', '192.0.2.25', [leaf, ca], {
      hostnameMatches: false,
      trusted: false,
    });
    assert.equal(matchTlsa([tlsa(2, 1, 1, C.spkiSha256)], wrongName).outcome, 'mismatch');
    assert.equal(matchTlsa([tlsa(3, 1, 1, L.spkiSha256)], wrongName).outcome, 'match');
  });

  it('DANE-EE ignores expiry (RFC 7671 §5.1)', () => {
    const expired = issueLeaf(ca, {
      commonName: 'mx.example.com',
      notBefore: new Date(2020, 0, 1),
      notAfter: new Date(2021, 0, 1),
    });
    const o = observation('mx.example.com', '192.0.2.25', [expired, ca], { trusted: false });
    assert.equal(matchTlsa([tlsa(3, 1, 1, certFacts(expired).spkiSha256)], o).outcome, 'match');
  });

  it('reports no STARTTLS and failed handshakes as no_tls', () => {
    const none = observation('mx.example.com', '192.0.2.25', [], {
      starttls: 'not_offered',
      handshake: 'not_attempted',
    });
    assert.equal(matchTlsa([tlsa(3, 1, 1, L.spkiSha256)], none).outcome, 'no_tls');
    const failed = observation('mx.example.com', '192.0.2.25', [], {
      handshake: 'failed',
      error: 'handshake failure',
    });
    assert.match(matchTlsa([tlsa(3, 1, 1, L.spkiSha256)], failed).reason, /handshake failure/);
  });

  it('flags unusable records with the reason', () => {
    assert.match(tlsaUnusable(tlsa(0, 0, 1, L.sha256))!, /PKIX-TA/);
    assert.match(tlsaUnusable(tlsa(3, 1, 1, 'abcd'))!, /2 bytes instead of 32/);
    assert.match(tlsaUnusable(tlsa(3, 2, 1, L.sha256))!, /selector 2/);
    assert.match(tlsaUnusable(tlsa(3, 1, 3, L.sha256))!, /matching type 3/);
    assert.equal(tlsaUnusable(tlsa(3, 1, 1, createHash('sha256').update('x').digest('hex'))), undefined);
  });
});
