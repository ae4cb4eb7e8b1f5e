import { parseSpf } from './record.js';
import { analyseSpf, nodesOf, pathTo, SpfAnalysisSchema } from './analyse.js';
import type { SpfAnalysis, SpfNode } from './analyse.js';
import type { Finding } from '../report/model.js';
import { defineFindings, list } from '../checks/findings.js';
import { defineCheck } from '../checks/descriptors.js';

/**
 * SPF of the checked domain (RFC 7208): the record, its syntax, and a walk of the whole
 * include/redirect tree for lookup limits, void lookups, loops, deprecated ptr, the final
 * "all", and the flattened authorised ranges. The verdict for a given IP is `checkHost()`
 * (src/spf/evaluate.ts), also behind `mxdoctor spf`.
 */

const F = defineFindings('spf', {
  'spf.record': {
    title: 'SPF record',
    statuses: ['pass', 'fail', 'error'],
    meaning:
      'The domain publishes exactly one SPF record (a TXT record starting "v=spf1") (pass); none, so receivers cannot tell who may send for it, or more than one, which is a permanent error (RFC 7208 §4.5) (fail); the lookup failed (error).',
  },
  'spf.size': {
    title: 'SPF record size',
    statuses: ['pass', 'warn'],
    meaning:
      'The SPF record is at most 450 octets (pass); longer records push DNS answers past 512 octets, risking UDP truncation and fragmentation (RFC 7208 §3.4) (warn).',
  },
  'spf.syntax': {
    title: 'SPF syntax',
    statuses: ['pass', 'warn', 'fail'],
    meaning:
      'Every SPF record in the tree parses (pass); a syntax error anywhere makes every check a permerror (RFC 7208 §4.6), which DMARC treats as an SPF failure (fail). An unknown modifier that looks like a misspelt mechanism ("ip4=192.0.2.1", "include=…") is valid syntax that receivers silently ignore (warn). The finding quotes the offending term.',
  },
  'spf.lookups': {
    title: 'SPF DNS lookups',
    statuses: ['pass', 'warn', 'fail'],
    meaning:
      'Counts the terms that cost a DNS lookup (include, a, mx, ptr, exists, redirect) through the whole tree, per branch. Over 10 is a permerror for mail that reaches the end of the evaluation (RFC 7208 §4.6.4) (fail); 9 or 10 leaves no room for a provider adding an include (warn).',
  },
  'spf.void_lookups': {
    title: 'SPF void lookups',
    statuses: ['pass', 'warn', 'fail'],
    meaning:
      'Terms whose DNS lookup returns no records (NXDOMAIN or NODATA). More than 2 is a permerror (RFC 7208 §4.6.4) (fail); 1 or 2 point at stale mechanisms (warn).',
  },
  'spf.all': {
    title: 'SPF default result',
    statuses: ['pass', 'warn', 'fail'],
    meaning:
      'What the record says about everyone else: "-all" (fail: reject) and "~all" (softfail: accept but mark) pass; "?all" or no "all" (neutral: no opinion) is warn; "+all" authorises every host on the Internet (fail).',
  },
  'spf.ptr': {
    title: 'SPF ptr mechanism',
    statuses: ['warn'],
    meaning:
      'The tree uses the "ptr" mechanism or the %{p} macro: slow, unreliable, and deprecated by RFC 7208 §5.5 ("SHOULD NOT be used"); many receivers skip it.',
  },
  'spf.include': {
    title: 'SPF includes',
    statuses: ['pass', 'info', 'fail', 'error'],
    meaning:
      'Every include/redirect target publishes exactly one SPF record (pass). A target without SPF, with several records, or an include loop is a permerror (fail); a target depending on macros cannot be checked statically (info); a lookup failed (error).',
  },
  'spf.ranges': {
    title: 'SPF authorised addresses',
    statuses: ['info', 'warn', 'fail'],
    meaning:
      'The flattened set of IPv4/IPv6 ranges the tree authorises, with the branch each comes from (info). Very wide ranges (IPv4 shorter than /16, IPv6 shorter than /32) or a/mx terms expanding to many addresses authorise far more hosts than needed (warn); an mx term whose domain has more than 10 MX hosts is a permerror (fail).',
  },
});

/** RFC 7208 §3.4: keep records small enough for a 512-octet UDP answer. */
const SIZE_LIMIT = 450;

function branch(tree: SpfNode, node: SpfNode): string {
  return (pathTo(tree, node) ?? [node.domain]).join(' → ');
}

