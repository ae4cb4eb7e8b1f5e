import type { Config } from '../config/index.js';
import type { NormalizedDomain } from '../input/domain.js';
import { deadline } from '../net/deadline.js';
import type { Finding, MxSet } from '../report/model.js';
import type { SessionSummary } from './contract.js';
import type { TlsObservation } from '../tls/model.js';
import { SmtpDataSchema } from './model.js';
import type { RcptVerdictRecord, SessionRecord, SmtpData } from './model.js';
import { probeDomain, probeSettings, randomLocalParts } from './probe.js';
import { arrivalsOf } from './targets.js';
import type { DomainProbe, ProbeSettings, RecipientTests } from './probe.js';
import type { SmtpSharing } from './sharing.js';
import { SMTP_FINDINGS, evaluateSmtp } from './evaluate.js';
import { SESSION_FINDINGS } from './evaluate-session.js';
import { defineCheck } from '../checks/descriptors.js';
import type { CheckContext, CheckResult } from '../checks/types.js';
import { mxHostArrivals } from '../mx/check.js';
import type { HostArrival } from '../mx/check.js';

/**
 * The SMTP and TLS check: talks to every MX address the way a sending MTA would — banner,
 * EHLO, STARTTLS, certificate, recipients by RCPT TO (never DATA) — and reports what it saw.
 * Gathering lives in smtp/probe.ts and smtp/session.ts; judgement in smtp/evaluate.ts and the
 * evaluate-*.ts files it gathers. Also exports the two pieces other features call on their
 * own: `verifyRecipients` (greylisting re-probe, bounce diagnosis) and `probeMxTls` (bounce
 * diagnosis: "TLS required").
 */

/** The domain of the open-relay test recipient: a domain no MX of a checked domain serves. */
function relayDomain(domain: string): string {
  return domain === 'example.net' || domain.endsWith('.example.net') ? 'example.org' : 'example.net';
}

export interface TestPlanInput {
  domain: string;
  verify: readonly string[];
  mailFrom: string;
  /** Random local parts to reuse (a re-probe must ask the same addresses). */
  randoms?: readonly string[];
  /** Include the postmaster, null-sender and open-relay tests. @defaultValue true */
  domainTests?: boolean;
}

/** The recipients and transactions one session asks about. */
export function recipientTests(input: TestPlanInput): RecipientTests & { randoms: string[] } {
  const domain = input.domain;
  const randoms = input.randoms?.length
    ? [...input.randoms]
    : randomLocalParts(2).map((l) => `${l}@${domain}`);
  const postmaster = `postmaster@${domain}`;
  const domainTests = input.domainTests ?? true;
  const recipients = [
    ...(domainTests ? [{ to: postmaster, role: 'postmaster' as const }] : []),
    ...input.verify
      .filter((v) => v !== postmaster || !domainTests)
      .map((to) => ({ to, role: 'verify' as const })),
    ...(randoms[0] ? [{ to: randoms[0], role: 'random' as const }] : []),
  ];
  const mailFromDomain = input.mailFrom.slice(input.mailFrom.lastIndexOf('@') + 1).toLowerCase();
  const relaySender =
    mailFromDomain === domain || mailFromDomain.endsWith(`.${domain}`)
      ? `mxdoctor-relay-test@${relayDomain(domain)}`
      : input.mailFrom;
  return {
    recipients,
    extraRandom: randoms.slice(1),
    randoms,
    ...(domainTests
      ? {
          nullSenderTo: postmaster,
          relay: { from: relaySender, to: `${randomLocalParts(1)[0]}@${relayDomain(domain)}` },
        }
      : {}),
  };
}

/** Every session of every address, in the order they ran (cached ones first). */
function sessionsOf(probe: DomainProbe): SessionRecord[] {
  return probe.probes.flatMap((p) =>
    [p.main, p.legacy, p.fallback, p.rcpt, p.reconnect, p.retry]
      .filter((s): s is SessionRecord => s !== undefined)
      .sort((a, b) => Date.parse(a.startedAt) - Date.parse(b.startedAt)),
  );
}

