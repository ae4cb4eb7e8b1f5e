import { z } from 'zod';
import { checkExternalReporting, DmarcLookupSchema, lookupDmarc } from './lookup.js';
import type { DmarcLookup, ExternalAuthorisation } from './lookup.js';
import type { DmarcRecord } from './record.js';
import type { Finding } from '../report/model.js';
import { defineFindings } from '../checks/findings.js';
import { defineCheck } from '../checks/descriptors.js';

/**
 * DMARC (RFC 7489, RFC 9091): the policy record, its tags, where reports go and whether
 * external destinations authorised them, and what aligns under the record's modes.
 */
const F = defineFindings('dmarc', {
  'dmarc.record': {
    title: 'DMARC record',
    statuses: ['pass', 'fail', 'error'],
    meaning:
      'A DMARC record applies to the domain: its own at _dmarc.<domain>, or inherited from the organisational domain (pass). None, several (receivers then ignore DMARC), or one that is not a valid DMARC record (fail); the lookup failed (error).',
  },
  'dmarc.syntax': {
    title: 'DMARC tags',
    statuses: ['pass', 'warn', 'fail'],
    meaning:
      'Every tag is valid (pass). An invalid value of a required or policy tag (p, sp, np, pct, adkim, aspf, rua, ruf) (fail); unknown tags or invalid optional values that receivers ignore (warn).',
  },
  'dmarc.policy': {
    title: 'DMARC policy',
    statuses: ['pass', 'warn'],
    meaning:
      'p=quarantine or p=reject applied to all mail (pass). p=none only monitors; pct below 100 applies the policy to part of the mail; sp=/np=none leaves subdomains open (warn).',
  },
  'dmarc.reporting': {
    title: 'DMARC reports',
    statuses: ['pass', 'warn', 'fail'],
    meaning:
      'Aggregate reports (rua=) go to valid addresses (pass). No rua= means the domain owner never learns who sends as the domain (warn); invalid report URIs (fail).',
  },
  'dmarc.external_reporting': {
    title: 'External report authorisation',
    statuses: ['pass', 'fail', 'error'],
    meaning:
      'Report addresses in another organisation authorise the domain with a "v=DMARC1" record at <domain>._report._dmarc.<destination> (RFC 7489 §7.1) (pass); without it receivers send no reports there (fail); the lookup failed (error).',
  },
  'dmarc.alignment': {
    title: 'DMARC alignment',
    statuses: ['info'],
    meaning:
      'Which SPF (MAIL FROM) and DKIM (d=) domains align with the header From domain under the adkim/aspf modes (RFC 7489 §3.1).',
  },
});

const UriSchema = z.object({
  text: z.string(),
  scheme: z.string(),
  address: z.string().optional(),
  domain: z.string().optional(),
  limit: z.string().optional(),
  error: z.string().optional(),
});

export const DmarcDataSchema = DmarcLookupSchema.extend({
  policy: z
    .object({
      p: z.enum(['none', 'quarantine', 'reject']).optional(),
      sp: z.enum(['none', 'quarantine', 'reject']).optional(),
      np: z.enum(['none', 'quarantine', 'reject']).optional(),
      pct: z.number().int(),
      rua: z.array(UriSchema),
      ruf: z.array(UriSchema),
      adkim: z.enum(['r', 's']),
      aspf: z.enum(['r', 's']),
      fo: z.array(z.string()),
      ri: z.number().int(),
      /** The policy that applies to the checked domain (sp= when inherited). */
      effective: z.enum(['none', 'quarantine', 'reject']).optional(),
      problems: z.array(
        z.object({ tag: z.string(), severity: z.enum(['error', 'warning']), message: z.string() }),
      ),
    })
    .optional(),
  external: z.array(
    z.object({
      uri: z.string(),
      destination: z.string(),
      queried: z.string(),
      status: z.enum(['authorised', 'missing', 'error', 'same_organisation']),
      rcode: z.string().optional(),
    }),
  ),
});
export type DmarcData = z.infer<typeof DmarcDataSchema>;

