import { z } from 'zod';
import { throwIfAborted } from '../net/deadline.js';
import { countsAsLookup, expandDomainSpec, isSpfRecord, parseSpf } from './record.js';
import type { SpfMechanism, SpfTerm } from './record.js';
import type { DnsAnswer, RecordOf } from '../dns/types.js';
import { MAX_NAMES_PER_MECHANISM } from './evaluate.js';
import type { Resolver } from '../dns/types.js';

/**
 * The static walk of a domain's whole SPF tree, for diagnostics rather than a verdict: every
 * include and redirect is followed (not only until the first match, as check_host does), so
 * the report can show the worst-case lookup count per branch and in total, void lookups,
 * loops, includes of domains without SPF, and the flattened set of authorised ranges with
 * the branch each came from. Terms whose target depends on the message (macros) are noted,
 * not guessed.
 */

export const SpfTermInfoSchema = z.object({
  text: z.string().describe('The term as written'),
  countsAsLookup: z
    .boolean()
    .describe('Costs one of the 10 DNS lookups (include, a, mx, ptr, exists, redirect)'),
  void: z.boolean().optional().describe('Its DNS lookup returned no records (NXDOMAIN or NODATA)'),
  addresses: z.number().int().optional().describe('Addresses an a/mx term expanded to'),
  mxHosts: z.number().int().optional().describe('MX hosts an mx term found'),
  dependsOnMessage: z.boolean().optional().describe('Its target uses macros, so it depends on the message'),
  ignored: z.string().optional().describe('Why the term has no effect'),
  error: z.string().optional(),
});
export type SpfTermInfo = z.infer<typeof SpfTermInfoSchema>;

export interface SpfNode {
  domain: string;
  via: 'root' | 'include' | 'redirect';
  /** The include/redirect term in the parent record that led here. */
  term?: string;
  status: 'ok' | 'none' | 'multiple' | 'syntax' | 'dns_error' | 'loop' | 'not_walked';
  record?: string;
  /** Every v=spf1 record found (several means permerror). */
  records?: string[];
  rcode?: string;
  error?: string;
  /** Offending term and offset of a syntax error. */
  syntax?: { term?: string; at: number };
  /** Unknown modifiers, ignored by receivers (often a typo such as "ip4=" for "ip4:"). */
  unknownModifiers?: string[];
  /** DNS-querying terms in this record itself. */
  lookups: number;
  /** This record and everything below it, worst case. */
  totalLookups: number;
  voidLookups: number;
  totalVoidLookups: number;
  terms: SpfTermInfo[];
  children: SpfNode[];
}

export const SpfNodeSchema: z.ZodType<SpfNode> = z.lazy(() =>
  z.object({
    domain: z.string(),
    via: z.enum(['root', 'include', 'redirect']),
    term: z.string().optional(),
    status: z
      .enum(['ok', 'none', 'multiple', 'syntax', 'dns_error', 'loop', 'not_walked'])
      .describe(
        'ok; none: no SPF record; multiple: several; syntax: parse error; dns_error; loop; not_walked: walk budget spent',
      ),
    record: z.string().optional(),
    records: z.array(z.string()).optional(),
    rcode: z.string().optional(),
    error: z.string().optional(),
    syntax: z.object({ term: z.string().optional(), at: z.number().int() }).optional(),
    unknownModifiers: z.array(z.string()).optional(),
    lookups: z.number().int(),
    totalLookups: z.number().int(),
    voidLookups: z.number().int(),
    totalVoidLookups: z.number().int(),
    terms: z.array(SpfTermInfoSchema),
    children: z.array(SpfNodeSchema),
  }),
);

export const SpfRangeSchema = z.object({
  range: z.string().describe('CIDR range, e.g. 192.0.2.0/24 or 2001:db8::/32'),
  family: z.union([z.literal(4), z.literal(6)]),
  qualifier: z.enum(['+', '-', '~', '?']),
  term: z.string().describe('The mechanism that authorises it'),
  /** Domains from the checked one down to the record holding the term. */
  path: z.array(z.string()).describe('Branch: the checked domain, then each include/redirect target'),
  host: z.string().optional().describe('For a/mx: the host whose address this is'),
});
export type SpfRange = z.infer<typeof SpfRangeSchema>;