/** Turns the analysis into findings. Pure. */
export function evaluateSpf(a: SpfAnalysis): Finding[] {
  const domain = a.domain;
  const findings = recordFindings(a);
  const tree = a.tree;
  const record = a.records[0];
  if (findings.length > 0 || !tree || record === undefined) return findings;
  findings.push(
    F.make('spf.record', 'pass', {
      summary: `${domain} publishes one SPF record: "${record}".`,
      details: { record },
    }),
    sizeFinding(domain, record),
  );
  const nodes = nodesOf(tree);
  const syntax = syntaxFindings(domain, tree, nodes);
  findings.push(...syntax);
  if (tree.status !== 'ok') return findings;
  if (syntax.length === 0) {
    findings.push(
      F.make('spf.syntax', 'pass', {
        summary: `All ${nodes.filter((n) => n.status === 'ok').length} SPF record${nodes.length > 1 ? 's' : ''} in the tree parse.`,
      }),
    );
  }
  findings.push(...includeFindings(domain, tree, nodes));
  findings.push(lookupFinding(a, tree));
  findings.push(voidFinding(a, tree));
  findings.push(allFinding(tree));
  if (a.ptrTerms.length > 0) {
    findings.push(
      F.make('spf.ptr', 'warn', {
        summary: `The SPF tree uses ${list(a.ptrTerms.map((t) => `"${t}"`))}. "ptr" is deprecated (RFC 7208 §5.5): it is slow, puts load on reverse DNS, and many receivers ignore it, so mail relying on it may fail SPF.`,
        remedy: `Replace "ptr" with the addresses it stands for, e.g. "ip4:192.0.2.0/24" or "a:mail.${domain}".`,
        details: { terms: a.ptrTerms },
      }),
    );
  }
  findings.push(...rangeFindings(a, tree));
  return findings;
}

/** spf.record when there is no single record to evaluate (lookup failed, none, several); empty otherwise. */
function recordFindings(a: SpfAnalysis): Finding[] {
  const findings: Finding[] = [];
  const domain = a.domain;
  if (a.rcode !== 'NOERROR' && a.rcode !== 'NXDOMAIN') {
    findings.push(
      F.make('spf.record', 'error', {
        summary: `Could not look up the TXT records of ${domain} (${a.rcode}); SPF could not be checked.`,
        details: { rcode: a.rcode },
      }),
    );
    return findings;
  }
  if (a.records.length === 0) {
    findings.push(
      F.make('spf.record', 'fail', {
        summary: `${domain} publishes no SPF record${a.rcode === 'NXDOMAIN' ? ' (the name does not exist)' : ''}. Receivers cannot tell which servers may send mail as @${domain}; many treat such mail as suspicious, and DMARC can only pass through DKIM.`,
        remedy: `Publish one TXT record at ${domain} listing your senders, e.g. "${domain}. IN TXT \\"v=spf1 mx include:_spf.your-provider.example -all\\"". If the domain sends no mail, publish "v=spf1 -all".`,
        details: { rcode: a.rcode },
      }),
    );
    return findings;
  }
  if (a.records.length > 1) {
    findings.push(
      F.make('spf.record', 'fail', {
        summary: `${domain} publishes ${a.records.length} SPF records: ${a.records.map((r) => `"${r}"`).join(' and ')}. RFC 7208 §4.5 allows exactly one; every receiver returns permerror, so SPF fails for all mail.`,
        remedy: `Merge them into one record, e.g. "${mergeRecords(a.records)}", and delete the others.`,
        details: { records: a.records },
      }),
    );
    return findings;
  }
  return findings;
}

/** spf.size: RFC 7208 §3.4 keeps records small enough for one UDP answer. */
function sizeFinding(domain: string, record: string): Finding {
  const size = Buffer.byteLength(record, 'utf8');
  return size > SIZE_LIMIT
    ? F.make('spf.size', 'warn', {
        summary: `The SPF record of ${domain} is ${size} octets, over the ${SIZE_LIMIT} recommended by RFC 7208 §3.4; with other TXT records the answer may exceed 512 octets and need TCP or fragment.`,
        remedy: `Move groups of ip4:/ip6: terms into a subdomain record and include it (e.g. "include:_spf1.${domain}"), or drop senders you no longer use.`,
        details: { octets: size },
      })
    : F.make('spf.size', 'pass', {
        summary: `The SPF record is ${size} octets.`,
        details: { octets: size },
      });
}