function buildData(
  settings: ProbeSettings,
  probe: DomainProbe,
  evaluation: ReturnType<typeof evaluateSmtp>,
  randoms: string[],
  greylistRetryMs: number,
): SmtpData {
  const sessions = sessionsOf(probe);
  return {
    port: settings.port,
    probe: {
      ehloName: settings.heloName,
      mailFrom: settings.mailFrom,
      clientAddresses: [
        ...new Set(sessions.map((s) => s.ehlo?.clientAddress).filter((a): a is string => Boolean(a))),
      ],
      ...(settings.egress?.proxy
        ? { proxy: settings.egress.proxy, proxyBound: settings.egress.boundAddresses() }
        : {}),
    },
    tested: probe.targets.map((t) => ({ host: t.host, address: t.address })),
    skipped: probe.skipped,
    tls: probe.probes.map((p) => p.tls),
    sessions,
    recipients: evaluation.recipients,
    catchAll: { ...evaluation.catchAll, probes: randoms },
    greylistRetryMs,
  };
}

/** Why there is nothing to probe, or undefined when there is. */
function nothingToProbe(mx: MxSet | undefined): string | undefined {
  if (!mx) return 'the MX lookup produced no result';
  switch (mx.kind) {
    case 'null':
      return 'the domain publishes a null MX (it accepts no mail)';
    case 'nxdomain':
      return 'the domain does not exist';
    case 'none':
      return 'the domain has no MX and no address';
    case 'error':
      return 'its MX records could not be looked up';
    default:
      return mx.hosts.some((h) => !h.ipLiteral && h.addresses.length > 0)
        ? undefined
        : 'no MX host has an address';
  }
}

export interface SmtpRunInput {
  domain: string;
  /** The MX set, or its hosts as their addresses arrive (mxHostArrivals). */
  mx: MxSet | readonly HostArrival[];
  verify: readonly string[];
  greylistRetryMs: number;
  config: Config;
  sharing: SmtpSharing;
  signal: AbortSignal;
  now: () => Date;
  onProgress?: (message: string, done: number, total: number) => void;
}

/** The SMTP check's one finding when there is no server to connect to. */
function noTest(why: string): { findings: Finding[] } {
  return {
    findings: [
      SESSION_FINDINGS.make('smtp.connect', 'info', {
        summary: `No SMTP test: ${why}, so there is no server to connect to.`,
      }),
    ],
  };
}

/** The whole SMTP check for one domain, outside the pipeline (the pipeline calls this too). */
export async function runSmtp(input: SmtpRunInput): Promise<{ findings: Finding[]; data?: SmtpData }> {
  const { mx } = input;
  const whole = 'kind' in mx ? mx : undefined;
  const why = whole && nothingToProbe(whole);
  if (why) return noTest(why);
  const hosts = 'kind' in mx ? arrivalsOf(mx) : mx;
  const settings = probeSettings(input.config);
  const tests = recipientTests({ domain: input.domain, verify: input.verify, mailFrom: settings.mailFrom });
  const probe = await probeDomain({
    domain: input.domain,
    hosts,
    settings,
    tests,
    config: input.config,
    sharing: input.sharing,
    signal: input.signal,
    now: input.now,
    greylistRetryMs: input.greylistRetryMs,
    ...(input.onProgress ? { onProgress: input.onProgress } : {}),
  });
  if (!whole && probe.targets.length === 0) {
    // Every host has arrived: judged as a set, as the MX set would have been before probing.
    const arrived = await Promise.all(hosts.map((h) => h.host));
    const none = nothingToProbe({ kind: 'mx', hosts: arrived });
    if (none) return noTest(none);
  }
  const evaluation = evaluateSmtp({
    domain: input.domain,
    port: settings.port,
    ehloName: settings.heloName,
    mailFrom: settings.mailFrom,
    probes: probe.probes,
    skipped: probe.skipped,
    verify: [...input.verify],
    randoms: tests.randoms,
    ...(tests.relay ? { relayTo: tests.relay.to } : {}),
    greylistRetryMs: input.greylistRetryMs,
    legacyTlsProbe: settings.legacyTls,
    now: input.now(),
    ...(settings.egress?.proxy
      ? { proxy: settings.egress.proxy, proxyBound: settings.egress.boundAddresses() }
      : {}),
  });
  return {
    findings: evaluation.findings,
    data: buildData(settings, probe, evaluation, tests.randoms, input.greylistRetryMs),
  };
}