export const SpfAnalysisSchema = z.object({
  domain: z.string(),
  rcode: z.string().describe('Outcome of the TXT lookup of the domain'),
  records: z.array(z.string()).describe('Every v=spf1 TXT record at the domain'),
  tree: SpfNodeSchema.optional(),
  lookups: z.number().int().describe('DNS-querying terms in the whole tree, worst case'),
  voidLookups: z.number().int(),
  ranges: z.array(SpfRangeSchema).describe('Flattened authorised ranges with their branch'),
  ptrTerms: z.array(z.string()).describe('ptr mechanisms and %{p} macros found (deprecated)'),
  truncated: z.boolean().describe('The walk stopped early (more than 40 records or 300 DNS queries)'),
});
export type SpfAnalysis = z.infer<typeof SpfAnalysisSchema>;

/** Records walked at most, against hostile include fan-outs. */
const MAX_RECORDS = 40;
/** DNS queries the walk may send in all (a record can hold hundreds of a:/mx: terms). */
const MAX_QUERIES = 300;

function prefixed(address: string, bits: number | undefined, family: 4 | 6): string {
  const max = family === 4 ? 32 : 128;
  return `${address}/${bits ?? max}`;
}

export async function analyseSpf(
  resolver: Resolver,
  domain: string,
  options: { signal?: AbortSignal } = {},
): Promise<SpfAnalysis> {
  const spf = new SpfWalk(resolver, options.signal);
  const top = await spf.query(domain, 'TXT');
  const analysis: SpfAnalysis = {
    domain,
    rcode: top.rcode,
    records: top.records.map((r) => r.text).filter(isSpfRecord),
    lookups: 0,
    voidLookups: 0,
    ranges: [],
    ptrTerms: spf.ptrTerms,
    truncated: false,
  };
  if (top.rcode !== 'NOERROR' && top.rcode !== 'NXDOMAIN') return analysis;
  if (analysis.records.length === 0) return analysis;
  const tree = await spf.walk(domain, 'root', undefined, []);
  analysis.tree = tree;
  analysis.ranges = spf.rangesOf.get(tree) ?? [];
  analysis.lookups = tree.totalLookups;
  analysis.voidLookups = tree.totalVoidLookups;
  analysis.truncated = spf.truncated;
  return analysis;
}

type TermResult = { info: SpfTermInfo; child?: SpfNode; ranges: SpfRange[] };

const dummyCtx = (d: string) => ({ sender: `postmaster@${d}`, domain: d, ip: '192.0.2.1', helo: d });

const isVoid = (a: DnsAnswer): boolean =>
  a.rcode === 'NXDOMAIN' || (a.rcode === 'NOERROR' && a.records.length === 0);

/** One walk of an SPF tree, under a budget of records and DNS queries. */
class SpfWalk {
  /** Ranges of each record's subtree, in the order a reader of the records meets them. */
  readonly rangesOf = new WeakMap<SpfNode, SpfRange[]>();
  readonly ptrTerms: string[] = [];
  truncated = false;
  private walked = 0;
  private queries = 0;

  constructor(
    private readonly resolver: Resolver,
    private readonly signal: AbortSignal | undefined,
  ) {}

  readonly query: Resolver['query'] = (name, type) => {
    throwIfAborted(this.signal);
    this.queries++;
    return this.resolver.query(name, type, this.signal ? { signal: this.signal } : {});
  };

  private budgetSpent(): boolean {
    return this.queries >= MAX_QUERIES;
  }

