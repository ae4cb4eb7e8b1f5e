import type { Config } from '../../config/index.js';
import type { Diagnosis, BounceRecord, Followup, Reason } from '../model.js';
import { CHECKS } from '../../checks/registry.js';
import { runCheck } from '../../checks/run.js';
import { CheckCache } from '../../dns/cache.js';
import type { DnsCache } from '../../dns/cache.js';
import { DnsClient, dnsClientSettings } from '../../dns/client.js';
import { normalizeDomain } from '../../input/domain.js';
import { deadline } from '../../net/deadline.js';
import { describeError } from '../../net/errors.js';
import { DEFAULT_CHECK_OPTIONS } from '../../report/model.js';
import type { Report } from '../../report/model.js';
import type { SmtpSharing } from '../../smtp/sharing.js';
import { checkHost } from '../../spf/evaluate.js';
import type { CheckHostResult } from '../../spf/evaluate.js';
import { recipientAddressFollowup } from './recipient-address.js';
import { recipientDomainFollowup } from './recipient-domain.js';
import { recipientMxTlsFollowup } from './recipient-mx-tls.js';
import { senderDkimFollowup } from './sender-dkim.js';
import { senderDmarcFollowup } from './sender-dmarc.js';
import { senderSpfFollowup } from './sender-spf.js';
import { sendingIpDnsblFollowup } from './sending-ip-dnsbl.js';
import { sendingIpPtrFollowup } from './sending-ip-ptr.js';
import type {
  FollowupDefinition,
  FollowupDeps,
  FollowupTarget,
  SpfQuestion,
  TargetOptions,
} from './types.js';

/**
 * Follow-up checks: for each bounce record, the checks that can confirm or refute its cause,
 * run through the existing engine. The registry maps reasons to small definitions; each one
 * returns a plain result with a verdict (confirmed / not_confirmed / could_not_test) and a
 * sentence naming the evidence. Results are shared between records that ask the same
 * question about the same target (ten recipients at one dead domain cost one domain check),
 * and so are the MX lookups and SPF evaluations several follow-ups need.
 */

/** Distinct follow-up checks one diagnosis runs at most (the rest: could_not_test, saying why). */
export const MAX_FOLLOWUP_RUNS = 40;
/** Of those, at most this many contact mail servers (recipient address, connectivity, STARTTLS). */
export const MAX_SMTP_FOLLOWUP_RUNS = 8;
/** Follow-up checks running at the same time. */
const FOLLOWUP_CONCURRENCY = 6;

/** Runs tasks with at most `n` at a time, in submission order. */
function pool(n: number): <T>(task: () => Promise<T>) => Promise<T> {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async <T>(task: () => Promise<T>): Promise<T> => {
    // A finishing task hands its slot straight to the next waiter (running stays counted).
    if (running >= n) await new Promise<void>((r) => waiting.push(r));
    else running++;
    try {
      return await task();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else running--;
    }
  };
}

/** The registry. Order is the order results are listed in. */
export const FOLLOWUPS: readonly FollowupDefinition[] = [
  recipientAddressFollowup,
  recipientDomainFollowup,
  recipientMxTlsFollowup,
  senderSpfFollowup,
  senderDmarcFollowup,
  senderDkimFollowup,
  sendingIpDnsblFollowup,
  sendingIpPtrFollowup,
];

/** The follow-ups that apply to a record. */
export function followupsFor(record: BounceRecord): FollowupDefinition[] {
  const applicable = FOLLOWUPS.filter(
    (f) => f.reasons.includes(record.reason) || (f.alsoFor?.(record) ?? false),
  );
  // The follow-up made for this very reason (listed first in its reasons) comes first.
  const primary = (f: FollowupDefinition): number => (f.reasons[0] === record.reason ? 0 : 1);
  return applicable.sort((a, b) => primary(a) - primary(b));
}

/** The follow-ups that confirm a reason (for documentation). */
export function followupsForReason(reason: Reason): FollowupDefinition[] {
  return FOLLOWUPS.filter((f) => f.reasons.includes(reason));
}

