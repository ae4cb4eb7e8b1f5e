import { z } from 'zod';
import { parseDkimKey } from './record.js';
import type { Finding } from '../report/model.js';
import type { DnsAnswer, Resolver, TxtRecord } from '../dns/types.js';
import { defineFindings, list } from '../checks/findings.js';
import { defineCheck } from '../checks/descriptors.js';

/**
 * DKIM keys (RFC 6376, RFC 8463). Selectors are not discoverable, so the check asks the
 * selectors the user names (--dkim-selector) plus a list of the usual ones, and judges every
 * key it finds. Not finding one proves nothing, and the findings say so — unless
 * _domainkey.<domain> itself does not exist: nothing exists beneath a name that does not
 * (RFC 8020), so then no selector can have a key, and the usual ones are not all asked.
 */
const F = defineFindings('dkim', {
  'dkim.selectors': {
    title: 'DKIM selectors',
    statuses: ['pass', 'info', 'fail', 'error'],
    meaning:
      'Which selectors publish a key at <selector>._domainkey.<domain> (pass when at least one). None of the common selectors found (info: DKIM may still be in use under another selector; name it with --dkim-selector), or _domainkey.<domain> does not exist, so no selector has a key (info). A selector named with --dkim-selector has no key (fail). Lookups failed (error).',
  },
  'dkim.tree': {
    title: 'DKIM name tree',
    statuses: ['warn'],
    meaning:
      'The name server answers NXDOMAIN for _domainkey.<domain> although selectors beneath it exist (warn): it denies an empty non-terminal, and resolvers that take NXDOMAIN to cover every name beneath (RFC 8020) miss the keys, so DKIM fails for the mail they verify.',
  },
  'dkim.key': {
    title: 'DKIM key',
    statuses: ['pass', 'info', 'warn', 'fail'],
    meaning:
      'One per selector found. RSA ≥ 2048 bits or Ed25519 (pass); revoked key, p= empty (info); 1024-bit RSA, testing mode t=y, SHA-1 only h=sha1, non-standard encoding (warn); RSA under 1024 bits (receivers ignore the signature), malformed base64 or key, unsupported k=, invalid record (fail).',
  },
});

/** Selectors in common use: generic names and the large providers' defaults. */
export const COMMON_DKIM_SELECTORS = [
  'default',
  'dkim',
  'mail',
  'email',
  'smtp',
  'mx',
  'key1',
  'key2',
  'k1',
  'k2',
  'k3',
  's1',
  's2',
  'sig1',
  'selector1', // Microsoft 365
  'selector2', // Microsoft 365
  'google', // Google Workspace
  'dkim1',
  'fm1', // Fastmail
  'fm2',
  'fm3',
  'protonmail', // Proton
  'protonmail2',
  'protonmail3',
  'mandrill', // Mailchimp Transactional
  'mxvault',
  'zendesk1',
  'zendesk2',
  'hs1', // HubSpot
  'hs2',
  'pm', // Postmark
  'mailjet',
  'smtpapi', // SendGrid (legacy)
  'cm', // Campaign Monitor
  'krs', // Mailgun
  'mailo',
  'everlytickey1',
  'everlytickey2',
  'ctct1', // Constant Contact
  'ctct2',
  'sendinblue', // Brevo
  'zoho',
  'zmail',
  'turbo-smtp',
  'amazonses',
];

/**
 * The common selectors asked beside _domainkey.<domain> itself, before its answer is known:
 * those of the largest providers and the generic default. When _domainkey.<domain> does not
 * exist (NXDOMAIN) the others are not asked, but a key under one of these shows a name
 * server that denies an empty non-terminal (dkim.tree): then every selector is asked.
 */
const SENTINEL_DKIM_SELECTORS = ['selector1', 'google', 'default', 's1'];

export const DkimKeySchema = z.object({
  selector: z.string(),
  name: z.string().describe('<selector>._domainkey.<domain>'),
  source: z.enum(['user', 'common']),
  rcode: z.string(),
  cnameChain: z.array(z.string()),
  /** The DKIM key record text; several when the selector publishes more than one. */
  records: z.array(z.string()),
  keyType: z.string().optional(),
  bits: z.number().int().optional(),
  revoked: z.boolean().optional(),
  testing: z.boolean().optional(),
  hashes: z.array(z.string()).optional(),
  error: z.string().optional(),
  notes: z.array(z.string()).optional(),
});
export type DkimKey = z.infer<typeof DkimKeySchema>;