/** The policy that applies to `domain`: sp= (or np= for non-existent names) when inherited. */
export function effectivePolicy(lookup: DmarcLookup): DmarcRecord['p'] {
  const r = lookup.record;
  if (!r) return undefined;
  if (lookup.inherited) return r.sp ?? r.p;
  return r.p;
}

function example(lookup: DmarcLookup, patch: Record<string, string | undefined>): string {
  const r = lookup.record;
  const tags = new Map<string, string>([['v', 'DMARC1']]);
  if (r) {
    for (const part of r.text.split(';')) {
      const eq = part.indexOf('=');
      if (eq < 0) continue;
      const name = part.slice(0, eq).trim().toLowerCase();
      if (name === 'v' || r.unknownTags.some((t) => t.startsWith(`${name}=`))) continue;
      tags.set(name, part.slice(eq + 1).trim());
    }
  }
  for (const [k, v] of Object.entries(patch)) {
    if (v === undefined) tags.delete(k);
    else tags.set(k, v);
  }
  if (!tags.has('p')) tags.set('p', 'none');
  const order = ['v', 'p', 'sp', 'np', 'pct', 'rua', 'ruf', 'adkim', 'aspf', 'fo', 'ri'];
  const rank = (k: string): number => (order.includes(k) ? order.indexOf(k) : order.length);
  const keys = [...tags.keys()].sort((a, b) => rank(a) - rank(b));
  return keys.map((k) => `${k}=${tags.get(k)}`).join('; ');
}

/** Findings from the lookup and the external authorisations. Pure. */
export function evaluateDmarc(lookup: DmarcLookup, external: ExternalAuthorisation[]): Finding[] {
  const d = lookup.domain;
  const name = `_dmarc.${lookup.policyDomain ?? d}`;
  const r = lookup.record;
  const unusable = recordFinding(lookup, name);
  if (unusable || !r) return unusable ? [unusable] : [];
  return [
    F.make('dmarc.record', 'pass', {
      summary: lookup.inherited
        ? `${d} has no DMARC record of its own; the record of its organisational domain applies: ${name} "${r.text}".`
        : `${name}: "${r.text}".`,
      subject: { name },
      details: { record: r.text, inherited: lookup.inherited },
    }),
    ...syntaxFindings(lookup, r, name),
    policyFinding(lookup, r),
    ...reportingFindings(lookup, r, name),
    ...externalFindings(lookup, external),
    alignmentFinding(lookup, r),
  ];
}