export interface FollowupProgress {
  done: number;
  total: number;
  /** What just finished or is running, e.g. "SPF of example.org for 192.0.2.1". */
  message: string;
}

export interface RunFollowupsDeps {
  config: Config;
  /** Cancels every follow-up. */
  signal?: AbortSignal;
  /** Shared DNS answers (a TtlCache in the service); defaults to one cache for this run. */
  dnsCache?: DnsCache;
  now?: () => Date;
  /** Whether follow-ups may open SMTP connections. @defaultValue true */
  smtp?: boolean;
  /** The service's SMTP politeness limiter and connection cache. */
  services?: SmtpSharing;
  onProgress?: (progress: FollowupProgress) => void;
}

/**
 * Runs the follow-ups of every record, under the configured check deadline, and returns the
 * diagnosis with each record's `followups` filled in. Never rejects for a failed check (that
 * is a could_not_test result); rejects only when `signal` aborts.
 */
export async function runFollowups(diagnosis: Diagnosis, deps: RunFollowupsDeps): Promise<Diagnosis> {
  const overall = deadline(deps.signal, deps.config.check.deadlineMs, 'follow-up checks');
  try {
    const fdeps = followupDeps(deps, overall.signal);
    const plans = planFollowups(diagnosis, { allowPrivate: deps.config.net.allowPrivate });
    const { runs, skipped } = capRuns(plans, fdeps.smtp);
    const results = startRuns(runs, fdeps, deps, overall.signal);
    for (const [key, f] of skipped) results.set(key, Promise.resolve(f));
    const bounces: BounceRecord[] = await Promise.all(
      diagnosis.bounces.map(async (record, i) => ({
        ...record,
        followups: await Promise.all(
          plans[i]!.map((p) => ('def' in p ? results.get(p.key)! : Promise.resolve(p))),
        ),
      })),
    );
    return JSON.parse(JSON.stringify({ ...diagnosis, bounces })) as Diagnosis;
  } finally {
    overall.dispose();
  }
}

/**
 * What the follow-ups share within one diagnosis: one DNS client and cache, and the MX checks
 * and SPF evaluations several of them need, each run once per question.
 */
function followupDeps(deps: RunFollowupsDeps, signal: AbortSignal): FollowupDeps {
  const dnsCache = deps.dnsCache ?? new CheckCache();
  const dns = new DnsClient({ ...dnsClientSettings(deps.config.dns), cache: dnsCache, signal });
  const now = deps.now ?? (() => new Date());
  const mxReports = new Map<string, Promise<Report>>();
  const spfResults = new Map<string, Promise<CheckHostResult>>();
  const mxReport = (domain: string): Promise<Report> => {
    const parsed = normalizeDomain(domain);
    return parsed.ok
      ? runCheck(
          parsed.domain,
          { ...DEFAULT_CHECK_OPTIONS, smtp: false },
          { config: deps.config, checks: CHECKS.filter((c) => c.name === 'mx'), signal, now, dnsCache },
        )
      : Promise.reject(new Error(parsed.error));
  };
  return {
    config: deps.config,
    dns,
    dnsCache,
    signal,
    now,
    smtp: deps.smtp ?? true,
    services: deps.services ?? {},
    mxReport: (domain) => once(mxReports, domain, () => mxReport(domain)),
    spf: (q: SpfQuestion) =>
      once(spfResults, JSON.stringify([q.ip, q.domain, q.sender, q.helo]), () =>
        checkHost(dns, { ...q, now: now(), signal }),
      ),
  };
}

/** The promise stored under `key`, started by `start` the first time. */
function once<T>(cache: Map<string, Promise<T>>, key: string, start: () => Promise<T>): Promise<T> {
  let p = cache.get(key);
  if (!p) cache.set(key, (p = start()));
  return p;
}

/** A (follow-up, target) to run; `key` identifies the question, shared by the records that ask it. */
type Planned = { def: FollowupDefinition; target: FollowupTarget; key: string };

