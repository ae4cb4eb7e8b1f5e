import { createPublicKey } from 'node:crypto';
import { createRequire } from 'node:module';
import type { Config } from '../config/index.js';
import { CheckCache } from '../dns/cache.js';
import { DnsClient, dnsClientSettings } from '../dns/client.js';
import type { Resolver } from '../dns/types.js';
import { parseTagList } from '../dns/tag-list.js';
import { lookupDmarc, organisationalDomain } from '../dmarc/lookup.js';
import { parseBimi } from '../bimi/record.js';
import { deadline } from '../net/deadline.js';
import { describeError } from '../net/errors.js';
import { checkHost } from '../spf/evaluate.js';
import { decideEnvelope, fromAddresses } from './envelope.js';
import type { EnvelopeOverrides } from './envelope.js';
import { evaluateAuth } from './evaluate.js';
import type { AuthFacts, DkimFact } from './evaluate.js';
import { headerFields, parseAuthResults } from './headers.js';
import type { AuthReport } from './model.js';
import { mailauthResolver } from './resolver.js';
import type { MailauthResolver } from './resolver.js';

/**
 * Authenticates a received message the way the receiving server would: SPF for the client
 * and MAIL FROM it saw (our RFC 7208 evaluator), every DKIM signature and the ARC chain
 * (mailauth's verification, with keys looked up through our DNS client), DMARC for the From
 * domain (our policy discovery and alignment), BIMI eligibility, and the message's own
 * Authentication-Results compared with ours. Gathering lives here; judging is evaluate.ts.
 */

export const MAX_MESSAGE_BYTES = 10 * 1024 * 1024;

interface MailauthDkimResult {
  signingDomain: string;
  selector: string;
  signature?: string;
  algo?: string;
  status: { result: string; comment?: string; underSized?: number };
  signingHeaders?: { keys?: string };
  publicKey?: string;
  modulusLength?: number;
  canonBodyLengthLimited?: boolean;
  canonBodyLengthLimit?: number;
}
interface MailauthDkimOutput {
  headerFrom: string[];
  results: MailauthDkimResult[];
  arc?: unknown;
}
interface MailauthArcOutput {
  status: { result: string; comment?: string };
  i?: number | false;
  authenticationResults?: Record<string, unknown> & { mta?: string };
}

const require = createRequire(import.meta.url);
const { dkimVerify } = require('mailauth/lib/dkim/verify') as {
  dkimVerify: (
    input: Buffer,
    options: { resolver: MailauthResolver; minBitLength: number; curTime: Date; sender?: string },
  ) => Promise<MailauthDkimOutput>;
};
const { arc } = require('mailauth/lib/arc') as {
  arc: (
    data: unknown,
    options: { resolver: MailauthResolver; minBitLength: number },
  ) => Promise<MailauthArcOutput>;
};

/**
 * mailauth's DKIM verifier prints a debugging line ("TOTAL … EXPECTING …") with console.log
 * when l= does not match the body; on a CLI's standard output that would corrupt --json.
 * While any verification runs, that one line is dropped; everything else is passed on.
 */
let quietDepth = 0;
let originalLog: typeof console.log | undefined;
async function withoutDebugLine<T>(fn: () => Promise<T>): Promise<T> {
  if (quietDepth++ === 0) {
    originalLog = console.log;
    const passOn = originalLog;
    console.log = (...args: unknown[]) => {
      if (args[0] === 'TOTAL' && args[2] === 'EXPECTING') return;
      passOn(...args);
    };
  }
  try {
    return await fn();
  } finally {
    if (--quietDepth === 0 && originalLog) console.log = originalLog;
  }
}

export interface AuthDeps {
  config: Config;
  /** Defaults to a DnsClient on the configured resolvers. */
  resolver?: Resolver;
  signal?: AbortSignal;
  now?: () => Date;
  /** Also evaluate SPF for the HELO name (RFC 7208 §2.3), as a receiver that saw the session does. */
  heloSpf?: boolean;
}