/** dmarc.record when there is no one valid record to evaluate; undefined when there is. */
function recordFinding(lookup: DmarcLookup, name: string): Finding | undefined {
  const d = lookup.domain;
  const failedRcode = [lookup.rcode, lookup.orgRcode].find((r) => r && r !== 'NOERROR' && r !== 'NXDOMAIN');
  if (failedRcode) {
    return F.make('dmarc.record', 'error', {
      summary: `Could not look up the DMARC record of ${d} (${failedRcode}).`,
      details: { rcode: lookup.rcode, orgRcode: lookup.orgRcode ?? null },
    });
  }
  if (lookup.records.length === 0 && lookup.misplaced.length > 0) {
    const text = lookup.misplaced[0]!;
    const rest = text
      .split(';')
      .map((t) => t.trim())
      .filter((t) => t && !/^v\s*=/i.test(t));
    return F.make('dmarc.record', 'fail', {
      summary: `The TXT record at _dmarc.${d} "${text}" is not valid: v=DMARC1 must be the first tag (RFC 7489 §6.4), so receivers ignore it and apply no DMARC policy.`,
      remedy: `Put v=DMARC1 first: "${['v=DMARC1', ...rest].join('; ')}".`,
      subject: { name: `_dmarc.${d}` },
      details: { record: text },
    });
  }
  if (lookup.records.length === 0) {
    return F.make('dmarc.record', 'fail', {
      summary: `No DMARC record at _dmarc.${d}${lookup.organisationalDomain !== d ? ` nor at _dmarc.${lookup.organisationalDomain}` : ''}. Receivers apply no policy to mail forging ${d}, and Gmail and Yahoo require DMARC from bulk senders.`,
      remedy: `Publish a TXT record at _dmarc.${lookup.organisationalDomain}: "v=DMARC1; p=none; rua=mailto:dmarc-reports@${lookup.organisationalDomain}" to start monitoring, then move to p=quarantine and p=reject.`,
    });
  }
  if (lookup.records.length > 1) {
    return F.make('dmarc.record', 'fail', {
      summary: `${name} has ${lookup.records.length} DMARC records (${lookup.records.map((r) => `"${r}"`).join(', ')}); RFC 7489 §6.6.3 makes receivers ignore them all, as if there were no DMARC.`,
      remedy: `Keep one record at ${name}, e.g. "${lookup.records[0]}".`,
      subject: { name },
      details: { records: lookup.records },
    });
  }
  if (!lookup.record) {
    return F.make('dmarc.record', 'fail', {
      summary: `The DMARC record at ${name} is not valid: ${lookup.parseError}. Record: "${lookup.records[0]}". Receivers ignore it.`,
      remedy: `Rewrite it as tag=value pairs separated by ";", starting with v=DMARC1, e.g. "v=DMARC1; p=none; rua=mailto:dmarc-reports@${lookup.organisationalDomain}".`,
      subject: { name },
      details: { record: lookup.records[0] },
    });
  }
  return undefined;
}

/** dmarc.syntax: every problem the parser noted, with the corrected record. */
function syntaxFindings(lookup: DmarcLookup, r: DmarcRecord, name: string): Finding[] {
  const findings: Finding[] = [];
  const errors = r.problems.filter((p) => p.severity === 'error');
  const warnings = r.problems.filter((p) => p.severity === 'warning');
  for (const p of errors) {
    findings.push(
      F.make('dmarc.syntax', 'fail', {
        summary: `In the DMARC record at ${name}: ${p.message}. Record: "${r.text}".`,
        remedy: `Correct the ${p.tag}= tag, e.g. "${example(lookup, fixFor(p.tag, r))}".`,
        subject: { name },
        details: { tag: p.tag },
      }),
    );
  }
  for (const p of warnings) {
    findings.push(
      F.make('dmarc.syntax', 'warn', {
        summary: `In the DMARC record at ${name}: ${p.message}.`,
        remedy: `Remove or correct it: "${example(lookup, fixFor(p.tag, r))}".`,
        subject: { name },
        details: { tag: p.tag },
      }),
    );
  }
  if (r.problems.length === 0) {
    findings.push(F.make('dmarc.syntax', 'pass', { summary: `All tags of the DMARC record are valid.` }));
  }

  return findings;
}

