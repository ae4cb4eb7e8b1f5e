import { setMaxListeners } from 'node:events';
import type { Config } from '../config/index.js';
import { CheckCache } from '../dns/cache.js';
import type { DnsCache } from '../dns/cache.js';
import { DnsClient, dnsClientSettings } from '../dns/client.js';
import { whenRoom } from '../dns/inflight.js';
import type { NormalizedDomain } from '../input/domain.js';
import { deadline, raceSignal, throwIfAborted } from '../net/deadline.js';
import type { CheckOptions, Report } from '../report/model.js';
import { lookUpMx } from '../mx/lookups.js';
import type * as Assembly from './assemble.js';
import { dataOf } from './outcome.js';
import type { Outcome } from './outcome.js';
import type {
  Check,
  CheckContext,
  CheckDescriptor,
  CheckName,
  CheckServices,
  LazyCheck,
  ProgressUpdate,
} from './types.js';

/**
 * The check pipeline: runs every enabled check as soon as the checks it depends on have
 * finished, under one overall deadline, and assembles the report. A check that throws or
 * overruns becomes an "error" finding; the others are unaffected. Only the caller's own
 * signal aborting makes runCheck reject.
 */
export interface RunDeps {
  config: Config;
  /**
   * The checks to run, in report order. Defaults to every registered check
   * (src/checks/registry.ts), whose code loads as the run needs it; checks given whole (the
   * service loads them all as it starts, tests define their own) run as they are.
   */
  checks?: readonly (Check | LazyCheck)[];
  services?: CheckServices;
  /** Cancels the whole run (e.g. a BullMQ job's signal). */
  signal?: AbortSignal;
  onProgress?: (update: ProgressUpdate) => void;
  now?: () => Date;
  /** Share answers across checks (a TtlCache); defaults to a cache for this run only. */
  dnsCache?: DnsCache;
  /**
   * Awaited once every check has settled, before the report is assembled: a caller that
   * stores reports (the worker) bounds how many exist at once. @defaultValue at most 4 per
   * turn of the event loop
   */
  beforeReport?: () => Promise<void>;
  /**
   * Return the report as plain data, a JSON round trip of what was assembled. A caller that
   * serialises the report itself (the worker stores it as JSON) saves that copy: ~130 KB of
   * garbage per report, hundreds of them in the second a flood of checks reaches its
   * deadline (issue 14 P4). @defaultValue true
   */
  plain?: boolean;
}

/** What every check of one run shares. */
interface Run {
  domain: NormalizedDomain;
  options: CheckOptions;
  config: Config;
  dns: DnsClient;
  services: CheckServices;
  now: () => Date;
  /** The overall deadline (and the caller's cancellation). */
  overall: AbortSignal;
  /** The caller's own signal: when it aborts, runCheck rejects. */
  caller: AbortSignal | undefined;
  progress: Progress;
}

/** Listeners on a check's signal besides its DNS questions': sessions, fetches, the pipeline. */
const CHECK_SIGNAL_OTHER_LISTENERS = 64;

