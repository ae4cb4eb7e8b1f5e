import { X509Certificate, createHash } from 'node:crypto';
import type Forge from 'node-forge';
import forge from './forge-asn1.js';
import type { CertFacts } from './model.js';

/**
 * DER certificate → CertFacts, with node-forge's ASN.1 parser (./forge-asn1.js loads only that
 * part of node-forge). forge's own certificate reader only understands RSA keys, and many mail
 * servers present ECDSA or Ed25519 certificates, so the X.509 structure (RFC 5280 §4.1) is
 * walked here directly. Pure: bytes in, data out.
 */

const { asn1 } = forge;
type Asn1 = Forge.asn1.Asn1;

const NAME_ATTRS: Record<string, string> = {
  '2.5.4.3': 'CN',
  '2.5.4.6': 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.9': 'STREET',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '2.5.4.5': 'serialNumber',
  '2.5.4.97': 'organizationIdentifier',
  '0.9.2342.19200300.100.1.25': 'DC',
  '0.9.2342.19200300.100.1.1': 'UID',
  '1.2.840.113549.1.9.1': 'emailAddress',
};

const SIGNATURE_ALGORITHMS: Record<string, string> = {
  '1.2.840.113549.1.1.4': 'md5WithRSAEncryption',
  '1.2.840.113549.1.1.5': 'sha1WithRSAEncryption',
  '1.2.840.113549.1.1.10': 'rsassaPss',
  '1.2.840.113549.1.1.11': 'sha256WithRSAEncryption',
  '1.2.840.113549.1.1.12': 'sha384WithRSAEncryption',
  '1.2.840.113549.1.1.13': 'sha512WithRSAEncryption',
  '1.2.840.10045.4.1': 'ecdsa-with-SHA1',
  '1.2.840.10045.4.3.2': 'ecdsa-with-SHA256',
  '1.2.840.10045.4.3.3': 'ecdsa-with-SHA384',
  '1.2.840.10045.4.3.4': 'ecdsa-with-SHA512',
  '1.2.840.10040.4.3': 'dsa-with-SHA1',
  '2.16.840.1.101.3.4.3.2': 'dsa-with-SHA256',
  '1.3.101.112': 'Ed25519',
  '1.3.101.113': 'Ed448',
};

const CURVES: Record<string, { name: string; bits: number }> = {
  '1.2.840.10045.3.1.7': { name: 'P-256', bits: 256 },
  '1.3.132.0.34': { name: 'P-384', bits: 384 },
  '1.3.132.0.35': { name: 'P-521', bits: 521 },
  '1.3.132.0.10': { name: 'secp256k1', bits: 256 },
  '1.2.840.10045.3.1.1': { name: 'P-192', bits: 192 },
  '1.3.132.0.33': { name: 'P-224', bits: 224 },
  '1.3.36.3.3.2.8.1.1.7': { name: 'brainpoolP256r1', bits: 256 },
  '1.3.36.3.3.2.8.1.1.11': { name: 'brainpoolP384r1', bits: 384 },
  '1.3.36.3.3.2.8.1.1.13': { name: 'brainpoolP512r1', bits: 512 },
};

export class CertificateParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CertificateParseError';
  }
}

function children(node: Asn1): Asn1[] {
  return Array.isArray(node.value) ? (node.value as Asn1[]) : [];
}

function bytes(node: Asn1 | undefined): string {
  return node && typeof node.value === 'string' ? node.value : '';
}

function hex(binary: string): string {
  return forge.util.bytesToHex(binary);
}

function digest(algorithm: 'sha256' | 'sha512', binary: string): string {
  return createHash(algorithm).update(Buffer.from(binary, 'binary')).digest('hex');
}

function decodeString(node: Asn1): string {
  const raw = bytes(node);
  switch (node.type) {
    case asn1.Type.UTF8:
      return forge.util.decodeUtf8(raw);
    case asn1.Type.BMPSTRING: {
      let out = '';
      for (let i = 0; i + 1 < raw.length; i += 2)
        out += String.fromCharCode((raw.charCodeAt(i) << 8) | raw.charCodeAt(i + 1));
      return out;
    }
    default:
      return raw;
  }
}

