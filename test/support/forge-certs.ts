import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import forge from 'node-forge';
import type { CertFacts, TlsObservation } from '../../src/tls/model.js';

/**
 * Test PKI built with node-forge at test time: a CA, leaf certificates (valid, expired,
 * wrong name), and the CertFacts / TlsObservation the SMTP check would report for a chain,
 * so DANE and MTA-STS logic is tested on real certificates. Keys come from node:crypto
 * (fast) and are handed to forge as PEM.
 */
export interface TestCert {
  cert: forge.pki.Certificate;
  key: forge.pki.rsa.PrivateKey;
  certPem: string;
  keyPem: string;
}

function keyPair(): {
  publicKey: forge.pki.rsa.PublicKey;
  privateKey: forge.pki.rsa.PrivateKey;
  keyPem: string;
} {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyPem = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  const priv = forge.pki.privateKeyFromPem(keyPem) as forge.pki.rsa.PrivateKey;
  const pub = forge.pki.setRsaPublicKey(priv.n, priv.e);
  return { publicKey: pub, privateKey: priv, keyPem };
}

export function createCa(commonName = 'mxdoctor test CA'): TestCert {
  const { publicKey, privateKey, keyPem } = keyPair();
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  cert.serialNumber = `01${randomBytes(8).toString('hex')}`;
  cert.validity.notBefore = new Date(Date.now() - 86_400_000);
  cert.validity.notAfter = new Date(Date.now() + 10 * 365 * 86_400_000);
  const attrs = [{ name: 'commonName', value: commonName }];
  cert.setSubject(attrs);
  cert.setIssuer(attrs);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
  ]);
  cert.sign(privateKey, forge.md.sha256.create());
  return { cert, key: privateKey, certPem: forge.pki.certificateToPem(cert), keyPem };
}

export function issueLeaf(
  ca: TestCert,
  options: {
    commonName: string;
    dnsNames?: string[];
    ipAddresses?: string[];
    notBefore?: Date;
    notAfter?: Date;
  },
): TestCert {
  const { publicKey, privateKey, keyPem } = keyPair();
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  cert.serialNumber = `02${randomBytes(8).toString('hex')}`;
  cert.validity.notBefore = options.notBefore ?? new Date(Date.now() - 86_400_000);
  cert.validity.notAfter = options.notAfter ?? new Date(Date.now() + 90 * 86_400_000);
  cert.setSubject([{ name: 'commonName', value: options.commonName }]);
  cert.setIssuer(ca.cert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
    { name: 'extKeyUsage', serverAuth: true },
    {
      name: 'subjectAltName',
      altNames: [
        ...(options.dnsNames ?? [options.commonName]).map((value) => ({ type: 2, value })),
        ...(options.ipAddresses ?? []).map((ip) => ({ type: 7, ip })),
      ],
    },
  ]);
  cert.sign(ca.key, forge.md.sha256.create());
  return { cert, key: privateKey, certPem: forge.pki.certificateToPem(cert), keyPem };
}

function dn(attrs: forge.pki.CertificateField[]): string {
  return attrs.map((a) => `${a.shortName ?? a.name}=${String(a.value)}`).join(', ');
}

/** The CertFacts the SMTP check reports for a certificate. */
export function certFacts(c: TestCert): CertFacts {
  const der = Buffer.from(forge.asn1.toDer(forge.pki.certificateToAsn1(c.cert)).getBytes(), 'binary');
  const spki = Buffer.from(
    forge.asn1.toDer(forge.pki.publicKeyToAsn1(c.cert.publicKey)).getBytes(),
    'binary',
  );
  const hash = (alg: string, b: Buffer) => createHash(alg).update(b).digest('hex');
  const san = c.cert.getExtension('subjectAltName') as {
    altNames?: { type: number; value?: string; ip?: string }[];
  } | null;
  return {
    subject: dn(c.cert.subject.attributes),
    commonName: String(c.cert.subject.getField('CN')?.value ?? ''),
    sans: (san?.altNames ?? []).map((n) => (n.type === 7 ? `IP:${n.ip}` : String(n.value))),
    issuer: dn(c.cert.issuer.attributes),
    serial: c.cert.serialNumber,
    notBefore: c.cert.validity.notBefore.toISOString(),
    notAfter: c.cert.validity.notAfter.toISOString(),
    keyAlgorithm: 'rsa',
    keyBits: 2048,
    signatureAlgorithm: 'sha256WithRSAEncryption',
    selfSigned: dn(c.cert.subject.attributes) === dn(c.cert.issuer.attributes),
    isCa: Boolean((c.cert.getExtension('basicConstraints') as { cA?: boolean } | null)?.cA),
    sha256: hash('sha256', der),
    sha512: hash('sha512', der),
    spkiSha256: hash('sha256', spki),
    spkiSha512: hash('sha512', spki),
    der: der.toString('base64'),
  };
}

/** A TlsObservation as the SMTP check would report a successful STARTTLS with this chain. */
export function observation(
  host: string,
  address: string,
  chain: TestCert[],
  extra: Partial<TlsObservation> = {},
): TlsObservation {
  return {
    host,
    address,
    port: 25,
    starttls: 'offered',
    handshake: 'ok',
    protocol: 'TLSv1.3',
    cipher: 'TLS_AES_256_GCM_SHA384',
    chain: chain.map(certFacts),
    trusted: true,
    hostnameMatches: true,
    ...extra,
  };
}
