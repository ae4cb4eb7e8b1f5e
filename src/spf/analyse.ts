import { z } from 'zod';
import { throwIfAborted } from '../net/deadline.js';
import { countsAsLookup, expandDomainSpec, isSpfRecord, parseSpf } from './record.js';
import type { SpfMechanism, SpfTerm } from './record.js';
import type { DnsAnswer } from '../dns/types.js';
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
  // Ranges of each record's subtree, in the order a reader of the records meets them.
  const rangesOf = new WeakMap<SpfNode, SpfRange[]>();
  const ptrTerms: string[] = [];
  let walked = 0;
  let truncated = false;
  let queries = 0;
  const budgetSpent = (): boolean => queries >= MAX_QUERIES;
  const query: Resolver['query'] = (name, type) => {
    throwIfAborted(options.signal);
    queries++;
    return resolver.query(name, type, options.signal ? { signal: options.signal } : {});
  };
  const dummyCtx = (d: string) => ({ sender: `postmaster@${d}`, domain: d, ip: '192.0.2.1', helo: d });

  const isVoid = (a: DnsAnswer): boolean =>
    a.rcode === 'NXDOMAIN' || (a.rcode === 'NOERROR' && a.records.length === 0);

  async function termInfo(
    term: SpfTerm,
    current: string,
    path: string[],
    hasAll: boolean,
  ): Promise<{ info: SpfTermInfo; child?: SpfNode; ranges: SpfRange[] }> {
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
      return { info, ranges, child: await walk(target, 'redirect', term.text, path) };
    }
    const mech = term as SpfMechanism;
    if (usesP(mech)) ptrTerms.push(mech.text);
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
    if (mech.name !== 'include' && budgetSpent()) {
      truncated = true;
      info.error = `not resolved: the walk stopped after ${MAX_QUERIES} DNS queries`;
      return { info, ranges };
    }
    if (mech.name === 'include') {
      return { info, ranges, child: await walk(target, 'include', mech.text, path) };
    }
    if (mech.name === 'exists') {
      const a = await query(target, 'A');
      if (isVoid(a)) info.void = true;
      return { info, ranges };
    }
    if (mech.name === 'a') {
      const [a, aaaa] = await Promise.all([query(target, 'A'), query(target, 'AAAA')]);
      if (a.rcode !== 'NOERROR' && a.rcode !== 'NXDOMAIN') info.error = `${a.type} ${target}: ${a.rcode}`;
      if (isVoid(a) && isVoid(aaaa)) info.void = true;
      const addrs = [...a.records.map((r) => r.address), ...aaaa.records.map((r) => r.address)];
      info.addresses = addrs.length;
      for (const r of a.records)
        ranges.push({
          range: prefixed(r.address, mech.cidr4, 4),
          family: 4,
          qualifier: mech.qualifier,
          term: mech.text,
          path,
          host: target,
        });
      for (const r of aaaa.records)
        ranges.push({
          range: prefixed(r.address, mech.cidr6, 6),
          family: 6,
          qualifier: mech.qualifier,
          term: mech.text,
          path,
          host: target,
        });
      return { info, ranges };
    }
    // mx
    const mx = await query(target, 'MX');
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
        const [a, aaaa] = await Promise.all([query(host, 'A'), query(host, 'AAAA')]);
        return { host, a, aaaa };
      }),
    );
    for (const { host, a, aaaa } of perHost) {
      count += a.records.length + aaaa.records.length;
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
    }
    info.addresses = count;
    return { info, ranges };
  }

  async function walk(
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
    if (walked >= MAX_RECORDS || budgetSpent()) {
      truncated = true;
      node.status = 'not_walked';
      return node;
    }
    walked++;
    const path = [...parentPath, name];
    const answer = await query(name, 'TXT');
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
    if (parsed.record.exp && usesPExp(parsed.record.exp.value.tokens)) ptrTerms.push(parsed.record.exp.text);
    const results = await Promise.all(parsed.record.terms.map((t) => termInfo(t, name, path, hasAll)));
    const collected: SpfRange[] = [];
    rangesOf.set(node, collected);
    for (const { info, child, ranges } of results) {
      node.terms.push(info);
      collected.push(...ranges);
      if (child) collected.push(...(rangesOf.get(child) ?? []));
      if (info.countsAsLookup) node.lookups++;
      if (info.void) node.voidLookups++;
      if (child) node.children.push(child);
    }
    node.totalLookups = node.lookups + node.children.reduce((n, c) => n + c.totalLookups, 0);
    node.totalVoidLookups = node.voidLookups + node.children.reduce((n, c) => n + c.totalVoidLookups, 0);
    return node;
  }

  const top = await query(domain, 'TXT');
  const analysis: SpfAnalysis = {
    domain,
    rcode: top.rcode,
    records: top.records.map((r) => r.text).filter(isSpfRecord),
    lookups: 0,
    voidLookups: 0,
    ranges: [],
    ptrTerms,
    truncated: false,
  };
  if (top.rcode !== 'NOERROR' && top.rcode !== 'NXDOMAIN') return analysis;
  if (analysis.records.length === 0) return analysis;
  const tree = await walk(domain, 'root', undefined, []);
  analysis.tree = tree;
  analysis.ranges = rangesOf.get(tree) ?? [];
  analysis.lookups = tree.totalLookups;
  analysis.voidLookups = tree.totalVoidLookups;
  analysis.truncated = truncated;
  return analysis;
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