/** dmarc.policy: whether failing mail is stopped, for the domain, its subdomains and non-existent ones. */
function policyFinding(lookup: DmarcLookup, r: DmarcRecord): Finding {
  const d = lookup.domain;
  const eff = effectivePolicy(lookup);
  const policyIssues: string[] = [];
  const fixes: Record<string, string | undefined> = {};
  if (eff === 'none' || eff === undefined) {
    policyIssues.push(
      `the policy${lookup.inherited ? ' for subdomains (sp=)' : ''} is "none": receivers only report, they do not stop mail that fails DMARC (monitoring only)`,
    );
    fixes[lookup.inherited ? 'sp' : 'p'] = 'quarantine';
  }
  if (r.pct < 100 && eff !== 'none') {
    policyIssues.push(`pct=${r.pct}: the policy is applied to only ${r.pct}% of failing mail`);
    fixes.pct = undefined;
  }
  if (!lookup.inherited && r.p !== 'none' && r.sp === 'none') {
    policyIssues.push(`sp=none leaves every subdomain of ${d} unprotected`);
    fixes.sp = undefined;
  }
  if (!lookup.inherited && r.p !== 'none' && r.np === 'none') {
    policyIssues.push(`np=none leaves non-existent subdomains unprotected (RFC 9091)`);
    fixes.np = undefined;
  }
  if (policyIssues.length > 0) {
    return F.make('dmarc.policy', 'warn', {
      summary: `DMARC for ${d}: ${policyIssues.join('; ')}.`,
      remedy: `Once the aggregate reports show that your own mail passes, enforce: "${example(lookup, fixes)}".`,
      details: { p: r.p ?? null, sp: r.sp ?? null, np: r.np ?? null, pct: r.pct, effective: eff ?? null },
    });
  }
  return F.make('dmarc.policy', 'pass', {
    summary: `Mail that fails DMARC for ${d} is ${eff === 'reject' ? 'rejected' : 'quarantined (spam folder)'} (${lookup.inherited ? `sp=${r.sp ?? r.p}` : `p=${r.p}`}${r.pct < 100 ? `, pct=${r.pct}` : ''}).`,
    details: { p: r.p ?? null, sp: r.sp ?? null, np: r.np ?? null, pct: r.pct, effective: eff ?? null },
  });
}

/** dmarc.reporting: where aggregate (and failure) reports go, and invalid destinations. */
function reportingFindings(lookup: DmarcLookup, r: DmarcRecord, name: string): Finding[] {
  const d = lookup.domain;
  const findings: Finding[] = [];
  const badUris = [...r.rua, ...r.ruf].filter((u) => u.error);
  if (badUris.length > 0) {
    findings.push(
      F.make('dmarc.reporting', 'fail', {
        summary: `Invalid report destination${badUris.length > 1 ? 's' : ''} in ${name}: ${badUris.map((u) => u.error).join('; ')}.`,
        remedy: `Write each as mailto:address, comma-separated, e.g. "rua=mailto:dmarc-reports@${lookup.organisationalDomain}".`,
        details: { invalid: badUris.map((u) => u.text) },
      }),
    );
  }
  const goodRua = r.rua.filter((u) => !u.error);
  if (goodRua.length === 0 && badUris.length === 0) {
    findings.push(
      F.make('dmarc.reporting', 'warn', {
        summary: `The DMARC record has no rua= tag: receivers send no aggregate reports, so you cannot see who sends mail as ${d} or whether your own mail passes.`,
        remedy: `Add an aggregate report address: "${example(lookup, { rua: `mailto:dmarc-reports@${lookup.organisationalDomain}` })}".`,
      }),
    );
  } else if (goodRua.length > 0) {
    findings.push(
      F.make('dmarc.reporting', 'pass', {
        summary: `Aggregate reports go to ${goodRua.map((u) => u.address ?? u.text).join(', ')}${r.ruf.length ? `; failure reports to ${r.ruf.map((u) => u.address ?? u.text).join(', ')} (few receivers send them)` : ''}.`,
        details: { rua: goodRua.map((u) => u.text), ruf: r.ruf.map((u) => u.text) },
      }),
    );
  }

  return findings;
}