export async function runCheck(
  domain: NormalizedDomain,
  options: CheckOptions,
  deps: RunDeps,
): Promise<Report> {
  const { config } = deps;
  const now = deps.now ?? (() => new Date());
  const startedAt = now();
  const t0 = performance.now();
  // The wall clock (not `now`, which callers may fix) places sessions and fetches on the timeline.
  const wallStartMs = Date.now();
  const overall = deadline(deps.signal, config.check.deadlineMs, 'domain check');
  // Everything the check does listens to this one signal: each DNS question while it waits
  // for a slot or its answer (up to the process's questions in flight, src/dns/inflight.ts),
  // each SMTP session and fetch. So many listeners are the design, not a leak; the bound
  // keeps Node's leak warning for a real one.
  setMaxListeners(
    2 * config.dns.maxInFlight * config.dns.resolvers.length + CHECK_SIGNAL_OTHER_LISTENERS,
    overall.signal,
  );
  // A check asks most of its questions as it starts: while the process's DNS queue is long,
  // it waits here as one small record rather than adding ~80 waiting questions to it. The
  // wait counts against the deadline; a caller's abort ends it.
  try {
    await whenRoom(overall.signal);
  } catch (err) {
    if (deps.signal?.aborted) {
      overall.dispose();
      throw err;
    }
  }
  const dns = new DnsClient({
    ...dnsClientSettings(config.dns),
    cache: deps.dnsCache ?? new CheckCache(),
    signal: overall.signal,
  });
  const registered = deps.checks ?? (await registeredChecks(dns, domain, overall.signal));
  const checks = registered.filter((c) => c.enabled?.(options, config) ?? true);
  const code = loadInTurns(checks);
  const run: Run = {
    domain,
    options,
    config,
    dns,
    services: deps.services ?? {},
    now,
    overall: overall.signal,
    caller: deps.signal,
    progress: new Progress(checks, deps.onProgress),
  };

  // Create every check's promise before any starts, so dependencies resolve in any order.
  const names = new Set(checks.map((c) => c.name));
  const outcomes = new Map<string, Promise<Outcome>>();
  const started = checks.map((check, i) => {
    const outcome = (async () => {
      await Promise.resolve();
      const { hard, soft } = upstreamOf(check, names);
      if (!hard.length && !soft.length) return runOne(check, code.checks[i]!, NO_UPSTREAM, noJoin, run);
      const upstream = new Map<string, Outcome>();
      if (hard.length) await collect(hard, outcomes, upstream);
      return runOne(check, code.checks[i]!, upstream, () => collect(soft, outcomes, upstream), run);
    })();
    outcomes.set(check.name, outcome);
    return outcome;
  });
  let settled: Outcome[];
  try {
    settled = await Promise.all(started);
  } finally {
    overall.dispose();
  }
  const assemble = await code.assembly;
  await (deps.beforeReport ?? reportTurn)();

  const finishedAt = now();
  deps.onProgress?.({ step: 'done', message: 'Report ready', percent: 100 });
  return assemble.assembleReport({
    domain,
    options,
    config,
    dnsLog: dns.log,
    startedAt,
    finishedAt,
    durationMs: Math.round(performance.now() - t0),
    wallStartMs,
    checks,
    outcomes: settled,
    plain: deps.plain !== false,
  });
}

/**
 * Reports assembled per turn of the event loop, at most. Checks that share a deadline (a
 * worker's flood of tarpits, started together) end in the same instant: assembled back to
 * back, hundreds of reports and their JSON existed at once while their writes to Redis
 * waited behind the assembly of the others. Paced, the reports of one turn are on their
 * way before the next are built; the same CPU is spent in the same order (issue 14 P4).
 */
const REPORTS_PER_TURN = 4;
let reportsThisTurn = 0;
const waitingForTurn: (() => void)[] = [];
let turnScheduled = false;

function reportTurn(): Promise<void> {
  scheduleTurn();
  if (waitingForTurn.length === 0 && reportsThisTurn < REPORTS_PER_TURN) {
    reportsThisTurn++;
    return Promise.resolve();
  }
  return new Promise((resolve) => waitingForTurn.push(resolve));
}

function scheduleTurn(): void {
  if (turnScheduled) return;
  turnScheduled = true;
  setImmediate(() => {
    turnScheduled = false;
    reportsThisTurn = 0;
    while (reportsThisTurn < REPORTS_PER_TURN && waitingForTurn.length > 0) {
      reportsThisTurn++;
      waitingForTurn.shift()!();
    }
    if (waitingForTurn.length > 0) scheduleTurn();
  });
}

let registry: Promise<readonly LazyCheck[]> | null = null;