  async walk(
    name: string,
    via: SpfNode['via'],
    term: string | undefined,
    parentPath: string[],
  ): Promise<SpfNode> {
    const node: SpfNode = {
      domain: name,
      via,
      status: 'ok',
      lookups: 0,
      totalLookups: 0,
      voidLookups: 0,
      totalVoidLookups: 0,
      terms: [],
      children: [],
    };
    if (term !== undefined) node.term = term;
    if (parentPath.includes(name)) {
      node.status = 'loop';
      node.error = `${[...parentPath, name].join(' → ')} loops back to ${name}`;
      return node;
    }
    if (this.walked >= MAX_RECORDS || this.budgetSpent()) {
      this.truncated = true;
      node.status = 'not_walked';
      return node;
    }
    this.walked++;
    const path = [...parentPath, name];
    const answer = await this.query(name, 'TXT');
    node.rcode = answer.rcode;
    if (answer.rcode !== 'NOERROR' && answer.rcode !== 'NXDOMAIN') {
      node.status = 'dns_error';
      node.error = `the TXT lookup of ${name} returned ${answer.rcode}`;
      return node;
    }
    const records = answer.records.map((r) => r.text).filter(isSpfRecord);
    if (records.length === 0) {
      node.status = 'none';
      return node;
    }
    if (records.length > 1) {
      node.status = 'multiple';
      node.records = records;
      return node;
    }
    node.record = records[0]!;
    const parsed = parseSpf(node.record);
    if (!parsed.ok) {
      node.status = 'syntax';
      node.error = parsed.error.message;
      node.syntax = { at: parsed.error.at, ...(parsed.error.term ? { term: parsed.error.term } : {}) };
      return node;
    }
    if (parsed.record.unknownModifiers.length > 0) {
      node.unknownModifiers = parsed.record.unknownModifiers.map((m) => m.text);
    }
    const hasAll = parsed.record.mechanisms.some((m) => m.name === 'all');
    if (parsed.record.exp && usesPExp(parsed.record.exp.value.tokens))
      this.ptrTerms.push(parsed.record.exp.text);
    const results = await Promise.all(parsed.record.terms.map((t) => this.termInfo(t, name, path, hasAll)));
    const collected: SpfRange[] = [];
    this.rangesOf.set(node, collected);
    for (const { info, child, ranges } of results) {
      node.terms.push(info);
      collected.push(...ranges);
      if (child) collected.push(...(this.rangesOf.get(child) ?? []));
      if (info.countsAsLookup) node.lookups++;
      if (info.void) node.voidLookups++;
      if (child) node.children.push(child);
    }
    node.totalLookups = node.lookups + node.children.reduce((n, c) => n + c.totalLookups, 0);
    node.totalVoidLookups = node.voidLookups + node.children.reduce((n, c) => n + c.totalVoidLookups, 0);
    return node;
  }

  /** What one term of a record contributes: its lookup cost, ranges, and the record it leads to. */
  private async termInfo(
    term: SpfTerm,
    current: string,
    path: string[],
    hasAll: boolean,
  ): Promise<TermResult> {
    const ranges: SpfRange[] = [];
    const info: SpfTermInfo = { text: term.text, countsAsLookup: countsAsLookup(term) };
    if (term.kind === 'modifier') {
      if (term.name !== 'redirect') return { info, ranges };
      if (hasAll) {
        info.countsAsLookup = false;
        info.ignored = 'an "all" mechanism is present, so redirect is never used (RFC 7208 §6.1)';
        return { info, ranges };
      }
      if (term.value.hasMacros) {
        info.dependsOnMessage = true;
        return { info, ranges };
      }
      const target = expandDomainSpec(term.value, dummyCtx(current));
      return { info, ranges, child: await this.walk(target, 'redirect', term.text, path) };
    }
    const mech = term as SpfMechanism;
    if (usesP(mech)) this.ptrTerms.push(mech.text);
    if (mech.name === 'ip4' || mech.name === 'ip6') {
      const family = mech.name === 'ip4' ? 4 : 6;
      ranges.push({
        range: prefixed(mech.ip!, family === 4 ? mech.cidr4 : mech.cidr6, family),
        family,
        qualifier: mech.qualifier,
        term: mech.text,
        path,
      });
      return { info, ranges };
    }
    if (mech.name === 'all' || mech.name === 'ptr') return { info, ranges };
    if (mech.domainSpec?.hasMacros) {
      info.dependsOnMessage = true;
      return { info, ranges };
    }
    const target = mech.domainSpec ? expandDomainSpec(mech.domainSpec, dummyCtx(current)) : current;
    if (mech.name !== 'include' && this.budgetSpent()) {
      this.truncated = true;
      info.error = `not resolved: the walk stopped after ${MAX_QUERIES} DNS queries`;
      return { info, ranges };
    }
    if (mech.name === 'include') {
      return { info, ranges, child: await this.walk(target, 'include', mech.text, path) };
    }
    if (mech.name === 'exists') {
      const a = await this.query(target, 'A');
      if (isVoid(a)) info.void = true;
      return { info, ranges };
    }
    if (mech.name === 'a') return this.aInfo(mech, target, path, info);
    return this.mxInfo(mech, target, path, info);
  }