export const DkimDataSchema = z.object({
  asked: z.array(z.string()).describe('Selectors asked'),
  tree: z
    .object({ name: z.string(), rcode: z.string() })
    .optional()
    .describe(
      'The answer for _domainkey.<domain> itself: NXDOMAIN means no selector exists beneath it (RFC 8020); absent in reports made before it was asked',
    ),
  found: z.array(DkimKeySchema).describe('Selectors that publish a DKIM key record'),
  missing: z.array(z.string()).describe('User-named selectors without a record'),
  errors: z.array(z.object({ selector: z.string(), rcode: z.string() })),
});
export type DkimData = z.infer<typeof DkimDataSchema>;

/**
 * Looks up and parses the DKIM key of one selector. Returns undefined records (empty list)
 * when there is none. Library function for the check and bounce diagnosis.
 */
export async function lookupDkimKey(
  resolver: Resolver,
  domain: string,
  selector: string,
  options: { signal?: AbortSignal; source?: 'user' | 'common' } = {},
): Promise<DkimKey> {
  const name = dkimKeyName(selector, domain);
  const answer = await resolver.query(name, 'TXT', options.signal ? { signal: options.signal } : {});
  return dkimKeyFrom(answer, selector, name, options.source ?? 'user');
}

/** Where the key of a selector is published (RFC 6376 §3.6.2.1). */
export function dkimKeyName(selector: string, domain: string): string {
  return `${selector}._domainkey.${domain}`;
}

/** The DKIM key (or its absence) in the TXT answer for one selector. Pure. */
export function dkimKeyFrom(
  answer: DnsAnswer<TxtRecord>,
  selector: string,
  name: string,
  source: 'user' | 'common',
): DkimKey {
  const records = answer.records
    .map((r) => r.text)
    .filter((t) => /(^|;)\s*p\s*=/.test(t) || /^v\s*=\s*DKIM1/i.test(t));
  const key: DkimKey = {
    selector,
    name,
    source,
    rcode: answer.rcode,
    cnameChain: answer.cnameChain,
    records,
  };
  if (records.length === 0) return key;
  if (records.length > 1) {
    key.error = `${name} publishes ${records.length} key records; verifiers pick one at random, so signatures fail at random`;
    return key;
  }
  const parsed = parseDkimKey(records[0]!);
  if (!parsed.ok) {
    key.error = parsed.error;
    return key;
  }
  const r = parsed.record;
  key.keyType = r.keyType;
  key.revoked = r.revoked;
  key.testing = r.flags.includes('y');
  key.hashes = r.hashes;
  if (r.bits !== undefined) key.bits = r.bits;
  if (r.keyError) key.error = r.keyError;
  if (r.notes.length) key.notes = r.notes;
  return key;
}

function keyFinding(domain: string, k: DkimKey): Finding {
  const subject = { name: k.name };
  const record = k.records[0] ?? '';
  const shown = record.length > 120 ? `${record.slice(0, 117)}...` : record;
  const details = { selector: k.selector, keyType: k.keyType ?? null, bits: k.bits ?? null, record };
  const newKey = `"${k.name}. IN TXT \\"v=DKIM1; k=rsa; p=<base64 of a 2048-bit public key>\\""`;
  if (k.error) {
    return F.make('dkim.key', 'fail', {
      summary: `The DKIM key at ${k.name} cannot be used: ${k.error}. Record: "${shown}". Signatures with s=${k.selector} fail verification.`,
      remedy: `Publish the public key again exactly as your mail system exports it, as one TXT record (long keys split into several strings of one record, not several records): ${newKey}.`,
      subject,
      details,
    });
  }
  if (k.revoked) {
    return F.make('dkim.key', 'info', {
      summary: `The DKIM key at ${k.name} is revoked (p= is empty): signatures with s=${k.selector} fail. Fine if the selector is retired.`,
      subject,
      details,
    });
  }
  const problems: string[] = [];
  if (k.keyType === 'rsa' && k.bits !== undefined && k.bits < 1024) {
    return F.make('dkim.key', 'fail', {
      summary: `The DKIM key at ${k.name} is RSA ${k.bits} bits; RFC 8301 requires at least 1024 and receivers treat smaller keys as no signature.`,
      remedy: `Generate a 2048-bit key, publish it under a new selector, switch signing to it, then revoke this one (p=): ${newKey}.`,
      subject,
      details,
    });
  }
  if (k.keyType === 'rsa' && k.bits !== undefined && k.bits < 2048) {
    problems.push(`RSA ${k.bits} bits (1024-bit keys are considered breakable; use 2048)`);
  }
  if (k.testing) problems.push('t=y: testing mode, receivers may treat signatures as unsigned');
  if (k.hashes?.length && !k.hashes.includes('sha256')) {
    problems.push(
      `h=${k.hashes.join(':')}: only SHA-1 is allowed, which RFC 8301 forbids verifiers to accept`,
    );
  }
  for (const n of k.notes ?? []) problems.push(n);
  if (problems.length > 0) {
    return F.make('dkim.key', 'warn', {
      summary: `The DKIM key at ${k.name}: ${problems.join('; ')}.`,
      remedy: `Publish a 2048-bit RSA (or Ed25519 alongside RSA) key under a new selector without t=y or h=sha1, e.g. ${newKey}, and switch signing to it.`,
      subject,
      details,
    });
  }
  return F.make('dkim.key', 'pass', {
    summary: `${k.name}: ${k.keyType === 'ed25519' ? 'Ed25519' : `RSA ${k.bits} bits`}${k.cnameChain.length ? ` (via CNAME ${k.cnameChain.join(' → ')})` : ''}.`,
    subject,
    details,
  });
}

