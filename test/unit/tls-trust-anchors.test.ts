import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { rootCertificates } from 'node:tls';
import forge from 'node-forge';
import { certificateNames, nameKey } from '../../src/tls/der.js';
import {
  indexTrustAnchors,
  isTrustAnchor,
  keyStrength,
  trustAnchors,
  verifyChain,
} from '../../src/tls/evaluate.js';
import { certificateFacts } from '../../src/tls/certificate.js';

/**
 * Trust anchors are indexed by a key of their subject read from the DER (der.ts nameKey), so
 * that judging a chain parses only the roots that can be its issuer instead of all ~145. The
 * key must bring together every pair of names the chain builder compares as equal, whatever
 * string type encodes them.
 */

// --- hand-made DER, for names no certificate generator writes ---

function tlv(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  const n = body.length;
  const length = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff];
  return Buffer.concat([Buffer.from([tag, ...length]), body]);
}
const CN = Buffer.from([0x55, 0x04, 0x03]);
const O = Buffer.from([0x55, 0x04, 0x0a]);
const ava = (type: Buffer, value: Buffer): Buffer => tlv(0x30, tlv(0x06, type), value);
const rdn = (...avas: Buffer[]): Buffer => tlv(0x31, ...avas);
const dn = (...rdns: Buffer[]): Buffer => tlv(0x30, ...rdns);
const printable = (s: string): Buffer => tlv(0x13, Buffer.from(s, 'latin1'));
const teletex = (s: string): Buffer => tlv(0x14, Buffer.from(s, 'latin1'));
const utf8 = (s: string): Buffer => tlv(0x0c, Buffer.from(s, 'utf8'));
const bmp = (s: string): Buffer => tlv(0x1e, Buffer.from(s, 'utf16le').swap16());
const universal = (s: string): Buffer =>
  tlv(
    0x1c,
    ...[...s].map((c) => {
      const b = Buffer.alloc(4);
      b.writeUInt32BE(c.codePointAt(0)!);
      return b;
    }),
  );
const cn = (value: Buffer): Buffer => dn(rdn(ava(O, printable('Example'))), rdn(ava(CN, value)));

describe('nameKey: one key for names that compare equal', () => {
  const same: [string, Buffer, Buffer][] = [
    [
      'PrintableString and UTF8String of the same text',
      cn(printable('Example Root CA')),
      cn(utf8('Example Root CA')),
    ],
    ['PrintableString and BMPString', cn(printable('Example Root CA')), cn(bmp('Example Root CA'))],
    ['UTF8String and UniversalString', cn(utf8('Exämple Root CA')), cn(universal('Exämple Root CA'))],
    [
      'a Latin-1 byte in a TeletexString and the same character in UTF-8',
      cn(teletex('R\xe9seau CA')),
      cn(utf8('Réseau CA')),
    ],
    ['upper and lower case', cn(utf8('EXAMPLE ROOT CA')), cn(utf8('example root ca'))],
    ['runs of spaces and spaces at the ends', cn(utf8('  Example   Root CA ')), cn(utf8('Example Root CA'))],
  ];
  for (const [name, a, b] of same) {
    it(`keys ${name} alike`, () => assert.equal(nameKey(a), nameKey(b)));
  }

  const different: [string, Buffer, Buffer][] = [
    ['different text', cn(utf8('Example Root CA')), cn(utf8('Example Root CB'))],
    ['the same value under another attribute type', dn(rdn(ava(CN, utf8('x')))), dn(rdn(ava(O, utf8('x'))))],
    [
      'one RDN of two attributes and two RDNs',
      dn(rdn(ava(O, utf8('a')), ava(CN, utf8('b')))),
      dn(rdn(ava(O, utf8('a'))), rdn(ava(CN, utf8('b')))),
    ],
    [
      'RDNs in another order',
      dn(rdn(ava(O, utf8('a'))), rdn(ava(CN, utf8('b')))),
      dn(rdn(ava(CN, utf8('b'))), rdn(ava(O, utf8('a')))),
    ],
  ];
  for (const [name, a, b] of different) {
    it(`keys ${name} apart`, () => assert.notEqual(nameKey(a), nameKey(b)));
  }

  const unkeyed: [string, Buffer][] = [
    ['a value that is no string (INTEGER)', dn(rdn(ava(CN, tlv(0x02, Buffer.from([1])))))],
    ['a UTF8String that is not UTF-8', dn(rdn(ava(CN, tlv(0x0c, Buffer.from([0x41, 0xc3])))))],
    ['a BMPString of odd length', dn(rdn(ava(CN, tlv(0x1e, Buffer.from([0, 0x41, 0])))))],
    ['bytes after the name', Buffer.concat([cn(utf8('x')), Buffer.from([0])])],
    ['a SET where an RDN should be a SET… of a SEQUENCE', dn(tlv(0x30, ava(CN, utf8('x'))))],
  ];
  for (const [name, der] of unkeyed) {
    it(`refuses to key ${name}`, () =>
      assert.throws(() => nameKey(der), /DER|string|UTF|BMP|bytes after|tag/));
  }
});

