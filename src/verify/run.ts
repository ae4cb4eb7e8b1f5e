import type { Config, Rate } from '../config/index.js';
import { runCheck } from '../checks/run.js';
import { mxCheck } from '../mx/check.js';
import { abortReason, sleep } from '../net/deadline.js';
import { describeError } from '../net/errors.js';
import { DEFAULT_CHECK_OPTIONS } from '../report/model.js';
import type { MxSet } from '../report/model.js';
import { isProbeAddress } from '../smtp/command.js';
import type { RcptResult, SessionRecord } from '../smtp/model.js';
import { InProcessLimiter, defaultLimiter, probeSettings, randomLocalParts } from '../smtp/probe.js';
import type { ProbeSettings } from '../smtp/probe.js';
import { selectTargets } from '../smtp/targets.js';
import type { Target } from '../smtp/targets.js';
import { runSessionHeld } from '../smtp/session.js';
import type { SmtpSharing } from '../smtp/sharing.js';
import { parseAddress } from './address.js';
import type { ParsedAddress } from './address.js';
import { finalVerdict } from './verdict.js';
import type { Asked, DomainFacts } from './verdict.js';
import type { Verification, VerifyMx, VerifyResult } from './model.js';

/**
 * Address verification in bulk, the way list-cleaning services do it, without sending:
 * syntax first, then each domain's MX (null MX, no MX, dangling MX end it there), then one
 * SMTP session per MX address for many recipients — MAIL FROM, up to `rcptsPerSession`
 * RCPT TO (a new transaction when the server answers 452 "too many recipients"), RSET,
 * QUIT; never DATA or BDAT — with one random address per domain to measure catch-all.
 *
 * Politeness is the point: sessions to one MX address run one after another, through the
 * address limiter (at most N at once and a start rate, shared by the whole run or, in the
 * service, all workers); RCPTs per recipient domain are rate-limited; and when a server
 * starts refusing the probe itself (MAIL refused, 5.7.x or rate-limit replies, 421, a
 * dropped connection) mxdoctor stops asking that MX address: its remaining addresses become
 * `unknown: the server stopped answering the probe`, never `undeliverable`.
 */

export interface VerifyOptions {
  /** Most RCPT TO per session (the rest go to the next session). */
  rcptsPerSession: number;
  /** RCPT TO per recipient domain per window; points 0 = unlimited. */
  domainRate: Rate;
  /** Sessions (to different MX addresses) at the same time. */
  concurrency: number;
  /** Ask greylisted addresses again after this delay; 0 = report them as unknown. */
  greylistRetryMs: number;
}

export function verifyOptions(config: Config, overrides: Partial<VerifyOptions> = {}): VerifyOptions {
  return {
    rcptsPerSession: config.verify.rcptsPerSession,
    domainRate: config.verify.domainRate,
    concurrency: 8,
    greylistRetryMs: config.smtp.greylistRetryMs,
    ...overrides,
  };
}

export interface VerifyDeps {
  config: Config;
  services?: SmtpSharing;
  signal?: AbortSignal;
  now?: () => Date;
  /** Something went wrong that the results do not show (for the log). */
  onWarning?: (message: string) => void;
  /** Called as addresses get their answer. */
  onProgress?: (done: number, total: number) => void;
  /** The MX set of a domain; defaults to the MX check of the pipeline. */
  resolveMx?: (domain: ParsedAddress['domain'], signal: AbortSignal) => Promise<MxSet>;
}

interface Item {
  parsed: ParsedAddress;
  /** Index into the domain's MX candidates. */
  candidate: number;
}

interface MxQueue {
  target: Target;
  items: Item[];
  running: boolean;
  stats: VerifyMx;
}

/** The MX addresses to ask for a domain: each host's first address, in preference order. */
function candidatesOf(mx: MxSet, settings: ProbeSettings): Target[] {
  return selectTargets(mx, { maxHosts: settings.maxHosts, maxAddressesPerHost: 1 }).targets;
}

