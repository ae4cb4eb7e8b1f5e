import { z } from 'zod';
import type { Finding, Report, Status } from '../report/model.js';
import { CountsSchema } from '../report/model.js';
import { tlsObservationsOf } from '../smtp/contract.js';

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
  /** TLSA records per MX host ("3 1 1 hex"). */
  tlsa: z.record(z.string(), z.array(z.string())),
  mtaSts: z.object({ id: z.string().optional(), mode: z.string().optional() }),
  spf: z.string().optional(),
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

/** A string value from a finding's details, if the check put one there. */
function detail(findings: Finding[], id: string, ...keys: string[]): string | undefined {
  const f = findings.find((x) => x.id === id);
  for (const key of keys) {
    const v = f?.details[key];
    if (typeof v === 'string' && v !== '') return v;
  }
  return undefined;
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
  const findings = report.checks;
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
  // TLSA, MTA-STS, SPF and DMARC come from those checks' data when present, else from the
  // details of their record findings.
  const dane = at(report.data, 'dane', 'hosts');
  if (Array.isArray(dane)) {
    for (const h of dane) {
      const host = str(at(h, 'host'));
      const records = at(h, 'records');
      if (host && Array.isArray(records)) {
        facts.tlsa[host] = records
          .map((r) =>
            typeof r === 'string'
              ? r
              : [at(r, 'usage'), at(r, 'selector'), at(r, 'matchingType'), at(r, 'data')]
                  .map(String)
                  .join(' '),
          )
          .sort();
      }
    }
  }
  const stsId = str(at(report.data, 'mta_sts', 'record', 'id')) ?? detail(findings, 'mta_sts.record', 'id');
  const stsMode =
    str(at(report.data, 'mta_sts', 'policy', 'mode')) ?? detail(findings, 'mta_sts.policy', 'mode');
  if (stsId) facts.mtaSts.id = stsId;
  if (stsMode) facts.mtaSts.mode = stsMode;
  const spf =
    str(at(report.data, 'spf', 'record')) ??
    str(at(report.data, 'spf', 'record', 'text')) ??
    detail(findings, 'spf.record', 'record', 'text');
  if (spf) facts.spf = spf;
  const dmarc =
    str(at(report.data, 'dmarc', 'record')) ??
    str(at(report.data, 'dmarc', 'record', 'text')) ??
    detail(findings, 'dmarc.record', 'record', 'text');
  if (dmarc) facts.dmarc = dmarc;
  for (const f of findings) {
    if (f.id !== 'dnsbl.listed' || (f.status !== 'fail' && f.status !== 'warn')) continue;
    const what = f.subject?.address ?? f.subject?.host ?? report.domain.ascii;
    const zone = f.subject?.name ?? (typeof f.details.zone === 'string' ? f.details.zone : 'a blocklist');
    facts.dnsbl.push(`${what} on ${zone}`);
  }
  facts.dnsbl.sort();
  return facts;
}

export function findingRefs(report: Report): FindingRef[] {
  return report.checks.map((f) => {
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
    return ref;
  });
}

export function summarizeReport(report: Report, reportId: string): RunSummary {
  return {
    reportId,
    at: report.startedAt,
    durationMs: report.durationMs,
    verdict: report.verdict,
    complete: report.complete,
    counts: report.counts,
    facts: keyFacts(report),
    findings: findingRefs(report),
  };
}
