import { createPublicKey } from 'node:crypto';
import { parseTagList } from '../dns/tag-list.js';

/**
 * DKIM public key records (RFC 6376 §3.6.1, Ed25519 from RFC 8463): tags, key type, the key
 * itself decoded and sized with node:crypto (no I/O), revocation, testing mode. Pure.
 */
export interface DkimKeyRecord {
  text: string;
  version?: string;
  /** k=: rsa (default) or ed25519; other values are kept as written. */
  keyType: string;
  /** h=: acceptable hash algorithms (empty = all). */
  hashes: string[];
  /** s=: service types (default "*"). */
  services: string[];
  /** t=: flags, e.g. ["y"] (testing), ["s"] (no subdomains). */
  flags: string[];
  /** p= was empty: the key is revoked (RFC 6376 §3.6.1). */
  revoked: boolean;
  /** Key size in bits (RSA modulus; 256 for Ed25519). */
  bits?: number;
  /** Why the key could not be used, exactly. */
  keyError?: string;
  /** Non-fatal oddities, e.g. a PKCS#1 key where SubjectPublicKeyInfo is specified. */
  notes: string[];
}

export type DkimParse = { ok: true; record: DkimKeyRecord } | { ok: false; error: string };

export function parseDkimKey(text: string): DkimParse {
  const list = parseTagList(text);
  if (!list.ok) return { ok: false, error: list.error };
  const tag = (n: string): string | undefined => list.map.get(n)?.value;
  const v = tag('v');
  if (v !== undefined && list.tags[0]?.name !== 'v') {
    return { ok: false, error: 'v= must be the first tag when present (RFC 6376 §3.6.1)' };
  }
  if (v !== undefined && v !== 'DKIM1') return { ok: false, error: `v=${v} is not "DKIM1"` };
  const p = tag('p');
  if (p === undefined) return { ok: false, error: 'the required tag p= (the public key) is missing' };
  const record: DkimKeyRecord = {
    text,
    keyType: (tag('k') ?? 'rsa').toLowerCase(),
    hashes: splitColon(tag('h')),
    services: splitColon(tag('s') ?? '*'),
    flags: splitColon(tag('t')),
    revoked: false,
    notes: [],
  };
  if (v) record.version = v;
  const key = p.replace(/\s+/g, '');
  if (key === '') {
    record.revoked = true;
    return { ok: true, record };
  }
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(key) || key.length % 4 === 1) {
    const bad = key.match(/[^A-Za-z0-9+/=]/)?.[0];
    record.keyError = bad
      ? `p= contains "${bad}", which is not a base64 character`
      : `p= is not valid base64 (wrong length or padding)`;
    return { ok: true, record };
  }
  const der = Buffer.from(key, 'base64');
  if (record.keyType === 'ed25519') {
    // RFC 8463 §4.2: the raw 32-byte public key, not SubjectPublicKeyInfo.
    if (der.length !== 32) {
      record.keyError = `an Ed25519 key must be 32 bytes (RFC 8463 §4.2), p= decodes to ${der.length}`;
    } else {
      record.bits = 256;
    }
    return { ok: true, record };
  }
  if (record.keyType !== 'rsa') {
    record.keyError = `k=${record.keyType} is not a key type receivers support (rsa or ed25519)`;
    return { ok: true, record };
  }
  for (const type of ['spki', 'pkcs1'] as const) {
    try {
      const pub = createPublicKey({ key: der, format: 'der', type });
      const bits = pub.asymmetricKeyDetails?.modulusLength;
      if (pub.asymmetricKeyType !== 'rsa' || bits === undefined) {
        record.keyError = `p= holds a ${pub.asymmetricKeyType ?? 'non-RSA'} key, but k=rsa`;
        return { ok: true, record };
      }
      record.bits = bits;
      if (type === 'pkcs1') {
        record.notes.push(
          'p= holds a bare PKCS#1 RSAPublicKey; RFC 6376 specifies SubjectPublicKeyInfo and some verifiers reject it',
        );
      }
      return { ok: true, record };
    } catch {
      // try the next encoding
    }
  }
  record.keyError = `p= is base64, but the ${der.length} bytes it decodes to are not an RSA public key (truncated or corrupted when pasted?)`;
  return { ok: true, record };
}

function splitColon(value: string | undefined): string[] {
  if (value === undefined) return [];
  return value
    .split(':')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
}

const SELECTOR = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*$/i;

/** Whether a selector is a valid DNS name part (RFC 6376 §3.1). */
export function isValidSelector(s: string): boolean {
  return s.length <= 200 && SELECTOR.test(s);
}
