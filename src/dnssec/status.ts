import type { DnsAnswer, RrType } from '../dns/types.js';
import type { Resolver } from '../dns/types.js';

/**
 * DNSSEC status as seen through the configured recursive resolver. mxdoctor does not
 * validate itself; it reads the resolver's AD bit (RFC 4035 §3.2.3) and tells a bogus answer
 * (SERVFAIL that goes away with CD set, RFC 4035 §3.2.2) from a broken server. When the
 * resolver does not validate at all (no AD even for the signed root), it says "unknown"
 * instead of guessing "insecure".
 */
export type DnssecStatus = 'secure' | 'insecure' | 'bogus' | 'unknown' | 'error';

export interface DnssecAnswer<A extends DnsAnswer = DnsAnswer> {
  status: DnssecStatus;
  answer: A;
  /** The CD retry, when the first answer was SERVFAIL. */
  cdRcode?: string;
}

/**
 * Whether the resolver validates: the root zone is signed, so a validating resolver sets AD
 * on its answers. undefined when the root query itself failed.
 */
export async function resolverValidates(
  resolver: Resolver,
  options: { signal?: AbortSignal } = {},
): Promise<boolean | undefined> {
  const root = await resolver.query('.', 'SOA', options.signal ? { signal: options.signal } : {});
  if (root.rcode !== 'NOERROR' && root.rcode !== 'NXDOMAIN') return undefined;
  return root.ad;
}

/**
 * resolverValidates, asked at most once and only when needed: an answer with AD set already
 * proves the resolver validates, so a signed domain never waits for the root query (which an
 * isolated resolver — a lab, a split-horizon set-up — may never answer).
 */
export function validatesOnDemand(
  resolver: Resolver,
  options: { signal?: AbortSignal } = {},
): () => Promise<boolean | undefined> {
  let asked: Promise<boolean | undefined> | undefined;
  return () => (asked ??= resolverValidates(resolver, options));
}

/** The DNSSEC status of one answer (name, type), with the CD retry for SERVFAIL. */
export async function dnssecStatusOf<T extends RrType>(
  resolver: Resolver,
  name: string,
  type: T,
  validates: () => Promise<boolean | undefined>,
  options: { signal?: AbortSignal } = {},
): Promise<DnssecAnswer> {
  const signal = options.signal ? { signal: options.signal } : {};
  const answer = await resolver.query(name, type, signal);
  if (answer.rcode === 'SERVFAIL') {
    const cd = await resolver.query(name, type, { ...signal, checkingDisabled: true });
    const definite = cd.rcode === 'NOERROR' || cd.rcode === 'NXDOMAIN';
    // SERVFAIL that disappears with validation disabled: the data fails validation.
    if (!definite) return { status: 'error', answer, cdRcode: cd.rcode };
    return { status: (await validates()) !== false ? 'bogus' : 'error', answer, cdRcode: cd.rcode };
  }
  if (answer.rcode !== 'NOERROR' && answer.rcode !== 'NXDOMAIN') return { status: 'error', answer };
  if (answer.ad) return { status: 'secure', answer };
  return { status: (await validates()) ? 'insecure' : 'unknown', answer };
}
