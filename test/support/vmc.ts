import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import forge from 'node-forge';
import type { TestCert } from './forge-certs.js';

/**
 * BIMI mark certificates for tests, built with node-forge at test time: a VMC-like leaf with
 * the BIMI extended key usage (1.3.6.1.5.5.7.3.31), the domain in subjectAltName and an RFC
 * 3709 logotype extension embedding an SVG as a gzip'ed, base64 data: URL — issued by a
 * throw-away "mark issuer" CA.
 */
const { asn1 } = forge;

export const BIMI_EKU = '1.3.6.1.5.5.7.3.31';
const LOGOTYPE_OID = '1.3.6.1.5.5.7.1.12';
const SHA256_OID = '2.16.840.1.101.3.4.2.1';

/** LogotypeExtn with a subjectLogo holding one image: mediaType, SHA-256 hash, data: URL. */
export function logotypeExtension(svg: string): string {
  const gz = gzipSync(Buffer.from(svg));
  const uri = `data:image/svg+xml;base64,${gz.toString('base64')}`;
  const hash = createHash('sha256').update(gz).digest('binary');
  const seq = (...v: forge.asn1.Asn1[]) => asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, v);
  const ia5 = (s: string) => asn1.create(asn1.Class.UNIVERSAL, asn1.Type.IA5STRING, false, s);
  const details = seq(
    ia5('image/svg+xml'),
    seq(
      seq(
        seq(asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OID, false, asn1.oidToDer(SHA256_OID).getBytes())),
        asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OCTETSTRING, false, hash),
      ),
    ),
    seq(ia5(uri)),
  );
  // LogotypeData (image SEQUENCE OF LogotypeImage) as direct [0] IMPLICIT, inside subjectLogo [2] EXPLICIT.
  const data = asn1.create(asn1.Class.CONTEXT_SPECIFIC, 0, true, [seq(seq(details))]);
  const info = asn1.create(asn1.Class.CONTEXT_SPECIFIC, 2, true, [data]);
  return asn1.toDer(seq(info)).getBytes();
}

function keys() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyPem = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  const priv = forge.pki.privateKeyFromPem(keyPem) as forge.pki.rsa.PrivateKey;
  return { priv, pub: forge.pki.setRsaPublicKey(priv.n, priv.e), keyPem };
}

export interface VmcOptions {
  names: string[];
  svg?: string;
  eku?: boolean;
  notBefore?: Date;
  notAfter?: Date;
}

export function issueVmc(issuer: TestCert, o: VmcOptions): TestCert {
  const k = keys();
  const cert = forge.pki.createCertificate();
  cert.publicKey = k.pub;
  cert.serialNumber = `03${randomBytes(8).toString('hex')}`;
  cert.validity.notBefore = o.notBefore ?? new Date(Date.now() - 86_400_000);
  cert.validity.notAfter = o.notAfter ?? new Date(Date.now() + 365 * 86_400_000);
  cert.setSubject([
    { name: 'commonName', value: o.names[0] ?? 'brand' },
    { name: 'organizationName', value: 'Example Brand' },
  ]);
  cert.setIssuer(issuer.cert.subject.attributes);
  const extensions: object[] = [
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true },
    { name: 'subjectAltName', altNames: o.names.map((value) => ({ type: 2, value })) },
  ];
  if (o.eku !== false) extensions.push({ name: 'extKeyUsage', [BIMI_EKU]: true });
  if (o.svg !== undefined)
    extensions.push({ id: LOGOTYPE_OID, critical: false, value: logotypeExtension(o.svg) });
  cert.setExtensions(extensions);
  cert.sign(issuer.key, forge.md.sha256.create());
  return { cert, key: k.priv, certPem: forge.pki.certificateToPem(cert), keyPem: k.keyPem };
}
