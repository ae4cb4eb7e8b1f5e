import { renameSync, writeFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';

/**
 * Property-based fuzzing (issue 13 §8): each module under test/fuzz/ exports one FuzzTarget —
 * a fast-check property over hostile input plus what it needs around it (loopback servers,
 * a time budget per case). Two runners use the same targets:
 *
 * - `npm test` runs each target briefly through `fuzzTest` (test/fuzz/*.test.ts): a fixed
 *   seed so that a run is repeatable, a small number of cases; a failure prints the seed, the
 *   path and the shrunk counterexample. FUZZ_SEED=<n> / FUZZ_RUNS=<n> change both.
 * - `npm run fuzz` (scripts/fuzz.ts) runs 100,000 cases per target with a fresh seed and
 *   prints cases/s, crashes, hangs, property violations, peak RSS and heap growth.
 *
 * A property fails in one of three ways, told apart by the error it throws: a *crash* (the
 * code under test threw something it does not document), a *hang* (FuzzHang: a case ran past
 * its budget or never settled) or a *violation* (FuzzViolation: it returned, but broke a
 * promise — a memory bound, a deadline, a DATA command sent).
 */

export interface FuzzContext {
  /**
   * short: inside npm test, where input shapes with a known open issue are left out (each
   * such exclusion names its issue); full: npm run fuzz, everything.
   */
  mode: 'short' | 'full';
}

export interface FuzzInstance {
  property: fc.IAsyncProperty<unknown>;
  /** Stops the servers the property used. */
  stop(): Promise<void>;
}

export interface FuzzTarget {
  name: string;
  /** What is fuzzed and which properties hold, in one sentence. */
  about: string;
  /** Cases in the short run of npm test (the whole short run stays under ~30 s). */
  shortRuns: number;
  /** Most milliseconds one case may take before it is a hang. */
  budgetMs: number;
  create(ctx: FuzzContext): Promise<FuzzInstance>;
}

/** Forgets a property's input type, so that one list can hold every target's property. */
export function erase<T>(property: fc.IAsyncProperty<T>): fc.IAsyncProperty<unknown> {
  return property as unknown as fc.IAsyncProperty<unknown>;
}

/** A case that ran past its budget, or never settled. */
export class FuzzHang extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FuzzHang';
  }
}

/** A case that finished but broke one of the target's promises. */
export class FuzzViolation extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FuzzViolation';
  }
}

export function violation(condition: unknown, message: string): asserts condition {
  if (!condition) throw new FuzzViolation(message);
}

export type FailureKind = 'crash' | 'hang' | 'violation';

export function failureKind(err: unknown): FailureKind {
  if (err instanceof FuzzHang) return 'hang';
  if (err instanceof FuzzViolation) return 'violation';
  return 'crash';
}

/** Counters the runners read: cases run and the slowest case of this process. */
export const stats = { cases: 0, maxCaseMs: 0, totalCaseMs: 0 };
let lastTurn = 0;

export interface BudgetOptions {
  /** Extra time before an unsettled case fails, for the event loop of a busy machine. */
  graceMs?: number;
  /**
   * The case is a pure computation that may run again: when it overruns its budget, it is
   * timed twice more and counts as a hang only if it overruns every time (a pause of the
   * machine or the garbage collector is not a hang).
   */
  repeatable?: boolean;
}

/**
 * Runs one case under its budget: a case that has not settled after the budget (plus
 * `graceMs`) fails as a hang at once; a case that settles later than the budget fails as a
 * hang too. Synchronous endless loops cannot be interrupted from inside: scripts/fuzz.ts
 * watches for them from the parent process.
 */
export async function withinBudget<T>(
  budgetMs: number,
  what: string,
  fn: () => Promise<T>,
  options: BudgetOptions = {},
): Promise<T> {
  const graceMs = options.graceMs ?? 2000;
  // Under npm run fuzz: say which case is running, synchronously, so that the parent can name
  // it if this case blocks the event loop for good.
  const current = process.env.FUZZ_CURRENT_FILE;
  if (current) {
    writeFileSync(`${current}.tmp`, JSON.stringify({ index: stats.cases, what }));
    renameSync(`${current}.tmp`, current);
  }
  // A property whose cases settle in microtasks alone would never let timers run (progress
  // reports, other watchdogs): give the event loop a turn every 100 ms.
  if (performance.now() - lastTurn > 100) {
    await new Promise((r) => setImmediate(r));
    lastTurn = performance.now();
  }
  const once = async (): Promise<{ result: T; ms: number }> => {
    const t0 = performance.now();
    let timer: NodeJS.Timeout | undefined;
    const watchdog = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(new FuzzHang(`${what}: not settled after ${budgetMs + graceMs} ms (budget ${budgetMs} ms)`)),
        budgetMs + graceMs,
      );
    });
    try {
      return { result: await Promise.race([fn(), watchdog]), ms: performance.now() - t0 };
    } finally {
      clearTimeout(timer);
    }
  };
  const t0 = performance.now();
  try {
    let { result, ms } = await once();
    for (let again = 0; options.repeatable && ms > budgetMs && again < 2; again++)
      ({ result, ms } = await once());
    if (ms > budgetMs) throw new FuzzHang(`${what}: took ${Math.round(ms)} ms (budget ${budgetMs} ms)`);
    return result;
  } finally {
    const ms = performance.now() - t0;
    stats.cases++;
    stats.totalCaseMs += ms;
    if (ms > stats.maxCaseMs) stats.maxCaseMs = ms;
  }
}

/** The seed of the short run: fixed, so that npm test explores the same cases every time. */
export const SHORT_RUN_SEED = 0x6d78_6463;

function envNumber(name: string): number | undefined {
  const v = process.env[name];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n)) throw new Error(`${name}=${v} is not an integer`);
  return n;
}

/** The short run of one target inside npm test. */
export function fuzzTest(target: FuzzTarget): void {
  const runs = envNumber('FUZZ_RUNS') ?? target.shortRuns;
  const seed = envNumber('FUZZ_SEED') ?? SHORT_RUN_SEED;
  describe(`fuzz ${target.name}`, () => {
    it(`${target.about} (${runs} cases, seed ${seed})`, { timeout: 120_000 }, async () => {
      const instance = await target.create({ mode: 'short' });
      try {
        await fc.assert(instance.property, { numRuns: runs, seed, includeErrorInReport: true });
      } finally {
        await instance.stop();
      }
    });
  });
}