describe('certificateNames: issuer and subject found by stepping over TBSCertificate', () => {
  const issuer = cn(utf8('Issuer CA'));
  const subject = cn(printable('Subject'));
  const tbs = (version: Buffer[]): Buffer =>
    tlv(
      0x30,
      tlv(
        0x30,
        ...version,
        tlv(0x02, Buffer.from([5])),
        tlv(0x30, tlv(0x06, Buffer.from([0x2a, 0x86, 0x48]))),
        issuer,
        tlv(0x30),
        subject,
        tlv(0x30),
      ),
      tlv(0x30),
      tlv(0x03, Buffer.from([0])),
    );
  it('reads a v3 certificate (explicit version)', () => {
    const names = certificateNames(tbs([tlv(0xa0, tlv(0x02, Buffer.from([2])))]));
    assert.deepEqual([names.issuer, names.subject], [issuer, subject]);
  });
  it('reads a v1 certificate (no version field)', () => {
    const names = certificateNames(tbs([]));
    assert.deepEqual([names.issuer, names.subject], [issuer, subject]);
  });
  it('agrees with OpenSSL on every bundled root, each of which gets a key', () => {
    for (const pem of rootCertificates) {
      const cert = new X509Certificate(pem);
      const names = certificateNames(cert.raw);
      assert.equal(
        nameKey(names.subject) === nameKey(names.issuer),
        cert.subject === cert.issuer,
        cert.subject,
      );
    }
  });
});

// --- certificates made by node-forge ---

const { pki, asn1 } = forge;
const rootKeys = pki.rsa.generateKeyPair({ bits: 2048, e: 0x10001 });
const interKeys = pki.rsa.generateKeyPair({ bits: 2048, e: 0x10001 });
let serial = 0x100;

type Attrs = { name?: string; type?: string; value: string; valueTagClass?: number }[];

function certificate(o: {
  subject: Attrs;
  issuer: Attrs;
  keys: forge.pki.rsa.KeyPair;
  signer: forge.pki.rsa.PrivateKey;
}): Buffer {
  const cert = pki.createCertificate();
  cert.publicKey = o.keys.publicKey;
  cert.serialNumber = (serial++).toString(16);
  cert.validity.notBefore = new Date(Date.now() - 86_400_000);
  cert.validity.notAfter = new Date(Date.now() + 365 * 86_400_000);
  cert.setSubject(o.subject);
  cert.setIssuer(o.issuer);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
  ]);
  cert.sign(o.signer, forge.md.sha256.create());
  return Buffer.from(asn1.toDer(pki.certificateToAsn1(cert)).getBytes(), 'binary');
}

const pemOf = (der: Buffer): string =>
  `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/(.{64})/g, '$1\n')}\n-----END CERTIFICATE-----\n`;

const name = (cn: string, valueTagClass: number): Attrs => [
  { name: 'organizationName', value: 'mxdoctor tests', valueTagClass: asn1.Type.PRINTABLESTRING },
  { name: 'commonName', value: cn, valueTagClass },
];

/** A root whose subject is `rootName`, and a CA certificate it signs naming `issuerName` as issuer. */
function pair(rootName: Attrs, issuerName: Attrs): { root: Buffer; inter: Buffer } {
  const root = certificate({
    subject: rootName,
    issuer: rootName,
    keys: rootKeys,
    signer: rootKeys.privateKey,
  });
  const inter = certificate({
    subject: name('Intermediate', asn1.Type.UTF8),
    issuer: issuerName,
    keys: interKeys,
    signer: rootKeys.privateKey,
  });
  return { root, inter };
}

