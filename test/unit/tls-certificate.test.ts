import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { certificateFacts } from '../../src/tls/certificate.js';
import {
  dnsNameMatches,
  expiryOf,
  hostnameMatches,
  keyStrength,
  signatureStrength,
  trustAnchors,
  verifyChain,
} from '../../src/tls/evaluate.js';
import { ROOT } from '../support/cli.js';
import { DAYS, createTestPki } from '../support/test-ca.js';

const der = (file: string): Buffer =>
  new X509Certificate(readFileSync(join(ROOT, 'test', 'fixtures', 'certs', file))).raw;

/** Expected values come from `openssl x509` on the same files (an independent parser). */
describe('certificateFacts (node-forge ASN.1, all key types)', () => {
  it('reads an ECDSA P-384 certificate with a wildcard and an IP SAN, as Let’s Encrypt-style ECDSA certs are', () => {
    const f = certificateFacts(der('ec-p384-wildcard.pem'));
    assert.equal(f.subject, 'O=Fixture,CN=*.mail.example.test');
    assert.equal(f.commonName, '*.mail.example.test');
    assert.deepEqual(f.sans, ['*.mail.example.test', 'mail.example.test', 'IP:192.0.2.25']);
    assert.equal(f.keyAlgorithm, 'ec');
    assert.equal(f.keyBits, 384);
    assert.equal(f.curve, 'P-384');
    assert.equal(f.signatureAlgorithm, 'ecdsa-with-SHA256');
    assert.equal(f.serial, '640933926fef43ad13544c9ac502a40fac30a869');
    assert.equal(f.notAfter, '2036-11-25T21:05:32.000Z');
    assert.equal(f.sha256, 'b098f2dbd48305b07fe7efeb7262e6a716dfc558f46f602de74acede1e69243e');
    assert.equal(f.spkiSha256, '28d610c798f01270ff71da16535ba7da8274bdfce292b83fa02ce72ee5063e45');
    assert.equal(f.selfSigned, true);
    assert.equal(f.isCa, true, 'openssl req -x509 marks it CA:TRUE');
    assert.equal(Buffer.from(f.der, 'base64').length, der('ec-p384-wildcard.pem').length);
  });

  it('reads an Ed25519 certificate', () => {
    const f = certificateFacts(der('ed25519.pem'));
    assert.equal(f.keyAlgorithm, 'ed25519');
    assert.equal(f.signatureAlgorithm, 'Ed25519');
    assert.equal(f.spkiSha256, '2df33565f2993abcd68b55b34645c6cfef49933de9e0492d41bcdf6ec74a9080');
    assert.deepEqual(f.sans, []);
  });

  it('reads an old RSA 1024-bit SHA-1 certificate and judges both weaknesses', () => {
    const f = certificateFacts(der('rsa1024-sha1.pem'));
    assert.equal(f.keyAlgorithm, 'rsa');
    assert.equal(f.keyBits, 1024);
    assert.equal(f.signatureAlgorithm, 'sha1WithRSAEncryption');
    assert.equal(f.spkiSha256, '39413a1dc955ac144934625d5381803421a491da70e3b61e67c97e61ec43578c');
    assert.deepEqual(
      keyStrength([f]).weak.map((w) => w.reason),
      ['RSA 1024-bit key'],
    );
    assert.equal(signatureStrength([f]).ok, false);
  });

  it('refuses bytes that are not a certificate', () => {
    assert.throws(() => certificateFacts(Buffer.from('not a certificate')), /DER|certificate/);
  });
});

describe('RFC 6125 host name matching', () => {
  const cases: [string, string, boolean][] = [
    ['mx.example.com', 'mx.example.com', true],
    ['MX.Example.COM.', 'mx.example.com', true],
    ['*.example.com', 'mx.example.com', true],
    ['*.example.com', 'a.mx.example.com', false], // one label only
    ['*.example.com', 'example.com', false],
    ['m*.example.com', 'mx.example.com', false], // no partial-label wildcards
    ['mx.*.example.com', 'mx.a.example.com', false], // left-most label only
    ['*.com', 'example.com', false], // never directly under a TLD
    ['*.example.com', 'xn--bcher-kva.example.com', false], // not for IDN A-labels
    ['mx.example.com', 'mx.example.org', false],
  ];
  for (const [presented, reference, expected] of cases) {
    it(`${presented} ${expected ? 'matches' : 'does not match'} ${reference}`, () => {
      assert.equal(dnsNameMatches(presented, reference), expected);
    });
  }
  it('ignores the CN when DNS SANs exist, and falls back to it when there are none', () => {
    const withSan = certificateFacts(der('ec-p384-wildcard.pem'));
    assert.equal(
      hostnameMatches({ ...withSan, commonName: 'other.test' }, 'mx.mail.example.test').via,
      'san',
    );
    const noSan = certificateFacts(der('ed25519.pem'));
    const r = hostnameMatches(noSan, 'mx.ed.example.test');
    assert.deepEqual([r.matches, r.via], [true, 'cn']);
  });
});

describe('chain trust and validity', () => {
  const pki = createTestPki('unit');
  const anchors = trustAnchors([pki.root.certPem]);
  const toDer = (pem: string): Buffer => new X509Certificate(pem).raw;

  it('trusts leaf + intermediate up to the root in the store', () => {
    const leaf = pki.leaf({ names: ['mx.example.test'] });
    const r = verifyChain([toDer(leaf.certPem), toDer(pki.intermediate.certPem)], anchors, new Date());
    assert.equal(r.trusted, true);
    assert.equal(r.path.length, 3);
  });
  it('calls a chain without its intermediate incomplete', () => {
    const leaf = pki.leaf({ names: ['mx.example.test'] });
    const r = verifyChain([toDer(leaf.certPem)], anchors, new Date());
    assert.deepEqual([r.trusted, r.problem], [false, 'incomplete_chain']);
  });
  it('calls a self-signed leaf self-signed, and an unknown root untrusted', () => {
    const self = pki.leaf({ names: ['mx.example.test'], selfSigned: true });
    assert.equal(verifyChain([toDer(self.certPem)], anchors, new Date()).problem, 'self_signed');
    const leaf = pki.leaf({ names: ['mx.example.test'] });
    const chain = [toDer(leaf.certPem), toDer(pki.intermediate.certPem), toDer(pki.root.certPem)];
    assert.equal(verifyChain(chain, trustAnchors([]), new Date()).problem, 'untrusted_root');
    assert.equal(verifyChain(chain, anchors, new Date()).sentRoot, true);
  });
  it('judges expiry at 21 and 7 days', () => {
    const at = (days: number) =>
      expiryOf(
        certificateFacts(toDer(pki.leaf({ names: ['x.test'], notAfter: DAYS(days) }).certPem)),
        new Date(),
      );
    assert.equal(at(60).state, 'valid');
    assert.equal(at(15).state, 'expires_soon');
    assert.equal(at(3).state, 'expires_very_soon');
    assert.equal(at(-1).state, 'expired');
  });
});