/** spf.syntax fail/warn: syntax errors and likely typos anywhere in the tree. */
function syntaxFindings(domain: string, tree: SpfNode, nodes: SpfNode[]): Finding[] {
  const findings: Finding[] = [];
  // Syntax errors anywhere in the tree.
  const broken = nodes.filter((n) => n.status === 'syntax');
  for (const n of broken) {
    const at = n.syntax?.at ?? 0;
    findings.push(
      F.make('spf.syntax', 'fail', {
        summary: `Syntax error in the SPF record of ${n.domain}${n.via === 'root' ? '' : ` (reached by ${branch(tree, n)})`}: ${n.error}. Record: "${n.record}" (offending text at character ${at + 1}). Every SPF check of ${domain} is a permerror.`,
        remedy: syntaxRemedy(n),
        subject: { name: n.domain },
        details: { domain: n.domain, record: n.record, term: n.syntax?.term ?? null, at },
      }),
    );
  }
  for (const n of nodes) {
    for (const m of n.unknownModifiers ?? []) {
      const fixed = suggestFix(m);
      if (fixed === undefined) continue;
      findings.push(
        F.make('spf.syntax', 'warn', {
          summary: `"${m}" in the SPF record of ${n.domain} is not a mechanism but an unknown modifier, which receivers ignore: the addresses it was meant to authorise are not authorised.`,
          remedy: `Write "${fixed}": "${n.record!.replace(m, fixed)}".`,
          subject: { name: n.domain },
          details: { domain: n.domain, record: n.record, term: m, at: n.record!.indexOf(m) },
        }),
      );
    }
  }
  return findings;
}

/** spf.include: include and redirect targets that go nowhere, macros that cannot be followed. */
function includeFindings(domain: string, tree: SpfNode, nodes: SpfNode[]): Finding[] {
  const findings: Finding[] = [];
  // Includes and redirects that go nowhere.
  let includeProblems = 0;
  for (const n of nodes.slice(1)) {
    const how = `"${n.term}" (${branch(tree, n)})`;
    if (n.status === 'none') {
      includeProblems++;
      findings.push(
        F.make('spf.include', 'fail', {
          summary: `${how} points at ${n.domain}, which ${n.rcode === 'NXDOMAIN' ? 'does not exist' : 'publishes no SPF record'}. RFC 7208 §5.2/§6.1 make this a permerror: SPF fails for all mail of ${domain}.`,
          remedy: `Remove "${n.term}" or correct the name (check the provider's documentation for the exact include, e.g. "include:_spf.provider.example").`,
          subject: { name: n.domain },
          details: { term: n.term, target: n.domain, rcode: n.rcode },
        }),
      );
    } else if (n.status === 'multiple') {
      includeProblems++;
      findings.push(
        F.make('spf.include', 'fail', {
          summary: `${how} points at ${n.domain}, which publishes ${n.records?.length} SPF records; that is a permerror.`,
          remedy: `Whoever runs ${n.domain} must merge its SPF records into one; until then, list the needed ranges yourself instead of "${n.term}".`,
          subject: { name: n.domain },
          details: { term: n.term, records: n.records },
        }),
      );
    } else if (n.status === 'loop') {
      includeProblems++;
      findings.push(
        F.make('spf.include', 'fail', {
          summary: `Include loop: ${n.error}. Evaluation ends in a permerror (the lookup limit).`,
          remedy: `Remove "${n.term}" from the record that closes the loop.`,
          subject: { name: n.domain },
          details: { term: n.term },
        }),
      );
    } else if (n.status === 'dns_error') {
      includeProblems++;
      findings.push(
        F.make('spf.include', 'error', {
          summary: `${how}: ${n.error}; receivers get a temperror for mail that reaches this term.`,
          subject: { name: n.domain },
          details: { term: n.term, rcode: n.rcode },
        }),
      );
    }
  }
  const macroTerms = nodes.flatMap((n) => n.terms.filter((t) => t.dependsOnMessage).map((t) => t.text));
  if (macroTerms.length > 0) {
    findings.push(
      F.make('spf.include', 'info', {
        summary: `${macroTerms.length} term${macroTerms.length > 1 ? 's' : ''} depend on the message through macros and could not be followed: ${list(macroTerms.map((t) => `"${t}"`))}.`,
        details: { terms: macroTerms },
      }),
    );
  }
  if (includeProblems === 0 && nodes.length > 1) {
    findings.push(
      F.make('spf.include', 'pass', {
        summary: `All ${nodes.length - 1} include/redirect targets publish one SPF record: ${list(nodes.slice(1).map((n) => n.domain))}.`,
      }),
    );
  }

  return findings;
}