/**
 * The registered checks, their descriptors loaded on first use: the engine's own module holds
 * only what the first DNS query needs. Meanwhile the MX check's own questions go out through
 * the run's resolver (its cache hands the answers to the MX check and its log keeps them):
 * they are the first step of the way to the first SMTP connection, and need no check's code.
 */
async function registeredChecks(
  dns: DnsClient,
  domain: NormalizedDomain,
  signal: AbortSignal,
): Promise<readonly LazyCheck[]> {
  if (!registry) {
    lookUpMx(dns, domain.ascii, signal).catch(() => {
      // The MX check asks again and reports the failure; an abort ends the run anyway.
    });
    registry = import('./registry.js').then((m) => m.CHECKS);
    registry.catch(() => (registry = null));
  }
  return registry;
}

/** The code of a run's checks and of its report's assembly, as it loads. */
interface Code {
  /** Per check, in the order of the run's checks; rejects when its module fails to load. */
  checks: Promise<Check>[];
  assembly: Promise<Assemble>;
}

/** The code of the checks loaded so far in this process. */
const loadedChecks = new WeakMap<LazyCheck, Check>();

/**
 * Loads the code of the checks not yet loaded one at a time, in the run's order, each in a
 * turn of the event loop of its own, and the report's assembly after them. The registry's
 * order puts the MX and SMTP checks first: their code is in memory when the MX hosts'
 * addresses arrive, and the other checks' loads while the lookups and SMTP sessions wait on
 * the network. Loaded at once, all of it (some 400 kB of parsers, evaluations and zod data
 * schemas; over 100 ms of compiling and evaluating on a slow machine) held the MX and
 * address answers until it was done; now an answer or a reply waits for one check's module
 * at most. A check starts as soon as its code is loaded and its upstream has finished.
 */
