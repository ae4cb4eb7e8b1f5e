import type { DnsAnswer, RecordOf, Resolver } from '../dns/types.js';
import { ipFamily } from '../net/ip-family.js';

/**
 * The DNS questions of the MX check — the MX set, then the addresses of its hosts (or of the
 * domain itself when it has no MX) — on their own, without the check's evaluation: the
 * pipeline asks them while the check modules are still loading (src/checks/run.ts), and the
 * MX check finds the answers in the run's cache.
 */

/** Cap on MX hosts resolved and probed, against hostile domains with hundreds of MX records. */
export const MAX_MX_HOSTS = 32;

export type AddressAnswers = { a: DnsAnswer<RecordOf<'A'>>; aaaa: DnsAnswer<RecordOf<'AAAA'>> };

export interface MxLookups {
  mx: DnsAnswer<RecordOf<'MX'>>;
  /** A/AAAA answers per MX target name (lower case). */
  hosts: Record<string, AddressAnswers>;
  /** A/AAAA answers of the domain itself, asked when it has no MX. */
  implicit?: AddressAnswers;
}

export function isIpLiteralName(name: string): boolean {
  const bare = name.replace(/^\[|\]$/g, '');
  return ipFamily(bare) !== 0 || /^\d+\.\d+\.\d+\.\d+$/.test(bare);
}

/**
 * The MX targets in the order senders try them (RFC 5321 §5.1): by preference, then by name
 * for a stable order; each name once, with the preferences it is listed at; the null MX left
 * out. The MX check, the lookups below and the SMTP probe all take the hosts in this order,
 * so the first MAX_MX_HOSTS are the same hosts for each.
 */
export function mxTargets(records: readonly RecordOf<'MX'>[]): Map<string, number[]> {
  const sorted = byPreference(records.filter((r) => r.exchange !== ''));
  const targets = new Map<string, number[]>();
  for (const r of sorted) targets.set(r.exchange, [...(targets.get(r.exchange) ?? []), r.preference]);
  return targets;
}

/** MX records sorted as senders try them: by preference, then by name. Sorts in place. */
export function byPreference(records: RecordOf<'MX'>[]): RecordOf<'MX'>[] {
  return records.sort((a, b) => a.preference - b.preference || a.exchange.localeCompare(b.exchange));
}

/** A and AAAA of a name, asked concurrently. */
function lookUpAddresses(dns: Resolver, name: string, signal: AbortSignal): Promise<AddressAnswers> {
  return Promise.all([dns.query(name, 'A', { signal }), dns.query(name, 'AAAA', { signal })]).then(
    ([a, aaaa]) => ({ a, aaaa }),
  );
}

export async function lookUpMx(
  dns: Resolver,
  domain: string,
  signal: AbortSignal,
  onHost?: (name: string, done: number, total: number) => void,
): Promise<MxLookups> {
  const out: MxLookups = { mx: await dns.query(domain, 'MX', { signal }), hosts: {} };
  const records = out.mx.records;
  if (out.mx.rcode === 'NOERROR' && records.length === 0)
    out.implicit = await lookUpAddresses(dns, domain, signal);
  const targets = [...mxTargets(records).keys()]
    .slice(0, MAX_MX_HOSTS)
    .filter((name) => !isIpLiteralName(name));
  let done = 0;
  await Promise.all(
    targets.map(async (name) => {
      out.hosts[name] = await lookUpAddresses(dns, name, signal);
      onHost?.(name, ++done, targets.length);
    }),
  );
  return out;
}