function mergeRecords(records: string[]): string {
  const terms = new Set<string>();
  let all = '';
  for (const r of records) {
    for (const t of r.split(/ +/).slice(1)) {
      if (/^[-~?+]?all$/i.test(t)) all ||= t;
      else if (t) terms.add(t);
    }
  }
  return ['v=spf1', ...terms, all || '-all'].join(' ');
}

function syntaxRemedy(n: SpfNode): string {
  const term = n.syntax?.term;
  if (!term) return `Rewrite the record as "v=spf1 <mechanisms> -all", separating terms with single spaces.`;
  const fixed = suggestFix(term);
  const example = fixed !== undefined ? n.record!.replace(term, fixed) : n.record!.replace(` ${term}`, '');
  return fixed !== undefined
    ? `Write "${fixed}" instead of "${term}": "${example}".`
    : `Correct or remove "${term}", e.g. "${example}".`;
}

/** Common typos with their correction. */
function suggestFix(term: string): string | undefined {
  const t = term.replace(/[\r\n\t]/g, '');
  const ip = /^([-~?+]?)(ip[46])[=](.+)$/i.exec(t);
  if (ip) return `${ip[1]}${ip[2]!.toLowerCase()}:${ip[3]}`;
  const inc = /^([-~?+]?)(include|exists)[=](.+)$/i.exec(t);
  if (inc) return `${inc[1]}${inc[2]!.toLowerCase()}:${inc[3]}`;
  const ipv6in4 = /^([-~?+]?)ip4:([0-9a-f:][0-9a-f]*:[0-9a-f:]*)(\/\d+)?$/i.exec(t);
  if (ipv6in4) return `${ipv6in4[1]}ip6:${ipv6in4[2]}${ipv6in4[3] ?? ''}`;
  const ipv4in6 = /^([-~?+]?)ip6:(\d+\.\d+\.\d+\.\d+)(\/\d+)?$/i.exec(t);
  if (ipv4in6) return `${ipv4in6[1]}ip4:${ipv4in6[2]}${ipv4in6[3] ?? ''}`;
  if (/^[-~?+]?all[^a-z]/i.test(t)) return t.slice(0, t.toLowerCase().indexOf('all') + 3);
  if (t !== term && parseSpf(`v=spf1 ${t}`).ok) return t;
  return undefined;
}

function branchLookups(tree: SpfNode): string[] {
  const out: string[] = [];
  if (tree.lookups - tree.children.length > 0) {
    out.push(`${tree.domain} itself: ${tree.lookups - tree.children.length}`);
  }
  for (const c of tree.children) {
    out.push(`"${c.term}": ${c.totalLookups + 1}`);
  }
  return out;
}

function lookupFinding(a: SpfAnalysis, tree: SpfNode): Finding {
  const perBranch = branchLookups(tree);
  const details = {
    total: a.lookups,
    limit: 10,
    branches: tree.children.map((c) => ({ term: c.term, domain: c.domain, lookups: c.totalLookups + 1 })),
    ownTerms: tree.lookups - tree.children.length,
    truncated: a.truncated,
  };
  const breakdown = perBranch.length ? ` Per branch: ${perBranch.join('; ')}.` : '';
  if (a.lookups > 10) {
    const heaviest = [...tree.children].sort((x, y) => y.totalLookups - x.totalLookups)[0];
    return F.make('spf.lookups', 'fail', {
      summary: `Evaluating the SPF tree of ${a.domain} needs ${a.lookups}${a.truncated ? '+' : ''} DNS lookups; RFC 7208 §4.6.4 allows 10. Mail from a host listed late in the record (or not listed) gets permerror, which DMARC counts as an SPF failure.${breakdown}`,
      remedy: `Cut lookups below 10: remove includes of services you no longer use, replace "a"/"mx" terms by the ip4:/ip6: ranges they stand for${heaviest ? `, or ask whether "${heaviest.term}" (${heaviest.totalLookups + 1} lookup${heaviest.totalLookups === 0 ? '' : 's'}) has a smaller variant` : ''}. Send bulk mail from a subdomain with its own SPF record.`,
      details,
    });
  }
  if (a.lookups >= 9) {
    return F.make('spf.lookups', 'warn', {
      summary: `The SPF tree of ${a.domain} needs ${a.lookups} of the 10 allowed DNS lookups; one more include by you or a provider breaks SPF for all mail.${breakdown}`,
      remedy: `Free some room: replace "a"/"mx" terms by ip4:/ip6: ranges, remove unused includes.`,
      details,
    });
  }
  return F.make('spf.lookups', 'pass', {
    summary: `The SPF tree of ${a.domain} needs ${a.lookups} of the 10 allowed DNS lookups.${breakdown}`,
    details,
  });
}