export async function authenticateMessage(
  message: Buffer,
  overrides: EnvelopeOverrides,
  deps: AuthDeps,
): Promise<AuthReport> {
  const now = deps.now ?? (() => new Date());
  const t0 = performance.now();
  const d = deadline(deps.signal, deps.config.check.deadlineMs, 'message authentication');
  try {
    const resolver =
      deps.resolver ??
      new DnsClient({ ...dnsClientSettings(deps.config.dns), cache: new CheckCache(), signal: d.signal });
    const text = message.toString('utf8');
    const fields = headerFields(text);
    const decision = decideEnvelope(fields, overrides);
    const env = decision.envelope;
    const adapter = mailauthResolver(resolver, d.signal);

    const fromField = fields.filter((f) => f.key === 'from');
    const from = fromField.flatMap((f) => fromAddresses(f.value));
    const fromDomain =
      from.length === 1 ? from[0]!.slice(from[0]!.lastIndexOf('@') + 1).toLowerCase() : undefined;

    // SPF for MAIL FROM (or HELO for the null sender), RFC 7208 §2.3–2.4.
    const mailFromDomain = env.mailFrom
      ? env.mailFrom.slice(env.mailFrom.lastIndexOf('@') + 1).toLowerCase()
      : undefined;
    // MAIL FROM unknown or null: the HELO identity (RFC 7208 §2.3), when the HELO is a domain.
    const heloDomain =
      env.helo && /\./.test(env.helo) && !/^\[|^[\d.]+$/.test(env.helo) ? env.helo : undefined;
    const spfDomain = mailFromDomain ?? heloDomain;
    const spf =
      env.ip && spfDomain
        ? await checkHost(resolver, {
            ip: env.ip,
            domain: spfDomain,
            sender: env.mailFrom || `postmaster@${env.helo ?? spfDomain}`,
            ...(env.helo ? { helo: env.helo } : {}),
            now: now(),
            signal: d.signal,
          })
        : undefined;

    // SPF for HELO (RFC 7208 §2.3): a host name, not an address literal; for the null sender
    // the MAIL FROM check above is already the HELO check.
    const heloName = env.helo?.toLowerCase().replace(/\.$/, '');
    const spfHelo =
      deps.heloSpf &&
      env.ip &&
      heloName &&
      env.mailFrom !== '' &&
      /^[a-z0-9-]+(\.[a-z0-9-]+)+$/.test(heloName)
        ? await checkHost(resolver, {
            ip: env.ip,
            domain: heloName,
            sender: `postmaster@${heloName}`,
            helo: heloName,
            now: now(),
            signal: d.signal,
          })
        : undefined;

    // DKIM and ARC through mailauth, with our resolver.
    let dkim: DkimFact[] = [];
    let arcFact: AuthFacts['arc'] = { result: 'none', instances: 0 };
    let dkimError: string | undefined;
    try {
      const out = await withoutDebugLine(() =>
        dkimVerify(message, {
          resolver: adapter,
          // Every key is fetched and measured; evaluate.ts judges its size.
          minBitLength: 1,
          curTime: now(),
          ...(env.mailFrom ? { sender: env.mailFrom } : {}),
        }),
      );
      const tags = fields
        .filter((f) => f.key === 'dkim-signature')
        .map((f) => parseTagList(f.value.replace(/\s+/g, ' ')))
        .map((p) => (p.ok ? p.map : new Map<string, { value: string }>()));
      // mailauth reports an unsigned message as one "none" result without a domain.
      const signed = out.results.filter((r) => typeof r.signingDomain === 'string' && r.signingDomain !== '');
      dkim = signed.map((r) => dkimFact(r, tags));
      // It also leaves out, without a word, signatures it skipped (an unknown a= or c=, no d=
      // or s=): those are broken signatures for a receiver, and said so here.
      const seen = new Set(signed.map((r) => (r.signature ?? '').replace(/\s+/g, '')));
      for (const t of tags) {
        if (seen.has((t.get('b')?.value ?? '').replace(/\s+/g, ''))) continue;
        dkim.push({
          domain: (t.get('d')?.value ?? '').toLowerCase(),
          selector: t.get('s')?.value ?? '',
          ...(t.get('a') ? { algorithm: t.get('a')!.value } : {}),
          mailauthResult: 'permerror',
          comment: `the signature cannot be verified: a=${t.get('a')?.value ?? '(none)'}, c=${t.get('c')?.value ?? 'simple/simple'}${t.get('d') ? '' : ', no d='}${t.get('s') ? '' : ', no s='} (RFC 6376 allows rsa-sha256, rsa-sha1 and ed25519-sha256, simple or relaxed)`,
          signedHeaders: (t.get('h')?.value ?? '')
            .split(':')
            .map((h) => h.trim().toLowerCase())
            .filter(Boolean),
        });
      }
      const arcOut = await arc(out.arc, { resolver: adapter, minBitLength: 1024 });
      arcFact = arcFactOf(arcOut, fields);
    } catch (err) {
      if (d.signal.aborted && deps.signal?.aborted) throw err;
      dkimError = describeError(err);
    }

    // DMARC: the From domain's policy (RFC 7489 §6.6.3).
    const dmarcLookup = fromDomain
      ? await lookupDmarc(resolver, fromDomain, { signal: d.signal })
      : undefined;

    // BIMI: the selector the message asks for (BIMI-Selector), else "default".
    const selectorField = fields.find((f) => f.key === 'bimi-selector');
    const selector =
      (selectorField && /\bs\s*=\s*([a-z0-9_-]+)/i.exec(selectorField.value)?.[1]) || 'default';
    let bimi: AuthFacts['bimi'] = { selector };
    if (fromDomain) {
      for (const domain of [...new Set([fromDomain, organisationalDomain(fromDomain)])]) {
        const answer = await resolver.query(`${selector}._bimi.${domain}`, 'TXT', { signal: d.signal });
        const record = answer.records.map((r) => r.text).find((t) => /^v\s*=\s*BIMI1/i.test(t));
        if (record) {
          const parsed = parseBimi(record);
          bimi = { selector, record, ...(parsed.ok ? { parsed: parsed.value } : { error: parsed.error }) };
          break;
        }
        if (answer.rcode !== 'NOERROR' && answer.rcode !== 'NXDOMAIN') {
          bimi = { selector, error: `the lookup of ${selector}._bimi.${domain} failed (${answer.rcode})` };
          break;
        }
      }
    }

    const subject = fields.find((f) => f.key === 'subject')?.value;
    const messageId = fields.find((f) => f.key === 'message-id')?.value;
    const date = fields.find((f) => f.key === 'date')?.value;
    const facts: AuthFacts = {
      envelope: env,
      hasReceived: fields.some((f) => f.key === 'received'),
      from,
      ...(fromDomain ? { fromDomain } : {}),
      ...(spf ? { spf } : {}),
      ...(spfHelo ? { spfHelo } : {}),
      dkim,
      ...(dkimError ? { dkimError } : {}),
      arc: arcFact,
      ...(dmarcLookup ? { dmarc: dmarcLookup } : {}),
      bimi,
      authResults: fields
        .filter((f) => f.key === 'authentication-results')
        .map((f) => ({ ...parseAuthResults(f), trusted: f.index <= decision.trustedUntil })),
    };
    const evaluated = evaluateAuth(facts);
    const report: AuthReport = {
      checkedAt: now().toISOString(),
      durationMs: Math.round(performance.now() - t0),
      message: {
        from,
        ...(subject ? { subject } : {}),
        ...(messageId ? { messageId } : {}),
        ...(date ? { date } : {}),
        sizeBytes: message.length,
      },
      envelope: env,
      ...evaluated,
    };
    return JSON.parse(JSON.stringify(report)) as AuthReport;
  } finally {
    d.dispose();
  }
}

function dkimFact(r: MailauthDkimResult, tags: Map<string, { value: string }>[]): DkimFact {
  const own = tags.find(
    (t) => (t.get('b')?.value ?? '').replace(/\s+/g, '') === (r.signature ?? '').replace(/\s+/g, ''),
  );
  const num = (name: string): number | undefined => {
    const v = own?.get(name)?.value;
    return v !== undefined && /^\d+$/.test(v.trim()) ? Number(v) : undefined;
  };
  let keyType: string | undefined;
  if (r.publicKey) {
    try {
      keyType = createPublicKey(r.publicKey).asymmetricKeyType;
    } catch {
      keyType = undefined;
    }
  }
  const t = num('t');
  const x = num('x');
  return {
    domain: r.signingDomain.toLowerCase(),
    selector: r.selector,
    ...(r.algo ? { algorithm: r.algo } : {}),
    mailauthResult: r.status.result,
    ...(r.status.comment ? { comment: r.status.comment } : {}),
    ...(keyType ? { keyType } : {}),
    ...(r.modulusLength ? { keyBits: r.modulusLength } : keyType === 'ed25519' ? { keyBits: 256 } : {}),
    signedHeaders: (own?.get('h')?.value ?? r.signingHeaders?.keys ?? '')
      .split(':')
      .map((h) => h.trim().toLowerCase())
      .filter(Boolean),
    ...(r.canonBodyLengthLimited && r.canonBodyLengthLimit !== undefined
      ? { bodyLengthLimit: Number(r.canonBodyLengthLimit) }
      : {}),
    ...(r.status.underSized ? { unsignedBodyBytes: r.status.underSized } : {}),
    ...(t !== undefined ? { signedAt: new Date(t * 1000).toISOString() } : {}),
    ...(x !== undefined ? { expiresAt: new Date(x * 1000).toISOString() } : {}),
  };
}

function arcFactOf(out: MailauthArcOutput, fields: ReturnType<typeof headerFields>): AuthFacts['arc'] {
  const instances = fields.filter((f) => f.key === 'arc-seal').length;
  const result = out.status.result === 'pass' ? 'pass' : out.status.result === 'fail' ? 'fail' : 'none';
  const fact: AuthFacts['arc'] = { result, instances };
  if (out.status.comment) fact.comment = out.status.comment;
  const ar = out.authenticationResults;
  if (result === 'pass' && ar) {
    if (typeof ar.mta === 'string') fact.sealer = ar.mta;
    const sealed: Record<string, string> = {};
    for (const key of ['spf', 'dmarc', 'arc']) {
      const v = (ar[key] as { result?: unknown } | undefined)?.result;
      if (typeof v === 'string') sealed[key] = v;
    }
    const dkims = ar.dkim as { result?: unknown }[] | undefined;
    if (Array.isArray(dkims) && dkims.length) sealed.dkim = dkims.map((x) => String(x.result)).join(',');
    fact.sealedResults = sealed;
  }
  return fact;
}
