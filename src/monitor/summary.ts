import { z } from 'zod';
import type { Finding, Report, Status } from '../report/model.js';
import { CountsSchema } from '../report/model.js';
import { tlsObservationsOf } from '../smtp/contract.js';
import { scoreOf } from '../report/grade.js';

/**
 * The compact per-run summary a monitor keeps for every run: status counts, verdict, and the
 * key facts whose changes matter to a postmaster (MX set, addresses, STARTTLS and the
 * certificate per MX address, TLSA, MTA-STS, SPF/DMARC records, DNSBL listings), plus the
 * findings reduced to what a diff needs. Pure: computed from a report.
 */

export const CertSummarySchema = z.object({
  sha256: z.string(),
  subject: z.string(),
  issuer: z.string(),
  notAfter: z.string(),
});
export type CertSummary = z.infer<typeof CertSummarySchema>;

export const FindingRefSchema = z.object({
  /** id|host|address|name — identifies "the same finding" across runs. */
  key: z.string(),
  id: z.string(),
  status: z.enum(['pass', 'warn', 'fail', 'info', 'error']),
  title: z.string(),
  summary: z.string(),
  host: z.string().optional(),
  address: z.string().optional(),
  name: z.string().optional(),
});
export type FindingRef = z.infer<typeof FindingRefSchema>;

export const KeyFactsSchema = z.object({
  /** "10 mx1.example.com", in preference order; ["0 ."] for a null MX. */
  mx: z.array(z.string()),
  mxKind: z.string(),
  /** Addresses per MX host. */
  addresses: z.record(z.string(), z.array(z.string())),
  /** STARTTLS per "host address": offered, not_offered, unknown. */
  starttls: z.record(z.string(), z.string()),
  /** Leaf certificate per "host address". */
  certificates: z.record(z.string(), CertSummarySchema),
  /** TLSA records per MX host that publishes any ("3 1 1 hex"), sorted. */
  tlsa: z.record(z.string(), z.array(z.string())),
  mtaSts: z.object({
    id: z.string().optional(),
    mode: z.string().optional(),
    /** The policy's mx: patterns. */
    mx: z.array(z.string()).optional(),
  }),
  /** The v=spf1 record(s), joined with " | " when there are several. */
  spf: z.string().optional(),
  /** The v=DMARC1 record(s) that apply, joined with " | " when there are several. */
  dmarc: z.string().optional(),
  /** "address on zone" (or "domain on zone") for every listing found. */
  dnsbl: z.array(z.string()),
});
export type KeyFacts = z.infer<typeof KeyFactsSchema>;

export const RunSummarySchema = z.object({
  reportId: z.string(),
  at: z.string().describe('When the check started, ISO 8601'),
  durationMs: z.number(),
  verdict: z.enum(['pass', 'warn', 'fail']),
  complete: z.boolean(),
  counts: CountsSchema,
  score: z
    .number()
    .int()
    .nullable()
    .optional()
    .describe("The report's 0–100 score (docs/score.md); null when not scored, absent in runs before scores"),
  facts: KeyFactsSchema,
  findings: z.array(FindingRefSchema),
});
export type RunSummary = z.infer<typeof RunSummarySchema>;

export function findingKey(f: Pick<Finding, 'id' | 'subject'>): string {
  const s = f.subject ?? {};
  return [f.id, s.host ?? '', s.address ?? '', s.name ?? ''].join('|');
}

export function hostAddress(host: string, address: string): string {
  return `${host} ${address}`;
}

