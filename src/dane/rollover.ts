import type { TlsaRecord } from '../dns/types.js';
import type { Finding } from '../report/model.js';
import type { CertFacts, TlsObservation } from '../tls/model.js';
import { defineFindings } from '../checks/findings.js';
import { formatTlsa, tlsaMatchesCert, tlsaUnusable } from './match.js';

/**
 * DANE key rollover (RFC 7671 §8): whether the TLSA records of an MX host let its operator
 * replace the server's key or certificate without a window in which DANE senders refuse to
 * deliver. A single record that matches only the key in use cannot: when the key changes,
 * the old record no longer matches, and publishing the new one takes TTLs to reach senders.
 * The schemes that work keep two records: "3 1 1" for the current key plus "3 1 1" for the
 * next, or "3 1 1" plus "2 1 1" for the issuing CA (internet.nl tests the same). Pure.
 */
export const ROLLOVER_FINDINGS = defineFindings('dane', {
  'dane.rollover': {
    title: 'DANE rollover scheme',
    statuses: ['pass', 'warn', 'info'],
    meaning:
      'Per MX host with DNSSEC-secure, usable TLSA records: a second record ready for the next key ("3 1 1" current + "3 1 1" next) or a trust-anchor record beside the end-entity one ("3 1 1" + "2 1 1") (pass); a single record, or records that all match the key in use now, so a key change breaks delivery from DANE senders until DNS catches up (warn); two or more records whose match against the served key could not be checked (info).',
  },
});

export type TlsaLike = Pick<TlsaRecord, 'usage' | 'selector' | 'matchingType' | 'data'>;

export interface RolloverHost {
  host: string;
  /** Where the TLSA records live, e.g. "_25._tcp.mx.example.com". */
  tlsaName: string;
  dnssec: 'secure' | 'insecure' | 'bogus' | 'unknown' | 'error';
  records: readonly TlsaLike[];
}

const SCHEMES =
  'RFC 7671 §8 describes two ways to roll over safely: publish "3 1 1 <next key>" beside "3 1 1 <current key>" (§8.1; switch the certificate only after the new record has been published for at least two TTLs), or pair "3 1 1 <current key>" with "2 1 1 <issuing CA key>" (§8.4), so that a new certificate from the same CA validates without any DNS change.';

/**
 * One finding per host whose TLSA records are in effect (DNSSEC-secure with at least one
 * usable record). `observations` are the SMTP probe's TLS observations of this host's
 * addresses (what key each one serves now).
 */
export function evaluateRollover(host: RolloverHost, observations: readonly TlsObservation[]): Finding[] {
  const F = ROLLOVER_FINDINGS;
  const usable = host.records.filter((r) => tlsaUnusable(r) === undefined);
  if (host.dnssec !== 'secure' || usable.length === 0) return [];
  const subject = { host: host.host };
  const leaves: CertFacts[] = observations
    .filter((o) => o.host === host.host && o.handshake === 'ok' && o.chain.length > 0)
    .map((o) => o.chain[0]!);
  const ee = usable.filter((r) => r.usage === 3);
  const ta = usable.filter((r) => r.usage === 2);
  const shown = usable.map((r) => `"${formatTlsa(r)}"`).join(', ');
  const details = { records: usable.map(formatTlsa), served: [...new Set(leaves.map((l) => l.spkiSha256))] };
  if (ee.length > 0 && ta.length > 0)
    return [
      F.make('dane.rollover', 'pass', {
        summary: `${host.tlsaName} pairs end-entity and trust-anchor records (${shown}): a new certificate from the same CA keeps validating while the "3 x x" record is updated (RFC 7671 §8.4).`,
        subject,
        details,
      }),
    ];
  if (usable.length === 1)
    return [
      F.make('dane.rollover', 'warn', {
        summary: `${host.tlsaName} has a single usable TLSA record (${shown}): when the ${ee.length ? "server's key" : "CA's key"} changes, DANE senders refuse to deliver to ${host.host} until the new record has reached them.`,
        remedy: SCHEMES,
        subject,
        details,
      }),
    ];
  const records = ee.length > 0 ? ee : ta;
  if (ee.length === 0 || leaves.length === 0) {
    if (ee.length === 0)
      return [
        F.make('dane.rollover', 'pass', {
          summary: `${host.tlsaName} has ${ta.length} trust-anchor records (${shown}): the server's own key can change freely, and the CA can be changed through the second record.`,
          subject,
          details,
        }),
      ];
    return [
      F.make('dane.rollover', 'info', {
        summary: `${host.tlsaName} has ${records.length} end-entity records (${shown}), but the key ${host.host} serves was not seen, so whether one of them is for the next key could not be checked.`,
        subject,
        details,
      }),
    ];
  }
  const spare = ee.filter((r) => !leaves.some((leaf) => tlsaMatchesCert(r, leaf)));
  if (spare.length > 0)
    return [
      F.make('dane.rollover', 'pass', {
        summary: `${host.tlsaName} publishes ${spare.length} record${spare.length > 1 ? 's' : ''} for a key the server does not use yet (${spare.map((r) => `"${formatTlsa(r)}"`).join(', ')}) beside the one${ee.length - spare.length > 1 ? 's' : ''} in use: the key can be replaced without breaking DANE (RFC 7671 §8.1).`,
        subject,
        details,
      }),
    ];
  return [
    F.make('dane.rollover', 'warn', {
      summary: `${host.tlsaName} has ${ee.length} records (${shown}), but every one of them matches a key ${host.host} serves now: none is ready for the next key, so replacing it breaks delivery from DANE senders until DNS catches up.`,
      remedy: SCHEMES,
      subject,
      details,
    }),
  ];
}