function loadInTurns(checks: readonly (Check | LazyCheck)[]): Code {
  let previous: Promise<unknown> = Promise.resolve();
  const loaded = checks.map((entry): Promise<Check> => {
    if (!('load' in entry)) return Promise.resolve(entry);
    const known = loadedChecks.get(entry);
    if (known) return Promise.resolve(known);
    const loading = previous.then(nextTurn).then(async () => {
      const check = await entry.load();
      loadedChecks.set(entry, check);
      return check;
    });
    previous = loading.catch(() => undefined);
    return loading;
  });
  const assembly = previous.then(loadAssemble);
  // Awaited once every check has settled, unless the caller aborted the run before.
  assembly.catch(() => undefined);
  return { checks: loaded, assembly };
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

type Assemble = typeof Assembly;
let assembleModule: Promise<Assemble> | null = null;

/**
 * The report's assembly (src/checks/assemble.ts), loaded on first use: after the checks' code
 * (loadInTurns), or as soon as a check fails, for its finding.
 */
function loadAssemble(): Promise<Assemble> {
  if (!assembleModule) {
    assembleModule = import('./assemble.js');
    assembleModule.catch(() => (assembleModule = null));
  }
  return assembleModule;
}

/** The upstream of a check that has neither `dependsOn` nor `uses`, and its join. */
const NO_UPSTREAM: ReadonlyMap<string, Outcome> = new Map();
const noJoin = (): Promise<void> => Promise.resolve();

/** Waits for the outcomes of `deps` (which never reject unless the caller aborted) and keeps them. */
async function collect(
  deps: readonly CheckName[],
  outcomes: ReadonlyMap<string, Promise<Outcome>>,
  into: Map<string, Outcome>,
): Promise<void> {
  for (const dep of deps) {
    const o = await outcomes.get(dep);
    if (o) into.set(dep, o);
  }
}

/**
 * The checks whose outcome this one waits for: what it depends on (before it starts), and
 * what it uses (when enabled; before `run`, after `gather`).
 */
function upstreamOf(
  check: CheckDescriptor,
  enabled: ReadonlySet<string>,
): { hard: CheckName[]; soft: CheckName[] } {
  const hard = (check.dependsOn ?? []).filter((d) => enabled.has(d));
  return { hard, soft: (check.uses ?? []).filter((d) => enabled.has(d) && !hard.includes(d)) };
}

/**
 * Runs one check whose `dependsOn` checks have finished, once its code is loaded: its
 * `gather` step at once, its `run` step once `join` has waited for the checks it uses. Never
 * rejects unless the caller aborted.
 */
async function runOne(
  check: CheckDescriptor,
  code: Promise<Check>,
  upstream: ReadonlyMap<string, Outcome>,
  join: () => Promise<void>,
  run: Run,
): Promise<Outcome> {
  const { progress, overall, config } = run;
  const failedDeps = (check.dependsOn ?? []).filter((d) => upstream.get(d)?.ok === false);
  if (failedDeps.length > 0) {
    progress.finished(check);
    const { dependencyFailedFinding } = await loadAssemble();
    return { ok: false, findings: [dependencyFailedFinding(check, failedDeps)] };
  }
  let joined = false;
  const ctx: CheckContext = {
    domain: run.domain,
    config,
    options: run.options,
    dns: run.dns,
    signal: overall,
    now: run.now,
    upstream: (name) => {
      if (!joined && !(check.dependsOn ?? []).includes(name))
        throw new Error(
          `${check.name}: upstream('${name}') asked for in gather, before ${name} has finished`,
        );
      return dataOf(upstream, name);
    },
    progress: (message, fraction, position) => progress.within(check, message, fraction, position),
    services: run.services,
  };
  try {
    const implementation = await raceSignal(code, overall);
    progress.emit(check.name, `${check.title}…`);
    const gathered = implementation.gather
      ? await raceSignal(implementation.gather(ctx), overall)
      : undefined;
    // Not raced against the deadline: what it waits for is, and settles as soon as it fires.
    // A check waiting here for the SMTP probe (a tarpit: minutes) holds no listener on the
    // run's signal meanwhile.
    await join();
    throwIfAborted(overall);
    joined = true;
    const result = await raceSignal(implementation.run(ctx, gathered), overall);
    progress.finished(check);
    progress.emit(check.name, `${check.title} done`);
    return { ok: true, data: result.data, findings: result.findings };
  } catch (err) {
    progress.finished(check);
    if (run.caller?.aborted) throw err;
    const { failureFinding } = await loadAssemble();
    return { ok: false, findings: [failureFinding(check, err, overall.aborted, config)] };
  }
}

/**
 * Progress of the whole run as a percentage: each check weighs `weight` and reports the
 * fraction of its own work done. The percentage never goes backwards, whatever order checks
 * report in, and stays under 100 until the report is ready.
 */
class Progress {
  private readonly fractions = new Map<string, number>();
  private readonly totalWeight: number;
  private lastPercent = 0;

  constructor(
    private readonly checks: readonly CheckDescriptor[],
    private readonly onProgress: ((update: ProgressUpdate) => void) | undefined,
  ) {
    this.totalWeight = checks.reduce((n, c) => n + (c.weight ?? 1), 0) || 1;
  }

  finished(check: CheckDescriptor): void {
    this.fractions.set(check.name, 1);
  }

  within(
    check: CheckDescriptor,
    message: string,
    fraction: number | undefined,
    position: { index: number; total: number } | undefined,
  ): void {
    if (fraction !== undefined) this.fractions.set(check.name, Math.max(0, Math.min(0.99, fraction)));
    this.emit(check.name, message, position);
  }

  emit(step: string, message: string, position?: { index: number; total: number }): void {
    const done = this.checks.reduce((n, c) => n + (c.weight ?? 1) * (this.fractions.get(c.name) ?? 0), 0);
    this.lastPercent = Math.max(this.lastPercent, Math.min(99, Math.floor((done / this.totalWeight) * 100)));
    this.onProgress?.({ step, message, percent: this.lastPercent, ...(position ?? {}) });
  }
}