export async function verifyAddresses(
  inputs: readonly string[],
  options: VerifyOptions,
  deps: VerifyDeps,
): Promise<Verification> {
  const now = deps.now ?? (() => new Date());
  const signal = deps.signal ?? new AbortController().signal;
  const startedAt = now();
  const t0 = performance.now();
  const settings: ProbeSettings = { ...probeSettings(deps.config), legacyTls: false };
  const limiter = deps.services?.addressLimiter ?? defaultLimiter(settings.perAddressConcurrency);

  // 1. Syntax.
  const parsed = inputs.map((input) => ({ input, result: parseAddress(input) }));
  const valid = new Map<string, ParsedAddress>();
  for (const p of parsed) if (p.result.ok) valid.set(p.result.address.address, p.result.address);
  const total = valid.size;
  const asked = new Map<string, Asked>();
  const progress = (): void => deps.onProgress?.(asked.size, total);

  // 2. Each domain's MX.
  const domains = new Map<string, DomainFacts>();
  const byDomain = new Map<string, ParsedAddress[]>();
  for (const a of valid.values()) byDomain.set(a.domain.ascii, [...(byDomain.get(a.domain.ascii) ?? []), a]);
  const resolveMx =
    deps.resolveMx ??
    (async (domain: ParsedAddress['domain'], s: AbortSignal): Promise<MxSet> => {
      const report = await runCheck(
        domain,
        { ...DEFAULT_CHECK_OPTIONS, smtp: false },
        { config: deps.config, checks: [mxCheck], signal: s },
      );
      return report.mx;
    });
  await eachLimited([...byDomain.keys()], 8, async (domain) => {
    const first = byDomain.get(domain)![0]!;
    let mx: MxSet;
    try {
      mx = await resolveMx(first.domain, signal);
    } catch (err) {
      if (signal.aborted) throw abortReason(signal);
      // The pipeline turns DNS trouble into an "error" MX set; this is a bug's last resort.
      mx = { kind: 'error', hosts: [] };
      deps.onWarning?.(`MX lookup of ${domain} failed: ${describeError(err)}`);
    }
    domains.set(domain, {
      domain,
      mx,
      candidates: candidatesOf(mx, settings),
      catchAll: 'unknown',
    });
  });

  // 3. Queues per MX address.
  const queues = new Map<string, MxQueue>();
  const concurrency = new InProcessLimiter(Math.max(1, options.concurrency));
  const rate = new DomainRate(options.domainRate);
  const runs: Promise<void>[] = [];
  const enqueue = (item: Item): void => {
    const facts = domains.get(item.parsed.domain.ascii)!;
    const target = facts.candidates[item.candidate];
    if (!target) return;
    const key = `${target.address}|${target.host}`;
    let q = queues.get(key);
    if (!q) {
      q = {
        target,
        items: [],
        running: false,
        stats: { host: target.host, address: target.address, sessions: 0, recipients: 0 },
      };
      queues.set(key, q);
    }
    q.items.push(item);
    if (!q.running) {
      q.running = true;
      runs.push(drain(q));
    }
  };

  const settle = (item: Item, outcome: Asked): void => {
    asked.set(item.parsed.address, outcome);
    progress();
  };

  /** Sessions with one MX address, one after another, until its queue is empty or it stops answering. */
  const drain = async (q: MxQueue): Promise<void> => {
    try {
      // Let the caller finish queueing (a synchronous loop) so the first session is full.
      await Promise.resolve();
      while (q.items.length > 0) {
        if (signal.aborted) throw abortReason(signal);
        if (q.stats.stopped) {
          for (const item of q.items.splice(0))
            settle(item, { kind: 'stopped', why: q.stats.stopped, mx: q.target });
          break;
        }
        const chunk = await takeChunk(q);
        if (chunk.length === 0) continue;
        const randoms = new Map<string, string>();
        for (const item of chunk) {
          const facts = domains.get(item.parsed.domain.ascii)!;
          if (facts.catchAllProbe === undefined) {
            facts.catchAllProbe = `${randomLocalParts(1)[0]}@${facts.domain}`;
            randoms.set(facts.catchAllProbe, facts.domain);
          }
        }
        const slot = await concurrency.acquire('all', signal);
        let record: SessionRecord;
        try {
          const release = await limiter.acquire(q.target.address, signal);
          q.stats.sessions++;
          record = await runSessionHeld(
            {
              kind: 'rcpt',
              host: q.target.host,
              address: q.target.address,
              port: settings.port,
              heloName: settings.heloName,
              mailFrom: settings.mailFrom,
              starttls: true,
              recipients: [
                ...chunk.map((i) => ({ to: i.parsed.address, role: 'verify' as const })),
                ...[...randoms.keys()].map((to) => ({ to, role: 'random' as const })),
              ],
              timeouts: settings.timeouts,
              limits: settings.limits,
              allowPrivate: settings.allowPrivate,
              signal,
            },
            release,
          );
        } finally {
          slot();
        }
        absorb(q, chunk, randoms, record);
      }
    } finally {
      q.running = false;
    }
  };

  /** Up to rcptsPerSession items whose domains' rates allow them now (waits when none does). */
  const takeChunk = async (q: MxQueue): Promise<Item[]> => {
    for (;;) {
      const chunk: Item[] = [];
      const rest: Item[] = [];
      const room = Math.max(1, options.rcptsPerSession - 1); // one place for a catch-all probe
      for (const item of q.items) {
        if (chunk.length < room && rate.take(item.parsed.domain.ascii)) chunk.push(item);
        else rest.push(item);
      }
      q.items = rest;
      if (chunk.length > 0) return chunk;
      await sleep(Math.max(10, rate.waitMs(q.items.map((i) => i.parsed.domain.ascii))), signal);
    }
  };

  /** What one session said about its recipients, and whether the MX address stops answering the probe. */
  const absorb = (q: MxQueue, chunk: Item[], randoms: Map<string, string>, record: SessionRecord): void => {
    const reached = record.connect.ok && record.banner?.reply.code === 220 && record.ehlo?.reply.code === 250;
    if (!reached) {
      // Not a word about recipients: ask the next MX host, as a sender would.
      const reply = record.banner?.reply ?? record.ehlo?.reply;
      const why = reply
        ? `${q.target.host} [${q.target.address}] refused the session: ${reply.lines[0] ?? reply.code}`
        : `${q.target.host} [${q.target.address}] could not be reached: ${record.connect.error ?? record.error?.message ?? 'no answer'}`;
      q.stats.stopped = why;
      for (const item of [...chunk, ...q.items.splice(0)]) {
        const facts = domains.get(item.parsed.domain.ascii)!;
        if (item.candidate + 1 < facts.candidates.length) enqueue({ ...item, candidate: item.candidate + 1 });
        else
          settle(item, {
            kind: reply ? 'stopped' : 'unreachable',
            why,
            mx: q.target,
            ...(reply ? { reply } : {}),
          });
      }
      for (const domain of randoms.values()) delete domains.get(domain)!.catchAllProbe;
      return;
    }
    const results = new Map<string, RcptResult>(record.rcpts.map((r) => [r.to, r]));
    for (const [to, domain] of randoms) {
      const r = results.get(to);
      const facts = domains.get(domain)!;
      if (r?.verdict === 'deliverable') facts.catchAll = 'yes';
      else if (r?.verdict === 'undeliverable') facts.catchAll = 'no';
      else delete facts.catchAllProbe; // not measured: the next session asks again
    }
    let stop = stopReason(record);
    for (const item of chunk) {
      const r = results.get(item.parsed.address);
      if (!r || r.at === 'none') {
        settle(item, {
          kind: 'stopped',
          why: stop ?? 'the session ended before the address was asked',
          mx: q.target,
        });
        continue;
      }
      q.stats.recipients += r.at === 'rcpt' ? 1 : 0;
      settle(item, { kind: 'answered', rcpt: r, mx: q.target });
      if (r.verdict === 'blocked_probe' && !stop)
        stop = `${q.target.host} [${q.target.address}] refused the probe: ${r.reply?.lines[0] ?? r.reason}`;
    }
    if (stop) q.stats.stopped = stop;
  };

  const toAsk: Item[] = [];
  const final = new Map<string, VerifyResult>();
  for (const a of valid.values()) {
    const facts = domains.get(a.domain.ascii)!;
    const early = finalVerdict.beforeSmtp(a, facts);
    if (early) {
      final.set(a.address, early);
      asked.set(a.address, { kind: 'not_asked' });
    } else if (a.utf8 || !isProbeAddress(a.address)) {
      // RFC 6531 needs MAIL FROM … SMTPUTF8, which the probe does not send; a quoted local
      // part with spaces or "@" cannot be put on the command line safely.
      final.set(a.address, finalVerdict.cannotAsk(a, facts));
      asked.set(a.address, { kind: 'not_asked' });
    } else toAsk.push({ parsed: a, candidate: 0 });
  }
  progress();
  for (const item of toAsk) enqueue(item);
  await drainAll(runs);

  // Greylisted: ask once more after the delay, in new sessions.
  const retried = new Set<string>();
  if (options.greylistRetryMs > 0) {
    const greylisted = toAsk.filter((i) => {
      const o = asked.get(i.parsed.address);
      return o?.kind === 'answered' && o.rcpt.verdict === 'greylisted';
    });
    if (greylisted.length > 0) {
      await sleep(options.greylistRetryMs, signal);
      for (const q of queues.values()) delete q.stats.stopped;
      for (const item of greylisted) {
        retried.add(item.parsed.address);
        asked.delete(item.parsed.address);
        enqueue(item);
      }
      await drainAll(runs);
    }
  }

  for (const item of toAsk) {
    const a = item.parsed;
    const facts = domains.get(a.domain.ascii)!;
    const outcome = asked.get(a.address) ?? { kind: 'stopped', why: 'not asked' };
    final.set(a.address, {
      ...finalVerdict.afterSmtp(a, facts, outcome),
      ...(retried.has(a.address) ? { retried: true } : {}),
    });
  }

  const results: VerifyResult[] = parsed.map(({ input, result }) =>
    result.ok
      ? { ...final.get(result.address.address)!, input }
      : {
          input,
          verdict: 'undeliverable',
          reason: 'invalid_syntax',
          explanation: `Not a valid address: ${result.error}.`,
          flags: { catchAll: null, role: false, disposable: false, smtpUtf8: false },
        },
  );
  const counts = { deliverable: 0, undeliverable: 0, risky: 0, unknown: 0 };
  for (const r of results) counts[r.verdict]++;
  return JSON.parse(
    JSON.stringify({
      startedAt: startedAt.toISOString(),
      finishedAt: now().toISOString(),
      durationMs: Math.round(performance.now() - t0),
      counts,
      results,
      domains: [...domains.values()].map((d) => ({
        domain: d.domain,
        mx: d.mx.kind,
        hosts: d.mx.hosts.map((h) => h.name),
        catchAll: d.catchAll,
        ...(d.catchAllProbe ? { catchAllProbe: d.catchAllProbe } : {}),
      })),
      mx: [...queues.values()].map((q) => q.stats),
      probe: { ehloName: settings.heloName, mailFrom: settings.mailFrom },
    } satisfies Verification),
  ) as Verification;
}