/** Findings from the lookups. Pure. */
/** "Lookups of 3 selectors failed (a: SERVFAIL, …)", or one phrase when they all failed alike. */
function errorList(errors: { selector: string; rcode: string }[]): string {
  const rcodes = new Set(errors.map((e) => e.rcode));
  if (errors.length > 3 && rcodes.size === 1)
    return `All ${errors.length} selector lookups failed with ${[...rcodes][0]} (${list(
      errors.map((e) => e.selector),
      5,
    )})`;
  return `Lookups of ${errors.length} selector${errors.length > 1 ? 's' : ''} failed (${errors.map((e) => `${e.selector}: ${e.rcode}`).join(', ')})`;
}

/** Names of selectors that exist although _domainkey.<domain> was denied (NXDOMAIN). Pure. */
function existingBelowDenial(treeRcode: string | undefined, keys: readonly DkimKey[]): string[] {
  if (treeRcode !== 'NXDOMAIN') return [];
  return keys
    .filter((k) => k.records.length > 0 || k.cnameChain.length > 0 || k.rcode === 'NOERROR')
    .map((k) => k.name);
}

export function evaluateDkim(
  domain: string,
  data: DkimData,
  userSelectors: string[],
  keys: readonly DkimKey[] = data.found,
): Finding[] {
  const findings: Finding[] = [];
  const tree = `_domainkey.${domain}`;
  const beneath = existingBelowDenial(data.tree?.rcode, keys);
  if (beneath.length > 0) {
    findings.push(
      F.make('dkim.tree', 'warn', {
        summary: `The name server answers NXDOMAIN for ${tree} (no such name), yet ${list(beneath, 3)} beneath it exist${beneath.length === 1 ? 's' : ''}: it denies an empty non-terminal. Resolvers that take NXDOMAIN to mean that nothing exists beneath the name (RFC 8020) do not find these keys, and DKIM fails for the mail they verify.`,
        remedy: `A name with names beneath it must answer NOERROR without records (RFC 8020 §2): have the DNS provider fix its server, or move the zone. Until then, a TXT record at ${tree} itself (e.g. the DomainKeys-era "o=~", which nothing reads today) makes the name exist.`,
        subject: { name: tree },
        details: { rcode: data.tree?.rcode ?? null, beneath },
      }),
    );
  }
  for (const s of data.missing) {
    findings.push(
      F.make('dkim.selectors', 'fail', {
        summary: `No DKIM key at ${s}._domainkey.${domain}, the selector you named: mail signed with s=${s} fails DKIM.`,
        remedy: `Publish the public key your mail system shows for selector "${s}" as a TXT record at ${s}._domainkey.${domain} (or the CNAME your provider gives).`,
        subject: { name: `${s}._domainkey.${domain}` },
      }),
    );
  }
  if (data.errors.length > 0) {
    findings.push(
      F.make('dkim.selectors', 'error', {
        summary: `${errorList(data.errors)}; their keys could not be checked.`,
        details: { errors: data.errors },
      }),
    );
  }
  if (data.found.length > 0) {
    findings.push(
      F.make('dkim.selectors', 'pass', {
        summary: `DKIM keys found for selector${data.found.length > 1 ? 's' : ''} ${data.found.map((k) => k.selector).join(', ')} (of ${data.asked.length} asked). Other selectors may exist: they cannot be listed from DNS.`,
        details: { found: data.found.map((k) => k.selector), asked: data.asked.length },
      }),
    );
  } else if (
    data.missing.length === 0 &&
    data.errors.length === 0 &&
    data.tree?.rcode === 'NXDOMAIN' &&
    beneath.length === 0
  ) {
    findings.push(
      F.make('dkim.selectors', 'info', {
        summary: `${domain} publishes no DKIM key: ${tree} does not exist (NXDOMAIN), and no name exists beneath a name that does not (RFC 8020), so no selector has a key. Mail from ${domain} cannot pass DKIM; DMARC then rests on SPF alone, which forwarding breaks.`,
        remedy: `If ${domain} sends mail, have each service that sends it sign with DKIM and publish the key it gives you at <selector>._domainkey.${domain}.`,
        subject: { name: tree },
        details: { tree: data.tree, asked: data.asked },
      }),
    );
  } else if (data.missing.length === 0 && data.errors.length === 0) {
    findings.push(
      F.make('dkim.selectors', 'info', {
        summary: `None of the ${data.asked.length} common DKIM selectors${userSelectors.length ? ' or the ones you named' : ''} has a key for ${domain}. This does not prove that ${domain} does not sign with DKIM: selectors cannot be listed from DNS. Look at the s= tag of the DKIM-Signature header of a message you sent.`,
        remedy: `Run again with --dkim-selector <s> for the selector in your DKIM-Signature headers.`,
        details: { asked: data.asked },
      }),
    );
  }
  for (const k of data.found) findings.push(keyFinding(domain, k));
  return findings;
}