  /** An a mechanism: the addresses of its target. */
  private async aInfo(
    mech: SpfMechanism,
    target: string,
    path: string[],
    info: SpfTermInfo,
  ): Promise<TermResult> {
    const [a, aaaa] = await Promise.all([this.query(target, 'A'), this.query(target, 'AAAA')]);
    if (a.rcode !== 'NOERROR' && a.rcode !== 'NXDOMAIN') info.error = `${a.type} ${target}: ${a.rcode}`;
    if (isVoid(a) && isVoid(aaaa)) info.void = true;
    const addrs = [...a.records.map((r) => r.address), ...aaaa.records.map((r) => r.address)];
    info.addresses = addrs.length;
    return { info, ranges: addressRanges(mech, path, target, a, aaaa) };
  }

  /** An mx mechanism: the addresses of at most 10 MX hosts of its target. */
  private async mxInfo(
    mech: SpfMechanism,
    target: string,
    path: string[],
    info: SpfTermInfo,
  ): Promise<TermResult> {
    const ranges: SpfRange[] = [];
    const mx = await this.query(target, 'MX');
    if (mx.rcode !== 'NOERROR' && mx.rcode !== 'NXDOMAIN') {
      info.error = `MX ${target}: ${mx.rcode}`;
      return { info, ranges };
    }
    if (isVoid(mx)) info.void = true;
    const hosts = mx.records.filter((r) => r.exchange !== '').map((r) => r.exchange);
    info.mxHosts = hosts.length;
    if (hosts.length > MAX_NAMES_PER_MECHANISM) {
      info.error = `${target} has ${hosts.length} MX hosts; SPF allows at most ${MAX_NAMES_PER_MECHANISM} per mx mechanism (permerror)`;
    }
    let count = 0;
    const perHost = await Promise.all(
      hosts.slice(0, MAX_NAMES_PER_MECHANISM).map(async (host) => {
        const [a, aaaa] = await Promise.all([this.query(host, 'A'), this.query(host, 'AAAA')]);
        return { host, a, aaaa };
      }),
    );
    for (const { host, a, aaaa } of perHost) {
      count += a.records.length + aaaa.records.length;
      ranges.push(...addressRanges(mech, path, host, a, aaaa));
    }
    info.addresses = count;
    return { info, ranges };
  }
}

/** The ranges an a or mx mechanism authorises for one host: its addresses with the term's prefix lengths. */
function addressRanges(
  mech: SpfMechanism,
  path: string[],
  host: string,
  a: DnsAnswer<RecordOf<'A'>>,
  aaaa: DnsAnswer<RecordOf<'AAAA'>>,
): SpfRange[] {
  const ranges: SpfRange[] = [];
  for (const r of a.records)
    ranges.push({
      range: prefixed(r.address, mech.cidr4, 4),
      family: 4,
      qualifier: mech.qualifier,
      term: mech.text,
      path,
      host,
    });
  for (const r of aaaa.records)
    ranges.push({
      range: prefixed(r.address, mech.cidr6, 6),
      family: 6,
      qualifier: mech.qualifier,
      term: mech.text,
      path,
      host,
    });
  return ranges;
}

function usesP(mech: SpfMechanism): boolean {
  return mech.name === 'ptr' || usesPExp(mech.domainSpec?.tokens ?? []);
}

function usesPExp(tokens: { kind: string; letter?: string }[]): boolean {
  return tokens.some((t) => t.kind === 'macro' && t.letter === 'p');
}

/** Every node of the tree, depth first. */
export function nodesOf(tree: SpfNode | undefined): SpfNode[] {
  if (!tree) return [];
  return [tree, ...tree.children.flatMap(nodesOf)];
}

/** The branch from the root to `target`, as domains. */
export function pathTo(tree: SpfNode, target: SpfNode): string[] | undefined {
  if (tree === target) return [tree.domain];
  for (const child of tree.children) {
    const p = pathTo(child, target);
    if (p) return [tree.domain, ...p];
  }
  return undefined;
}