declare module '../checks/types.js' {
  interface CheckData {
    smtp: SmtpData;
  }
  interface CheckServices {
    smtp?: SmtpSharing;
  }
}

/** The SMTP check of the pipeline, given the MX set or its hosts as they arrive. */
function smtpOf(ctx: CheckContext, mx: MxSet | readonly HostArrival[]): Promise<CheckResult<SmtpData>> {
  ctx.progress('connecting to the MX hosts', 0);
  return runSmtp({
    domain: ctx.domain.ascii,
    mx,
    verify: ctx.options.verify,
    greylistRetryMs: ctx.options.greylistRetryMs,
    config: ctx.config,
    sharing: ctx.services.smtp ?? {},
    signal: ctx.signal,
    now: ctx.now,
    onProgress: (message, done, total) =>
      ctx.progress(message, total ? done / total : 1, { index: done, total }),
  }).then((result) =>
    result.data ? { findings: result.findings, data: result.data } : { findings: result.findings },
  );
}

export const smtpCheck = defineCheck('smtp', {
  findings: SMTP_FINDINGS,
  dataSchema: SmtpDataSchema,
  // The probe needs the MX hosts' addresses, not the MX check's judgement of them: it asks the
  // same questions through the run's resolver (asked once: its cache shares them with the MX
  // check) and starts each host's sessions as soon as that host's addresses are in.
  async gather(ctx): Promise<CheckResult<SmtpData> | undefined> {
    const hosts = await mxHostArrivals(ctx.dns, ctx.domain.ascii, ctx.signal);
    return hosts ? smtpOf(ctx, hosts) : undefined;
  },
  // Without hosts named by the MX answer (none, NXDOMAIN, a failed lookup, an implicit or null
  // MX), the MX check's set says why there is nothing to probe, or names the implicit host.
  async run(ctx, probed) {
    return probed ?? smtpOf(ctx, ctx.upstream('mx') ?? { kind: 'error', hosts: [] });
  },
});

// ---------------------------------------------------------------------------------------
// Library entry points for the service and bounce diagnosis.

export interface VerifyRecipientsInput {
  domain: string | NormalizedDomain;
  mx: MxSet;
  /** Addresses to verify (same domain). */
  addresses: readonly string[];
  config: Config;
  /** The service's politeness limiter and connection cache; in-process defaults when absent. */
  sharing?: SmtpSharing;
  signal?: AbortSignal;
  now?: () => Date;
  /** Reuse the catch-all probes of an earlier run (a greylisting re-probe must ask the same). */
  randoms?: readonly string[];
  /** Wait this long and ask greylisted addresses again. @defaultValue 0 */
  greylistRetryMs?: number;
  /** Overall deadline. @defaultValue config.check.deadlineMs */
  timeoutMs?: number;
}

export interface VerifyRecipientsResult {
  domain: string;
  /** One verdict per address asked (postmaster excluded unless asked). */
  verdicts: RcptVerdictRecord[];
  catchAll: SmtpData['catchAll'];
  /** rcpt.verify, rcpt.catch_all and smtp.greylisting findings, ready to merge into a report. */
  findings: Finding[];
  sessions: SessionRecord[];
  checkedAt: string;
}

/**
 * Recipient verification on its own: RCPT TO for each address on the MX hosts (most
 * preferred first), plus the catch-all probes, without the postmaster, null-sender and
 * relay tests. Used by the delayed greylisting re-probe and by bounce diagnosis to confirm
 * "user unknown". Never sends DATA.
 */