/** Reads a nested property path out of unknown data. */
function at(data: unknown, ...path: string[]): unknown {
  let node = data;
  for (const key of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

export function keyFacts(report: Report): KeyFacts {
  const facts: KeyFacts = {
    mx:
      report.mx.kind === 'null'
        ? ['0 .']
        : report.mx.hosts.map((h) => (h.implicit ? `implicit ${h.name}` : `${h.preference} ${h.name}`)),
    mxKind: report.mx.kind,
    addresses: Object.fromEntries(report.mx.hosts.map((h) => [h.name, h.addresses.map((a) => a.address)])),
    starttls: {},
    certificates: {},
    tlsa: {},
    mtaSts: {},
    dnsbl: [],
  };
  for (const o of tlsObservationsOf(report.data.smtp)) {
    const key = hostAddress(o.host, o.address);
    facts.starttls[key] = o.starttls;
    const leaf = o.chain[0];
    if (leaf) {
      facts.certificates[key] = {
        sha256: leaf.sha256,
        subject: leaf.subject,
        issuer: leaf.issuer,
        notAfter: leaf.notAfter,
      };
    }
  }
  // TLSA, MTA-STS, SPF, DMARC and blocklists come from those checks' data (src/dane/check.ts,
  // mta-sts.ts, spf.ts, dmarc.ts, dnsbl.ts); a check that did not run leaves its facts out.
  const dane = at(report.data, 'dane', 'hosts');
  if (Array.isArray(dane)) {
    for (const h of dane) {
      const host = str(at(h, 'host'));
      const records = at(h, 'records');
      if (!host || !Array.isArray(records) || records.length === 0) continue;
      facts.tlsa[host] = records
        .map((r) =>
          typeof r === 'string'
            ? r
            : [at(r, 'usage'), at(r, 'selector'), at(r, 'matchingType'), at(r, 'data')].map(String).join(' '),
        )
        .sort();
    }
  }
  const stsId = str(at(report.data, 'mta_sts', 'id'));
  const stsMode = str(at(report.data, 'mta_sts', 'policy', 'mode'));
  const stsMx = at(report.data, 'mta_sts', 'policy', 'mx');
  if (stsId) facts.mtaSts.id = stsId;
  if (stsMode) facts.mtaSts.mode = stsMode;
  if (Array.isArray(stsMx)) facts.mtaSts.mx = stsMx.filter((x): x is string => typeof x === 'string');
  const records = (check: string): string | undefined => {
    const list = at(report.data, check, 'records');
    if (!Array.isArray(list)) return undefined;
    const texts = list.filter((x): x is string => typeof x === 'string' && x !== '');
    return texts.length ? texts.join(' | ') : undefined;
  };
  const spf = records('spf');
  if (spf) facts.spf = spf;
  const dmarc = records('dmarc');
  if (dmarc) facts.dmarc = dmarc;
  const listings = new Set<string>();
  const addresses = at(report.data, 'dnsbl', 'addresses');
  if (Array.isArray(addresses)) {
    for (const a of addresses) {
      const address = str(at(a, 'address'));
      const results = at(a, 'results');
      if (!address || !Array.isArray(results)) continue;
      for (const r of results) {
        const zone = str(at(r, 'zone'));
        if (zone && at(r, 'status') === 'listed') listings.add(`${address} on ${zone}`);
      }
    }
  }
  const domainLists = at(report.data, 'dnsbl', 'domain');
  if (Array.isArray(domainLists)) {
    for (const r of domainLists) {
      const zone = str(at(r, 'zone'));
      if (zone && at(r, 'status') === 'listed') listings.add(`${report.domain.ascii} on ${zone}`);
    }
  }
  facts.dnsbl = [...listings];
  facts.dnsbl.sort();
  return facts;
}

/** Worst first among statuses that say something; "error" (could not test) only when nothing else does. */
const KNOWN_RANK: Record<Status, number> = { fail: 4, warn: 3, info: 2, pass: 1, error: 0 };

/**
 * The findings reduced to what a diff needs, one per key. Some checks report one subject
 * twice (the blocklist check says "listed on A" and "could not ask B" for one address):
 * the known outcome wins over "could not test", and the worse known outcome over the better.
 */
export function findingRefs(report: Report): FindingRef[] {
  const byKey = new Map<string, FindingRef>();
  for (const f of report.checks) {
    const ref: FindingRef = {
      key: findingKey(f),
      id: f.id,
      status: f.status as Status,
      title: f.title,
      summary: f.summary,
    };
    if (f.subject?.host) ref.host = f.subject.host;
    if (f.subject?.address) ref.address = f.subject.address;
    if (f.subject?.name) ref.name = f.subject.name;
    const seen = byKey.get(ref.key);
    if (!seen || KNOWN_RANK[ref.status] > KNOWN_RANK[seen.status]) byKey.set(ref.key, ref);
  }
  return [...byKey.values()];
}

export function summarizeReport(report: Report, reportId: string): RunSummary {
  return {
    reportId,
    at: report.startedAt,
    durationMs: report.durationMs,
    verdict: report.verdict,
    complete: report.complete,
    counts: report.counts,
    score: scoreOf(report).value,
    facts: keyFacts(report),
    findings: findingRefs(report),
  };
}