/** Why a session means the server no longer answers the probe (undefined: keep asking). */
function stopReason(record: SessionRecord): string | undefined {
  const where = `${record.host} [${record.address}]`;
  const mail = record.mail?.reply;
  if (mail && mail.code >= 400 && !(record.rcpts[0]?.verdict === 'greylisted'))
    return `${where} refused MAIL FROM: ${mail.lines[0] ?? mail.code}`;
  if (record.error) return `${where} stopped answering: ${record.error.message}`;
  return undefined;
}

/** Waits for every queue's sessions, including queues started while waiting (fallbacks to the next MX). */
async function drainAll(runs: Promise<void>[]): Promise<void> {
  let seen = 0;
  while (seen < runs.length) {
    const batch = runs.slice(seen);
    seen = runs.length;
    await Promise.all(batch);
  }
}

/** Runs `fn` over `items`, at most `limit` at a time. */
async function eachLimited<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

/** RCPTs per recipient domain per window (a sliding window of the times they were asked). */
class DomainRate {
  private readonly asked = new Map<string, number[]>();

  constructor(private readonly rate: Rate) {}

  private recent(domain: string): number[] {
    const since = Date.now() - this.rate.windowMs;
    const list = (this.asked.get(domain) ?? []).filter((t) => t > since);
    this.asked.set(domain, list);
    return list;
  }

  take(domain: string): boolean {
    if (this.rate.points <= 0) return true;
    const list = this.recent(domain);
    if (list.length >= this.rate.points) return false;
    list.push(Date.now());
    return true;
  }

  /** Milliseconds until one of these domains may be asked again. */
  waitMs(domains: readonly string[]): number {
    let wait = this.rate.windowMs;
    for (const d of new Set(domains)) {
      const list = this.recent(d);
      wait = Math.min(
        wait,
        list.length < this.rate.points ? 0 : list[0]! + this.rate.windowMs - Date.now() + 1,
      );
    }
    return wait;
  }
}