/** Every record's follow-ups: a run to make, or already a result (a target that cannot be tested). */
function planFollowups(diagnosis: Diagnosis, options: TargetOptions): (Planned | Followup)[][] {
  return diagnosis.bounces.map((record) =>
    followupsFor(record).flatMap((def) =>
      def.targets(record, diagnosis, options).map((t): Planned | Followup => {
        if (!t.ok) {
          return {
            id: def.id,
            title: def.title(null),
            target: '',
            verdict: 'could_not_test',
            summary: `could not test: ${t.why}`,
            details: {},
          };
        }
        return {
          def,
          target: t.target,
          key: JSON.stringify([def.id, t.target.value, t.target.params ?? {}]),
        };
      }),
    ),
  );
}

/**
 * The distinct runs, capped: a bounce can name hundreds of recipients at as many domains, and
 * one submitted text must not make mxdoctor contact hundreds of mail servers. The runs over the
 * caps become could_not_test results that say why.
 */
function capRuns(
  plans: readonly (Planned | Followup)[][],
  smtp: boolean,
): { runs: Map<string, Planned>; skipped: Map<string, Followup> } {
  const runs = new Map<string, Planned>();
  const skipped = new Map<string, Followup>();
  let smtpRuns = 0;
  for (const p of plans.flat()) {
    if (!('def' in p) || runs.has(p.key) || skipped.has(p.key)) continue;
    const overCap =
      runs.size >= MAX_FOLLOWUP_RUNS || (p.def.usesSmtp && smtp && smtpRuns >= MAX_SMTP_FOLLOWUP_RUNS);
    if (overCap) {
      skipped.set(p.key, {
        id: p.def.id,
        title: p.def.title(p.target),
        target: p.target.value,
        verdict: 'could_not_test',
        summary: `could not test: not run, because this bounce asks for more follow-up checks than one diagnosis runs (${p.def.usesSmtp ? `${MAX_SMTP_FOLLOWUP_RUNS} that contact mail servers` : `${MAX_FOLLOWUP_RUNS} in all`}); diagnose a bounce about fewer recipients to check this one.`,
        details: { capped: true },
      });
      continue;
    }
    if (p.def.usesSmtp && smtp) smtpRuns++;
    runs.set(p.key, p);
  }
  return { runs, skipped };
}

/** Starts the runs, FOLLOWUP_CONCURRENCY at a time, reporting progress as each one ends. */
function startRuns(
  runs: ReadonlyMap<string, Planned>,
  fdeps: FollowupDeps,
  deps: RunFollowupsDeps,
  overall: AbortSignal,
): Map<string, Promise<Followup>> {
  let done = 0;
  const results = new Map<string, Promise<Followup>>();
  const slots = pool(FOLLOWUP_CONCURRENCY);
  for (const [key, { def, target }] of runs) {
    results.set(
      key,
      slots(() => runOne(def, target, fdeps, deps, overall)).then((f) => {
        done++;
        deps.onProgress?.({ done, total: runs.size, message: f.title });
        return f;
      }),
    );
  }
  return results;
}

async function runOne(
  def: FollowupDefinition,
  target: FollowupTarget,
  fdeps: FollowupDeps,
  deps: RunFollowupsDeps,
  overall: AbortSignal,
): Promise<Followup> {
  const base = { id: def.id, title: def.title(target), target: target.value };
  if (def.usesSmtp && !fdeps.smtp) {
    return {
      ...base,
      verdict: 'could_not_test',
      summary: 'could not test: contacting mail servers was switched off for this diagnosis.',
      details: { smtp: false },
    };
  }
  try {
    return await def.run(target, fdeps);
  } catch (err) {
    if (deps.signal?.aborted) throw err;
    return {
      ...base,
      verdict: 'could_not_test',
      summary: overall.aborted
        ? `could not test: the follow-up checks ran out of time (${Math.round(deps.config.check.deadlineMs / 1000)} s).`
        : `could not test: ${describeError(err)}.`,
      details: { error: describeError(err) },
    };
  }
}

export type { FollowupDefinition, FollowupDeps, FollowupTarget } from './types.js';