function voidFinding(a: SpfAnalysis, tree: SpfNode): Finding {
  const voids = nodesOf(tree).flatMap((n) =>
    n.terms.filter((t) => t.void).map((t) => ({ domain: n.domain, term: t.text })),
  );
  const text = voids.map((v) => `"${v.term}" in ${v.domain}`);
  const details = { count: voids.length, limit: 2, terms: voids };
  if (voids.length > 2) {
    return F.make('spf.void_lookups', 'fail', {
      summary: `${voids.length} terms look up names that have no records: ${list(text)}. More than 2 such "void lookups" is a permerror (RFC 7208 §4.6.4).`,
      remedy: `Remove the terms that point at names without records (${list(voids.map((v) => `"${v.term}"`))}).`,
      details,
    });
  }
  if (voids.length > 0) {
    return F.make('spf.void_lookups', 'warn', {
      summary: `${list(text)} look${voids.length === 1 ? 's' : ''} up a name without records (a "void lookup"; more than 2 is a permerror). It authorises nothing.`,
      remedy: `Remove ${list(voids.map((v) => `"${v.term}"`))} or fix the name it points at.`,
      details,
    });
  }
  return F.make('spf.void_lookups', 'pass', { summary: `No term looks up a name without records.`, details });
}

/** The "all" that ends evaluation: the root's, or the redirect target's when there is none. */
function effectiveAll(tree: SpfNode): { node: SpfNode; all?: string } {
  let node = tree;
  for (let i = 0; i < 10; i++) {
    const all = node.terms.find((t) => /^[-~?+]?all$/i.test(t.text));
    if (all) return { node, all: all.text };
    const redirect = node.children.find((c) => c.via === 'redirect' && c.status === 'ok');
    if (!redirect) return { node };
    node = redirect;
  }
  return { node };
}

function allFinding(tree: SpfNode): Finding {
  const { node, all } = effectiveAll(tree);
  const where = node === tree ? '' : ` (through redirect to ${node.domain})`;
  const q = all ? (all[0] === 'a' || all[0] === 'A' ? '+' : all[0]) : undefined;
  const example = (tree.record ?? 'v=spf1').replace(/(^|\S)\s+[-~?+]?all\b/i, '$1').trim();
  if (!all) {
    return F.make('spf.all', 'warn', {
      summary: `The SPF record${where} ends without an "all" mechanism, so mail from any other server gets "neutral" — SPF says nothing about forgeries.`,
      remedy: `End the record with "-all" (or "~all" while you verify your senders): "${example} -all".`,
      details: { all: null },
    });
  }
  if (q === '+') {
    return F.make('spf.all', 'fail', {
      summary: `The SPF record${where} ends with "${all}": every host on the Internet is authorised to send as this domain; SPF is worse than absent.`,
      remedy: `Replace "${all}" with "-all" (or "~all"): "${example} -all".`,
      details: { all },
    });
  }
  if (q === '?') {
    return F.make('spf.all', 'warn', {
      summary: `The SPF record${where} ends with "${all}" (neutral): forged mail from other servers is neither failed nor marked; SPF does not protect the domain.`,
      remedy: `Use "~all" (softfail) or "-all" (fail): "${example} -all".`,
      details: { all },
    });
  }
  if (q === '~') {
    return F.make('spf.all', 'pass', {
      summary: `The SPF record${where} ends with "${all}" (softfail): other servers' mail is accepted but marked. With a DMARC policy of quarantine/reject, softfail counts as an SPF failure just like "-all", so DMARC enforces it; without DMARC, receivers usually only add spam score.`,
      details: { all },
    });
  }
  return F.make('spf.all', 'pass', {
    summary: `The SPF record${where} ends with "${all}" (fail): receivers may reject mail from servers not listed. DMARC treats it like "~all"; some receivers reject at SMTP time on "-all" before DMARC (and DKIM) are evaluated, so forwarded mail can bounce.`,
    details: { all },
  });
}