export async function verifyRecipients(input: VerifyRecipientsInput): Promise<VerifyRecipientsResult> {
  const domain = typeof input.domain === 'string' ? input.domain.toLowerCase() : input.domain.ascii;
  const now = input.now ?? (() => new Date());
  const d = deadline(
    input.signal,
    input.timeoutMs ?? input.config.check.deadlineMs,
    'recipient verification',
  );
  try {
    const settings = { ...probeSettings(input.config), legacyTls: false };
    const tests = recipientTests({
      domain,
      verify: input.addresses,
      mailFrom: settings.mailFrom,
      ...(input.randoms ? { randoms: input.randoms } : {}),
      domainTests: false,
    });
    const why = nothingToProbe(input.mx);
    if (why) {
      return {
        domain,
        verdicts: input.addresses.map((address) => ({ address, verdict: 'unknown', reason: 'no_mx' })),
        catchAll: { state: 'unknown', probes: tests.randoms },
        findings: [],
        sessions: [],
        checkedAt: now().toISOString(),
      };
    }
    // One address per host is enough for recipients; connection facts are not the point here.
    const probe = await probeDomain({
      domain,
      hosts: arrivalsOf(input.mx),
      settings: { ...settings, maxAddressesPerHost: 1 },
      tests,
      config: input.config,
      sharing: {
        ...(input.sharing?.addressLimiter ? { addressLimiter: input.sharing.addressLimiter } : {}),
      },
      signal: d.signal,
      now,
      greylistRetryMs: input.greylistRetryMs ?? 0,
    });
    const evaluation = evaluateSmtp({
      domain,
      port: settings.port,
      ehloName: settings.heloName,
      mailFrom: settings.mailFrom,
      probes: probe.probes,
      skipped: probe.skipped,
      verify: [...input.addresses],
      randoms: tests.randoms,
      greylistRetryMs: input.greylistRetryMs ?? 0,
      legacyTlsProbe: false,
      now: now(),
    });
    const asked = new Set(input.addresses);
    return {
      domain,
      verdicts: evaluation.recipients.filter((r) => asked.has(r.address)),
      catchAll: evaluation.catchAll,
      findings: evaluation.findings.filter((f) => f.id.startsWith('rcpt.') || f.id === 'smtp.greylisting'),
      sessions: sessionsOf(probe),
      checkedAt: now().toISOString(),
    };
  } finally {
    d.dispose();
  }
}

export interface ProbeMxTlsInput {
  domain: string | NormalizedDomain;
  mx: MxSet;
  config: Config;
  /** The service's politeness limiter and connection cache; in-process defaults when absent. */
  sharing?: SmtpSharing;
  signal?: AbortSignal;
  now?: () => Date;
  timeoutMs?: number;
}

export interface ProbeMxTlsResult {
  domain: string;
  tls: TlsObservation[];
  sessions: SessionSummary[];
  /** smtp.connect … smtp.starttls, smtp.protocol_sync and tls.* findings per address. */
  findings: Finding[];
  checkedAt: string;
}

/**
 * The STARTTLS and certificate probe of one domain's MX hosts on its own (no recipients):
 * bounce diagnosis uses it to confirm "TLS required" bounces. Uses the connection cache.
 */
export async function probeMxTls(input: ProbeMxTlsInput): Promise<ProbeMxTlsResult> {
  const domain = typeof input.domain === 'string' ? input.domain.toLowerCase() : input.domain.ascii;
  const now = input.now ?? (() => new Date());
  const d = deadline(input.signal, input.timeoutMs ?? input.config.check.deadlineMs, 'STARTTLS probe');
  try {
    if (nothingToProbe(input.mx))
      return { domain, tls: [], sessions: [], findings: [], checkedAt: now().toISOString() };
    const settings = probeSettings(input.config);
    const probe = await probeDomain({
      domain,
      hosts: arrivalsOf(input.mx),
      settings,
      tests: { recipients: [], extraRandom: [] },
      config: input.config,
      sharing: input.sharing ?? {},
      signal: d.signal,
      now,
      greylistRetryMs: 0,
    });
    const evaluation = evaluateSmtp({
      domain,
      port: settings.port,
      ehloName: settings.heloName,
      mailFrom: settings.mailFrom,
      probes: probe.probes,
      skipped: probe.skipped,
      verify: [],
      randoms: [],
      greylistRetryMs: 0,
      legacyTlsProbe: settings.legacyTls,
      now: now(),
    });
    return {
      domain,
      tls: probe.probes.map((p) => p.tls),
      sessions: probe.probes.map((p) => ({
        host: p.host,
        address: p.address,
        ...(p.main.bannerHostname ? { bannerHostname: p.main.bannerHostname } : {}),
        ...(p.main.ehloHostname ? { ehloHostname: p.main.ehloHostname } : {}),
      })),
      findings: evaluation.findings.filter((f) =>
        /^(smtp\.(connect|banner|ehlo|extensions|starttls|protocol_sync)|tls\.)/.test(f.id),
      ),
      checkedAt: now().toISOString(),
    };
  } finally {
    d.dispose();
  }
}
