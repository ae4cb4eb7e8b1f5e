import { generateKeyPair, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import type Forge from 'node-forge';

/**
 * A self-signed certificate for a TLS server that has none configured (the inbound test
 * receiver in development): an RSA 2048 key from node:crypto, the certificate built and
 * signed with node-forge (loaded only here, only when one is made). Valid from an hour ago
 * for 30 days, for `names` as DNS subject alternative names.
 */
export interface SelfSigned {
  certPem: string;
  keyPem: string;
  /** Not after, ISO 8601. */
  notAfter: string;
}

export async function selfSignedCertificate(names: readonly string[]): Promise<SelfSigned> {
  const { privateKey } = await promisify(generateKeyPair)('rsa', { modulusLength: 2048 });
  const keyPem = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  const forge = (await import('node-forge')).default;
  const key = forge.pki.privateKeyFromPem(keyPem) as Forge.pki.rsa.PrivateKey;
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.setRsaPublicKey(key.n, key.e);
  // A positive serial: the first byte's high bit clear.
  cert.serialNumber = `01${randomBytes(12).toString('hex')}`;
  const now = Date.now();
  cert.validity.notBefore = new Date(now - 3_600_000);
  cert.validity.notAfter = new Date(now + 30 * 86_400_000);
  const subject = [{ name: 'commonName', value: names[0] ?? 'localhost' }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames: names.map((value) => ({ type: 2, value })) },
  ]);
  cert.sign(key, forge.md.sha256.create());
  return {
    certPem: forge.pki.certificateToPem(cert),
    keyPem,
    notAfter: cert.validity.notAfter.toISOString(),
  };
}