function rangeFindings(a: SpfAnalysis, tree: SpfNode): Finding[] {
  const findings: Finding[] = [];
  const permitted = a.ranges.filter((r) => r.qualifier !== '-');
  const wide = permitted.filter((r) => {
    const bits = Number(r.range.split('/')[1]);
    return r.family === 4 ? bits < 16 : bits < 32;
  });
  const nodes = nodesOf(tree);
  const tooManyMx = nodes.flatMap((n) =>
    n.terms
      .filter((t) => (t.mxHosts ?? 0) > 10)
      .map((t) => ({ domain: n.domain, term: t.text, hosts: t.mxHosts })),
  );
  const big = nodes.flatMap((n) =>
    n.terms
      .filter((t) => (t.addresses ?? 0) > 10)
      .map((t) => ({ domain: n.domain, term: t.text, addresses: t.addresses })),
  );
  for (const m of tooManyMx) {
    findings.push(
      F.make('spf.ranges', 'fail', {
        summary: `"${m.term}" in the SPF record of ${m.domain} finds ${m.hosts} MX hosts; SPF evaluates at most 10 per mx mechanism and returns permerror beyond that (RFC 7208 §4.6.4).`,
        remedy: `Replace "${m.term}" by ip4:/ip6: ranges of the servers that actually send mail.`,
        subject: { name: m.domain },
        details: m,
      }),
    );
  }
  if (wide.length > 0 || big.length > 0) {
    const parts = [
      ...wide.map((r) => `${r.range} from "${r.term}" (${r.path.join(' → ')})`),
      ...big.map((b) => `"${b.term}" in ${b.domain} expands to ${b.addresses} addresses`),
    ];
    findings.push(
      F.make('spf.ranges', 'warn', {
        summary: `The SPF tree authorises very wide ranges: ${list(parts, 4)}. Every host in them can send mail that passes SPF for ${a.domain}.`,
        remedy: `Narrow them to the servers that send your mail, e.g. "ip4:192.0.2.10/32" instead of a /8, and prefer ip4:/ip6: terms over a/mx terms that resolve to whole farms.`,
        details: { wide: wide.map((r) => ({ range: r.range, term: r.term, path: r.path })), large: big },
      }),
    );
  }
  // The same range reached through several terms (say "mx a ip4:…" naming one server three
  // times) is authorised once: count it once and name the repetition.
  const byRange = new Map<string, string[]>();
  for (const r of permitted) byRange.set(r.range, [...(byRange.get(r.range) ?? []), r.term]);
  const distinct = [...byRange.keys()];
  const count = (family: 4 | 6): number =>
    new Set(permitted.filter((r) => r.family === family).map((r) => r.range)).size;
  const [n4, n6] = [count(4), count(6)];
  const repeated = [...byRange].filter(([, terms]) => terms.length > 1);
  findings.push(
    F.make('spf.ranges', 'info', {
      summary: `The SPF tree authorises ${n4} IPv4 and ${n6} IPv6 range${n6 === 1 ? '' : 's'}${
        distinct.length ? `: ${list(distinct, 6)}` : ''
      }${a.ptrTerms.length || nodes.some((n) => n.terms.some((t) => t.dependsOnMessage)) ? ', plus hosts matched by ptr or macro terms' : ''}.${
        repeated.length
          ? ` ${list(
              repeated.map(
                ([range, terms]) =>
                  `${range} is authorised ${terms.length} times (${terms.map((t) => `"${t}"`).join(', ')})`,
              ),
              3,
            )}: the repetition is harmless, but each a/mx/include term costs a DNS lookup.`
          : ''
      } The full list with the branch of each is in the report data (data.spf.ranges).`,
      details: { ipv4: n4, ipv6: n6, ...(repeated.length ? { repeated: Object.fromEntries(repeated) } : {}) },
    }),
  );
  return findings;
}

declare module '../checks/types.js' {
  interface CheckData {
    spf: SpfAnalysis;
  }
}

export const spfCheck = defineCheck('spf', {
  findings: F.specs,
  dataSchema: SpfAnalysisSchema,
  async run(ctx) {
    ctx.progress(`SPF of ${ctx.domain.ascii}`, 0);
    const analysis = await analyseSpf(ctx.dns, ctx.domain.ascii, { signal: ctx.signal });
    return { findings: evaluateSpf(analysis), data: analysis };
  },
});