declare module '../checks/types.js' {
  interface CheckData {
    dkim: DkimData;
  }
}

export const dkimCheck = defineCheck('dkim', {
  findings: F.specs,
  dataSchema: DkimDataSchema,
  async run(ctx) {
    const domain = ctx.domain.ascii;
    const user = [...new Set(ctx.options.dkimSelectors.map((s) => s.toLowerCase()))];
    const wanted = [...new Set([...user, ...COMMON_DKIM_SELECTORS])];
    const first = wanted.filter((s) => user.includes(s) || SENTINEL_DKIM_SELECTORS.includes(s));
    // One query promise per selector, not a suspended lookup call each: under load the
    // questions wait in the process's DNS queue, and 500 checks × 45 selectors of waiting
    // calls were most of a worker's memory (issue 14 P4).
    // No other check asks for a selector's key: its answer need not be kept for the run.
    const options = { signal: ctx.signal, once: true };
    let done = 0;
    let total = first.length;
    const ask = (selector: string): Promise<DkimKey> => {
      const name = dkimKeyName(selector, domain);
      return ctx.dns.query(name, 'TXT', options).then((answer) => {
        done++;
        ctx.progress(`DKIM selector ${selector}`, done / total, { index: done, total });
        return dkimKeyFrom(answer, selector, name, user.includes(selector) ? 'user' : 'common');
      });
    };
    // _domainkey.<domain>, the named selectors and the sentinels together; the other common
    // selectors once the name is known to exist (one round trip more, beside the SMTP probe's
    // nine), or when a sentinel shows that its NXDOMAIN cannot be trusted.
    const treeName = `_domainkey.${domain}`;
    const [treeAnswer, ...firstKeys] = await Promise.all([
      ctx.dns.query(treeName, 'TXT', options),
      ...first.map(ask),
    ]);
    const tree = { name: treeName, rcode: treeAnswer.rcode };
    const surelyNone = tree.rcode === 'NXDOMAIN' && existingBelowDenial(tree.rcode, firstKeys).length === 0;
    const rest = surelyNone ? [] : wanted.filter((s) => !first.includes(s));
    total = first.length + rest.length;
    const keys = [...firstKeys, ...(await Promise.all(rest.map(ask)))];
    const byName = new Map(keys.map((k) => [k.selector, k]));
    const asked = wanted.filter((s) => byName.has(s));
    const ordered = asked.map((s) => byName.get(s)!);
    const failed = (k: DkimKey) => k.rcode !== 'NOERROR' && k.rcode !== 'NXDOMAIN';
    const data: DkimData = {
      asked,
      tree,
      found: ordered.filter((k) => k.records.length > 0),
      missing: ordered
        .filter((k) => k.source === 'user' && k.records.length === 0 && !failed(k))
        .map((k) => k.selector),
      errors: ordered.filter(failed).map((k) => ({ selector: k.selector, rcode: k.rcode })),
    };
    return { findings: evaluateDkim(domain, data, user, ordered), data };
  },
});