describe('trustAnchors: finds the issuing root without parsing the others', () => {
  const now = new Date();

  it('finds a root named in PrintableString from an issuer written in UTF8String', () => {
    const { root, inter } = pair(
      name('Example Root CA', asn1.Type.PRINTABLESTRING),
      name('Example Root CA', asn1.Type.UTF8),
    );
    const r = verifyChain([inter], trustAnchors([...rootCertificates, pemOf(root)]), now);
    assert.equal(r.trusted, true, r.error);
    assert.equal(r.anchor, 'O=mxdoctor tests, CN=Example Root CA');
  });

  it('finds a root whose subject has a BMPString', () => {
    // node-forge writes a BMPSTRING value as UCS-2 itself.
    const { root, inter } = pair(
      name('Example Root CA', asn1.Type.BMPSTRING),
      name('Example Root CA', asn1.Type.PRINTABLESTRING),
    );
    const r = verifyChain([inter], trustAnchors([...rootCertificates, pemOf(root)]), now);
    assert.equal(r.trusted, true, r.error);
  });

  it('compares names as OpenSSL does: a root is the issuer of a name that differs from its subject in case and spacing', () => {
    const { root, inter } = pair(
      name('Example Root CA', asn1.Type.UTF8),
      name('EXAMPLE  ROOT CA ', asn1.Type.UTF8),
    );
    // OpenSSL itself (X509_check_issued, under every MTA that verifies with it) takes the root as the issuer.
    assert.equal(new X509Certificate(inter).checkIssued(new X509Certificate(root)), true);
    const r = verifyChain([inter], trustAnchors([pemOf(root)]), now);
    assert.equal(r.trusted, true, r.error);
    assert.equal(r.anchor, 'O=mxdoctor tests, CN=Example Root CA');
  });

  it('still tells names apart that differ in more than case and spacing', () => {
    const { root, inter } = pair(
      name('Example Root CA', asn1.Type.UTF8),
      name('Example Root CA 2', asn1.Type.UTF8),
    );
    assert.equal(new X509Certificate(inter).checkIssued(new X509Certificate(root)), false);
    const r = verifyChain([inter], trustAnchors([pemOf(root)]), now);
    assert.deepEqual([r.trusted, r.problem], [false, 'incomplete_chain']);
  });

  it('parses only the anchors whose subject key is the issuer’s', () => {
    const { root, inter } = pair(
      name('Parse Count CA', asn1.Type.UTF8),
      name('Parse Count CA', asn1.Type.UTF8),
    );
    const anchors = trustAnchors([...rootCertificates, pemOf(root)]);
    assert.equal(verifyChain([inter], anchors, now).trusted, true);
    const parsedCount = anchors.all.filter((a) => a.cert !== undefined).length;
    assert.equal(parsedCount, 1);
  });

  it('recognises a root sent by the server, and only the roots it holds', () => {
    const { root, inter } = pair(name('Sent Root CA', asn1.Type.UTF8), name('Sent Root CA', asn1.Type.UTF8));
    const anchors = trustAnchors([...rootCertificates, pemOf(root)]);
    const r = verifyChain([inter, root], anchors, now);
    assert.deepEqual([r.trusted, r.sentRoot], [true, true]);
    for (const pem of rootCertificates)
      assert.equal(isTrustAnchor(anchors, new X509Certificate(pem).raw), true);
    assert.equal(isTrustAnchor(anchors, inter), false);
    // keyStrength skips anchors (their keys are the store's business), not other CA certificates.
    const weakKeys = pki.rsa.generateKeyPair({ bits: 1024, e: 0x10001 });
    const weakRootName = name('Weak Root CA', asn1.Type.UTF8);
    const weakRoot = certificate({
      subject: weakRootName,
      issuer: weakRootName,
      keys: weakKeys,
      signer: weakKeys.privateKey,
    });
    const chain = [certificateFacts(inter), certificateFacts(weakRoot)];
    assert.equal(keyStrength(chain, trustAnchors([pemOf(weakRoot)])).ok, true);
    assert.equal(keyStrength(chain, trustAnchors([pemOf(root)])).ok, false);
  });

  it('still uses a root whose PEM the index cannot read, by parsing it', () => {
    // BER's indefinite length on the outer SEQUENCE: OpenSSL reads it, the DER walk does not,
    // so that root is parsed up front and offered for every issuer.
    const { root, inter } = pair(name('BER Root CA', asn1.Type.UTF8), name('BER Root CA', asn1.Type.UTF8));
    const header = root[1]! & 0x80 ? 2 + (root[1]! & 0x7f) : 2;
    const ber = Buffer.concat([Buffer.from([0x30, 0x80]), root.subarray(header), Buffer.from([0, 0])]);
    const anchors = trustAnchors([...rootCertificates, pemOf(ber)]);
    assert.equal(anchors.unkeyed.length, 1);
    assert.equal(verifyChain([inter], anchors, now).trusted, true);
    assert.equal(isTrustAnchor(anchors, root), true, 'the same certificate as OpenSSL encodes it');
  });

  it('drops a PEM that OpenSSL cannot read, as before', () => {
    const { root, inter } = pair(name('Stray CA', asn1.Type.UTF8), name('Stray CA', asn1.Type.UTF8));
    // Two stray bytes after the certificate: the walk refuses it, and so does OpenSSL.
    const anchors = trustAnchors([pemOf(Buffer.concat([root, Buffer.from([0, 0])]))]);
    assert.equal(anchors.all.length, 0);
    assert.equal(verifyChain([inter], anchors, now).problem, 'incomplete_chain');
  });

  it('can be indexed a few PEMs at a time, to the same index', () => {
    const pems = [...rootCertificates];
    let steps = 1;
    while (!indexTrustAnchors(pems, 8)) steps++;
    assert.equal(steps, Math.ceil(pems.length / 8));
    const once = trustAnchors([...rootCertificates]);
    const sliced = trustAnchors(pems);
    assert.deepEqual([...sliced.bySubjectKey.keys()], [...once.bySubjectKey.keys()]);
    assert.equal(sliced.all.length, pems.length);
  });
});
