import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import forge from 'node-forge';

/**
 * A throw-away PKI for tests, generated at test time with node-forge: a root CA, an
 * intermediate CA and leaf certificates with whatever defect a test needs (expired, not yet
 * valid, wrong name, self-signed, SHA-1, small key). Keys come from Node's native RSA
 * generator (forge uses it when available), so a PKI takes well under a second.
 */
const { pki } = forge;

export interface KeyPair {
  keys: forge.pki.rsa.KeyPair;
  pem: string;
}

export interface Issued {
  cert: forge.pki.Certificate;
  certPem: string;
  keyPem: string;
}

export interface TestPki {
  root: Issued;
  intermediate: Issued;
  /** PEM file holding the root certificate (for --ca-file / MXDOCTOR_CA_FILE). */
  rootFile: string;
  leaf(options: LeafOptions): Issued & { chainPem: string; fullChainPem: string };
}

export interface LeafOptions {
  names: string[];
  commonName?: string;
  notBefore?: Date;
  notAfter?: Date;
  selfSigned?: boolean;
  /** Sign with SHA-1 instead of SHA-256. */
  sha1?: boolean;
  keyBits?: number;
}

const keyCache = new Map<number, forge.pki.rsa.KeyPair>();

function keyPair(bits = 2048): forge.pki.rsa.KeyPair {
  let keys = keyCache.get(bits);
  if (!keys) {
    keys = pki.rsa.generateKeyPair({ bits, e: 0x10001 });
    keyCache.set(bits, keys);
  }
  return keys;
}

let serialCounter = 1;

function nextSerial(): string {
  return (0x1000 + serialCounter++).toString(16).padStart(6, '0');
}

function makeCert(options: {
  subject: string;
  issuer?: { cert: forge.pki.Certificate; key: forge.pki.rsa.PrivateKey };
  keys: forge.pki.rsa.KeyPair;
  ca: boolean;
  names?: string[];
  notBefore: Date;
  notAfter: Date;
  sha1?: boolean;
}): forge.pki.Certificate {
  const cert = pki.createCertificate();
  cert.publicKey = options.keys.publicKey;
  cert.serialNumber = nextSerial();
  cert.validity.notBefore = options.notBefore;
  cert.validity.notAfter = options.notAfter;
  const subject = [
    { name: 'commonName', value: options.subject },
    { name: 'organizationName', value: 'mxdoctor tests' },
  ];
  cert.setSubject(subject);
  cert.setIssuer(options.issuer ? options.issuer.cert.subject.attributes : subject);
  const extensions: object[] = [
    { name: 'basicConstraints', cA: options.ca, critical: true },
    options.ca
      ? { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true }
      : { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ];
  if (!options.ca) extensions.push({ name: 'extKeyUsage', serverAuth: true });
  if (options.names?.length) {
    extensions.push({
      name: 'subjectAltName',
      altNames: options.names.map((n) => (/^[\d.]+$/.test(n) ? { type: 7, ip: n } : { type: 2, value: n })),
    });
  }
  if (options.issuer) {
    extensions.push({
      name: 'authorityKeyIdentifier',
      keyIdentifier: options.issuer.cert.generateSubjectKeyIdentifier().getBytes(),
    });
  }
  cert.setExtensions(extensions);
  const md = options.sha1 ? forge.md.sha1.create() : forge.md.sha256.create();
  cert.sign(options.issuer?.key ?? options.keys.privateKey, md);
  return cert;
}

const DAY = 86_400_000;

export function createTestPki(name = 'mxdoctor test'): TestPki {
  const now = Date.now();
  const rootKeys = keyPair(2048);
  const rootCert = makeCert({
    subject: `${name} root CA`,
    keys: rootKeys,
    ca: true,
    notBefore: new Date(now - 30 * DAY),
    notAfter: new Date(now + 3650 * DAY),
  });
  const root: Issued = {
    cert: rootCert,
    certPem: pki.certificateToPem(rootCert),
    keyPem: pki.privateKeyToPem(rootKeys.privateKey),
  };
  // Intermediates use their own key so that signatures really chain.
  const interKeys = pki.rsa.generateKeyPair({ bits: 2048, e: 0x10001 });
  const interCert = makeCert({
    subject: `${name} intermediate CA`,
    issuer: { cert: rootCert, key: rootKeys.privateKey },
    keys: interKeys,
    ca: true,
    notBefore: new Date(now - 30 * DAY),
    notAfter: new Date(now + 1825 * DAY),
  });
  const intermediate: Issued = {
    cert: interCert,
    certPem: pki.certificateToPem(interCert),
    keyPem: pki.privateKeyToPem(interKeys.privateKey),
  };
  const dir = mkdtempSync(join(tmpdir(), 'mxdoctor-ca-'));
  const rootFile = join(dir, 'root.pem');
  writeFileSync(rootFile, root.certPem);
  const leafKeys = pki.rsa.generateKeyPair({ bits: 2048, e: 0x10001 });
  return {
    root,
    intermediate,
    rootFile,
    leaf(options) {
      const keys = options.keyBits && options.keyBits !== 2048 ? keyPair(options.keyBits) : leafKeys;
      const cert = makeCert({
        subject: options.commonName ?? options.names[0] ?? 'localhost',
        ...(options.selfSigned ? {} : { issuer: { cert: interCert, key: interKeys.privateKey } }),
        keys,
        ca: false,
        names: options.names,
        notBefore: options.notBefore ?? new Date(now - DAY),
        notAfter: options.notAfter ?? new Date(now + 90 * DAY),
        ...(options.sha1 ? { sha1: true } : {}),
      });
      const certPem = pki.certificateToPem(cert);
      return {
        cert,
        certPem,
        keyPem: pki.privateKeyToPem(keys.privateKey),
        chainPem: options.selfSigned ? certPem : certPem + intermediate.certPem,
        fullChainPem: options.selfSigned ? certPem : certPem + intermediate.certPem + root.certPem,
      };
    },
  };
}

export const DAYS = (n: number): Date => new Date(Date.now() + n * DAY);