/** RFC 4514 string of a Name (most significant RDN last, as OpenSSL prints with RFC2253). */
function nameToString(name: Asn1): { text: string; cn?: string } {
  const parts: string[] = [];
  let cn: string | undefined;
  for (const rdn of children(name)) {
    const attrs = children(rdn).map((atv) => {
      const [oidNode, valueNode] = children(atv);
      const oid = asn1.derToOid(bytes(oidNode) as unknown as Forge.util.ByteStringBuffer);
      const value = valueNode ? decodeString(valueNode) : '';
      if (oid === '2.5.4.3' && cn === undefined) cn = value;
      const escaped = value
        .replace(/([,+"\\<>;=])/g, '\\$1')
        .replace(/^([ #])/, '\\$1')
        .replace(/ $/, '\\ ');
      return `${NAME_ATTRS[oid] ?? oid}=${escaped}`;
    });
    parts.push(attrs.join('+'));
  }
  const result: { text: string; cn?: string } = { text: parts.reverse().join(',') };
  if (cn !== undefined) result.cn = cn;
  return result;
}

function timeToIso(node: Asn1 | undefined): string {
  if (!node) throw new CertificateParseError('validity time missing');
  const text = bytes(node);
  const date = node.type === asn1.Type.UTCTIME ? asn1.utcTimeToDate(text) : asn1.generalizedTimeToDate(text);
  if (Number.isNaN(date.getTime()))
    throw new CertificateParseError(`invalid validity time ${JSON.stringify(text)}`);
  return date.toISOString();
}

function integerHex(node: Asn1 | undefined): string {
  const raw = hex(bytes(node)).replace(/^(00)+(?=..)/, '');
  return raw || '00';
}

function publicKeyFacts(spki: Asn1): { keyAlgorithm: string; keyBits: number; curve?: string } {
  const [algId, bitString] = children(spki);
  const [algOid, params] = children(algId!);
  const oid = asn1.derToOid(bytes(algOid) as unknown as Forge.util.ByteStringBuffer);
  const keyBytes = bytes(bitString).slice(1); // first octet: unused bits
  switch (oid) {
    case '1.2.840.113549.1.1.1':
    case '1.2.840.113549.1.1.10': {
      const rsa = (asn1.fromDer as (b: string, o: unknown) => Asn1)(keyBytes, { decodeBitStrings: false });
      // eslint-disable-next-line no-control-regex -- strips leading zero octets of a DER integer
      const modulus = bytes(children(rsa)[0]).replace(/^\x00+/, '');
      const lead = modulus.charCodeAt(0);
      const bits = modulus.length === 0 ? 0 : (modulus.length - 1) * 8 + (32 - Math.clz32(lead));
      return { keyAlgorithm: 'rsa', keyBits: bits };
    }
    case '1.2.840.10045.2.1': {
      const curveOid =
        params && params.type === asn1.Type.OID
          ? asn1.derToOid(bytes(params) as unknown as Forge.util.ByteStringBuffer)
          : '';
      const curve = CURVES[curveOid];
      // Uncompressed point: 0x04 || X || Y, so the field size is (length-1)/2 bytes.
      const bits = curve?.bits ?? Math.round(((keyBytes.length - 1) / 2) * 8);
      return { keyAlgorithm: 'ec', keyBits: bits, curve: curve?.name ?? (curveOid || 'explicit parameters') };
    }
    case '1.3.101.112':
      return { keyAlgorithm: 'ed25519', keyBits: 256 };
    case '1.3.101.113':
      return { keyAlgorithm: 'ed448', keyBits: 456 };
    case '1.2.840.10040.4.1': {
      // eslint-disable-next-line no-control-regex -- strips leading zero octets of a DER integer
      const p = params ? bytes(children(params)[0]).replace(/^\x00+/, '') : '';
      return { keyAlgorithm: 'dsa', keyBits: p.length * 8 };
    }
    default:
      return { keyAlgorithm: 'unknown', keyBits: 0 };
  }
}

function extensionsOf(tbs: Asn1): Map<string, string> {
  const map = new Map<string, string>();
  const wrapper = children(tbs).find((n) => n.tagClass === asn1.Class.CONTEXT_SPECIFIC && n.type === 3);
  if (!wrapper) return map;
  for (const ext of children(children(wrapper)[0]!)) {
    const parts = children(ext);
    const oid = asn1.derToOid(bytes(parts[0]) as unknown as Forge.util.ByteStringBuffer);
    map.set(oid, bytes(parts[parts.length - 1]));
  }
  return map;
}

function subjectAltNames(value: string | undefined): string[] {
  if (!value) return [];
  const out: string[] = [];
  for (const gn of children(asn1.fromDer(value))) {
    if (gn.tagClass !== asn1.Class.CONTEXT_SPECIFIC) continue;
    if (gn.type === 2) out.push(bytes(gn));
    else if (gn.type === 7) {
      const raw = bytes(gn);
      if (raw.length === 4) out.push(`IP:${[...raw].map((c) => c.charCodeAt(0)).join('.')}`);
      else if (raw.length === 16) {
        const groups: string[] = [];
        for (let i = 0; i < 16; i += 2)
          groups.push(((raw.charCodeAt(i) << 8) | raw.charCodeAt(i + 1)).toString(16));
        out.push(`IP:${groups.join(':')}`);
      }
    }
  }
  return out;
}

function isCaCert(value: string | undefined): boolean {
  if (!value) return false;
  const first = children(asn1.fromDer(value))[0];
  return first?.type === asn1.Type.BOOLEAN && bytes(first) !== '\x00';
}

function verifiesWithOwnKey(der: Buffer): boolean {
  try {
    const x = new X509Certificate(der);
    return x.verify(x.publicKey);
  } catch {
    return false;
  }
}

/** Parses one DER certificate. Throws CertificateParseError when it is not a certificate. */
export function certificateFacts(der: Uint8Array): CertFacts {
  const buf = Buffer.from(der);
  const binary = buf.toString('binary');
  let root: Asn1;
  try {
    root = (asn1.fromDer as (b: string, o: unknown) => Asn1)(binary, {
      strict: true,
      decodeBitStrings: false,
    });
  } catch (err) {
    throw new CertificateParseError(`not a DER certificate: ${(err as Error).message}`);
  }
  const [tbs, sigAlg] = children(root);
  if (!tbs || !sigAlg)
    throw new CertificateParseError(
      'not an X.509 certificate (expected tbsCertificate and signatureAlgorithm)',
    );
  const fields = children(tbs);
  // version is [0] EXPLICIT and optional (absent for v1 certificates).
  const offset = fields[0]?.tagClass === asn1.Class.CONTEXT_SPECIFIC && fields[0].type === 0 ? 1 : 0;
  const [serial, , issuer, validity, subject, spki] = fields.slice(offset);
  if (!serial || !issuer || !validity || !subject || !spki)
    throw new CertificateParseError('truncated tbsCertificate');
  const sigOid = asn1.derToOid(bytes(children(sigAlg)[0]) as unknown as Forge.util.ByteStringBuffer);
  const subjectName = nameToString(subject);
  const issuerName = nameToString(issuer);
  const [notBefore, notAfter] = children(validity);
  const extensions = extensionsOf(tbs);
  const spkiDer = asn1.toDer(spki).getBytes();
  const key = publicKeyFacts(spki);
  const facts: CertFacts = {
    subject: subjectName.text,
    sans: subjectAltNames(extensions.get('2.5.29.17')),
    issuer: issuerName.text,
    serial: integerHex(serial),
    notBefore: timeToIso(notBefore),
    notAfter: timeToIso(notAfter),
    keyAlgorithm: key.keyAlgorithm,
    keyBits: key.keyBits,
    signatureAlgorithm: SIGNATURE_ALGORITHMS[sigOid] ?? forge.pki.oids[sigOid] ?? sigOid,
    selfSigned: subjectName.text === issuerName.text && verifiesWithOwnKey(buf),
    isCa: isCaCert(extensions.get('2.5.29.19')),
    sha256: digest('sha256', binary),
    sha512: digest('sha512', binary),
    spkiSha256: digest('sha256', spkiDer),
    spkiSha512: digest('sha512', spkiDer),
    der: buf.toString('base64'),
  };
  if (subjectName.cn !== undefined) facts.commonName = subjectName.cn;
  if (key.curve) facts.curve = key.curve;
  return facts;
}

/** Parses a presented chain; certificates that cannot be parsed are reported, not thrown. */
export function chainFacts(chain: readonly Uint8Array[]): { chain: CertFacts[]; errors: string[] } {
  const out: CertFacts[] = [];
  const errors: string[] = [];
  chain.forEach((der, i) => {
    try {
      out.push(certificateFacts(der));
    } catch (err) {
      errors.push(`certificate ${i + 1} of the chain: ${(err as Error).message}`);
    }
  });
  return { chain: out, errors };
}
