import { DNS_RCODES } from '../report/rcodes.js';

export { DNS_RCODES };

/**
 * DNS data as mxdoctor's checks see it: plain, serialisable records and answers whose
 * outcome (NOERROR, NXDOMAIN, SERVFAIL, REFUSED, TIMEOUT…) is data, never an exception.
 */

export const RR_TYPES = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  DS: 43,
  RRSIG: 46,
  DNSKEY: 48,
  TLSA: 52,
  CAA: 257,
} as const;

export type RrType = keyof typeof RR_TYPES;

/** The outcome of a query (the report's list, which its schema publishes). */
export type DnsRcode = (typeof DNS_RCODES)[number];

interface RecordBase {
  /** Owner name, lower case, no trailing dot. */
  name: string;
  ttl: number;
}

export interface ARecord extends RecordBase {
  type: 'A';
  address: string;
}
export interface AaaaRecord extends RecordBase {
  type: 'AAAA';
  address: string;
}
export interface MxRecord extends RecordBase {
  type: 'MX';
  preference: number;
  /** Target host, lower case, no trailing dot; "" for the root (null MX, RFC 7505). */
  exchange: string;
}
export interface TxtRecord extends RecordBase {
  type: 'TXT';
  /** The record's character-strings concatenated without separators (RFC 7208 §3.3). */
  text: string;
}
export interface CnameRecord extends RecordBase {
  type: 'CNAME';
  target: string;
}
export interface PtrRecord extends RecordBase {
  type: 'PTR';
  target: string;
}
export interface NsRecord extends RecordBase {
  type: 'NS';
  target: string;
}
export interface SoaRecord extends RecordBase {
  type: 'SOA';
  primary: string;
  admin: string;
  serial: number;
  refresh: number;
  retry: number;
  expire: number;
  minimum: number;
}
export interface SrvRecord extends RecordBase {
  type: 'SRV';
  priority: number;
  weight: number;
  port: number;
  target: string;
}
export interface TlsaRecord extends RecordBase {
  type: 'TLSA';
  /** 0 PKIX-TA, 1 PKIX-EE, 2 DANE-TA, 3 DANE-EE (RFC 6698 §2.1.1). */
  usage: number;
  /** 0 full certificate, 1 SubjectPublicKeyInfo. */
  selector: number;
  /** 0 exact, 1 SHA-256, 2 SHA-512. */
  matchingType: number;
  /** Certificate association data, lower-case hex. */
  data: string;
}
export interface DsRecord extends RecordBase {
  type: 'DS';
  keyTag: number;
  algorithm: number;
  digestType: number;
  digest: string;
}
export interface DnskeyRecord extends RecordBase {
  type: 'DNSKEY';
  flags: number;
  protocol: number;
  algorithm: number;
  keyTag: number;
  /** Base64 public key. */
  key: string;
}
export interface RrsigRecord extends RecordBase {
  type: 'RRSIG';
  typeCovered: number;
  algorithm: number;
  signer: string;
  keyTag: number;
}
export interface CaaRecord extends RecordBase {
  type: 'CAA';
  flags: number;
  tag: string;
  value: string;
}
/** A record of a type we do not decode, kept as hex (RFC 3597). */
export interface UnknownRecord extends RecordBase {
  type: 'UNKNOWN';
  typeCode: number;
  data: string;
}

export type DnsRecord =
  | ARecord
  | AaaaRecord
  | MxRecord
  | TxtRecord
  | CnameRecord
  | PtrRecord
  | NsRecord
  | SoaRecord
  | SrvRecord
  | TlsaRecord
  | DsRecord
  | DnskeyRecord
  | RrsigRecord
  | CaaRecord
  | UnknownRecord;

export type RecordOf<T extends RrType> = Extract<DnsRecord, { type: T }>;

export interface DnsAnswer<R extends DnsRecord = DnsRecord> {
  /** The name asked, lower case, no trailing dot. */
  name: string;
  type: RrType;
  rcode: DnsRcode;
  /** Records of the asked type at the end of the CNAME chain. */
  records: R[];
  /** CNAME targets followed, in order (empty when the name itself held the data). */
  cnameChain: string[];
  /** The resolver set AD: it validated the answer with DNSSEC (RFC 4035 §3.2.3). */
  ad: boolean;
  /** Smallest TTL of the records, or the negative-caching TTL (RFC 2308) for NXDOMAIN/NODATA. */
  ttl?: number;
  /** The resolver that gave this answer, "ip:port". */
  server?: string;
  /** Wall time spent, including retries and CNAME chasing. */
  ms: number;
  /** For TIMEOUT / NETWORK_ERROR: what happened, in words. */
  error?: string;
}

export interface QueryOptions {
  signal?: AbortSignal;
  /** Set the CD (checking disabled) bit: ask a validating resolver for data it considers bogus. */
  checkingDisabled?: boolean;
  /** Set the EDNS DO bit so that RRSIGs are returned. */
  dnssecOk?: boolean;
  /**
   * The caller is the only one to ask this question in the client's life (a DKIM selector, a
   * blocklist zone): the answer is shared while it is awaited, not kept once it came. A
   * domain check holds its cache for as long as it runs, minutes behind a tarpit (issue 14 P4).
   */
  once?: boolean;
}

export interface DnsLogEntry {
  name: string;
  type: string;
  /** "ip:port" of the resolver asked. */
  server: string;
  transport: 'udp' | 'tcp';
  rcode: DnsRcode;
  answers: number;
  ad: boolean;
  /** Recursion available (RA); absent when no answer came. */
  ra?: boolean;
  truncated: boolean;
  ms: number;
  /** Milliseconds since the log was created (the start of the check). */
  atMs: number;
  error?: string;
}

/** True when the answer says something definite about existence (not a failure to ask). */
export function isDefinite(answer: DnsAnswer): boolean {
  return answer.rcode === 'NOERROR' || answer.rcode === 'NXDOMAIN';
}

/** NOERROR without records of the asked type ("NODATA", RFC 2308 §2.2). */
export function isNoData(answer: DnsAnswer): boolean {
  return answer.rcode === 'NOERROR' && answer.records.length === 0;
}

/** A sentence describing why an answer is not usable, for findings. */
export function describeFailure(answer: DnsAnswer): string {
  switch (answer.rcode) {
    case 'TIMEOUT':
      return `no resolver answered the ${answer.type} query for ${answer.name} in time`;
    case 'NETWORK_ERROR':
      return `the ${answer.type} query for ${answer.name} failed: ${answer.error ?? 'network error'}`;
    case 'SERVFAIL':
      return `the resolver returned SERVFAIL for ${answer.name} ${answer.type} (the domain's name servers failed or DNSSEC validation failed)`;
    case 'REFUSED':
      return `the resolver refused the ${answer.type} query for ${answer.name}`;
    default:
      return `the ${answer.type} query for ${answer.name} returned ${answer.rcode}`;
  }
}

/**
 * What every DNS-querying module needs of a resolver: DnsClient.query's contract. SPF,
 * DMARC, DKIM, DNSBL, DNSSEC, PTR and the bounce follow-ups take one of these, so each is
 * hermetic in tests (a fixture resolver or a fake with this method).
 */
export interface Resolver {
  query<T extends RrType>(name: string, type: T, options?: QueryOptions): Promise<DnsAnswer<RecordOf<T>>>;
}