/** dmarc.external_reporting: destinations in another organisation must authorise the reports (RFC 7489 §7.1). */
function externalFindings(lookup: DmarcLookup, external: ExternalAuthorisation[]): Finding[] {
  const findings: Finding[] = [];
  for (const e of external) {
    if (e.status === 'same_organisation') continue;
    if (e.status === 'authorised') {
      findings.push(
        F.make('dmarc.external_reporting', 'pass', {
          summary: `${e.destination} authorises reports for ${lookup.policyDomain} (${e.queried} publishes v=DMARC1).`,
          subject: { name: e.queried },
          details: { ...e },
        }),
      );
    } else if (e.status === 'missing') {
      findings.push(
        F.make('dmarc.external_reporting', 'fail', {
          summary: `Reports for ${lookup.policyDomain} go to ${e.uri} in another organisation, but ${e.queried} has no "v=DMARC1" TXT record, so receivers will not send reports there (RFC 7489 §7.1).`,
          remedy: `Whoever runs ${e.destination} must publish "${e.queried}. IN TXT \\"v=DMARC1\\"" (report services do this when you register the domain with them); or use an address in ${lookup.organisationalDomain}.`,
          subject: { name: e.queried },
          details: { ...e },
        }),
      );
    } else {
      findings.push(
        F.make('dmarc.external_reporting', 'error', {
          summary: `Could not check whether ${e.destination} authorises reports: ${e.queried} returned ${e.rcode}.`,
          subject: { name: e.queried },
          details: { ...e },
        }),
      );
    }
  }

  return findings;
}

/** dmarc.alignment: which domains align with From: under aspf= and adkim=. */
function alignmentFinding(lookup: DmarcLookup, r: DmarcRecord): Finding {
  const d = lookup.domain;
  const org = lookup.organisationalDomain;
  const mode = (m: 'r' | 's') =>
    m === 's'
      ? `exactly ${d}`
      : `${org} or any of its subdomains (e.g. ${d === org ? `mail.${org}` : d}, bounces.${org})`;
  return F.make('dmarc.alignment', 'info', {
    summary: `For mail with From: …@${d}, SPF aligns when the MAIL FROM (Return-Path) domain is ${mode(r.aspf)} (aspf=${r.aspf}); DKIM aligns when the signature's d= is ${mode(r.adkim)} (adkim=${r.adkim}). A third-party sender's own domain (e.g. d=esp.example) never aligns: configure it to sign with d=${org}.`,
    details: { aspf: r.aspf, adkim: r.adkim, organisationalDomain: org },
  });
}

function fixFor(tag: string, r: DmarcRecord): Record<string, string | undefined> {
  switch (tag) {
    case 'p':
      return { p: 'none' };
    case 'sp':
    case 'np':
      return { [tag]: r.p ?? 'none' };
    case 'pct':
      return { pct: undefined };
    case 'adkim':
    case 'aspf':
      return { [tag]: 'r' };
    case 'rua':
    case 'ruf': {
      const good = r[tag].filter((u) => !u.error).map((u) => u.text);
      return { [tag]: good.length ? good.join(',') : `mailto:dmarc-reports@example.com` };
    }
    case 'v':
      return {};
    default:
      return { [tag]: undefined };
  }
}

declare module '../checks/types.js' {
  interface CheckData {
    dmarc: DmarcData;
  }
}

export const dmarcCheck = defineCheck('dmarc', {
  findings: F.specs,
  dataSchema: DmarcDataSchema,
  async run(ctx) {
    ctx.progress(`DMARC of ${ctx.domain.ascii}`, 0);
    const lookup = await lookupDmarc(ctx.dns, ctx.domain.ascii, { signal: ctx.signal });
    const r = lookup.record;
    const external =
      r && lookup.policyDomain
        ? await checkExternalReporting(
            ctx.dns,
            lookup.policyDomain,
            [...r.rua, ...r.ruf].filter((u) => !u.error),
            {
              signal: ctx.signal,
            },
          )
        : [];
    const { record: _record, ...rest } = lookup;
    const data: DmarcData = { ...rest, external };
    if (r) {
      const eff = effectivePolicy(lookup);
      data.policy = {
        ...(r.p ? { p: r.p } : {}),
        ...(r.sp ? { sp: r.sp } : {}),
        ...(r.np ? { np: r.np } : {}),
        pct: r.pct,
        rua: r.rua,
        ruf: r.ruf,
        adkim: r.adkim,
        aspf: r.aspf,
        fo: r.fo,
        ri: r.ri,
        ...(eff ? { effective: eff } : {}),
        problems: r.problems,
      };
    }
    return { findings: evaluateDmarc(lookup, external), data };
  },
});
