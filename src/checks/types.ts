import type { z } from 'zod';
import type { Config } from '../config/index.js';
import type { DnsClient } from '../dns/client.js';
import type { NormalizedDomain } from '../input/domain.js';
import type { CheckOptions, Finding, Status } from '../report/model.js';

/**
 * The one signature every check has. A check gathers facts (DNS, SMTP, HTTPS through the
 * context, never by itself opening sockets it was not given), evaluates them with pure
 * functions, and returns findings plus serialisable data. The pipeline owns concurrency,
 * deadlines and error capture.
 */

export interface ProgressUpdate {
  /** Machine-readable step, e.g. "mx", "smtp". */
  step: string;
  /** Human text, e.g. "MX 2 of 3: mx2.example.com". */
  message: string;
  /** 0–100 for the whole check run. */
  percent: number;
  /** Position within the step, when it has parts (MX i of n). */
  index?: number;
  total?: number;
}

/**
 * The data each check returns, by check name: what `ctx.upstream(name)` gives the checks that
 * depend on it. Empty here, so that this layer imports no protocol: each protocol's check.ts
 * adds its own entry by declaration merging, beside the check that produces it,
 *
 *     declare module '../checks/types.js' {
 *       interface CheckData { mx: MxSet }
 *     }
 *
 * and declares the check with `defineCheck` (src/checks/descriptors.ts), which holds its name
 * and data to that entry.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled by declaration merging
export interface CheckData {}

/** The name of a registered check. */
export type CheckName = keyof CheckData & string;

/**
 * What the runtime lends checks beyond DNS, by protocol (e.g. `smtp`: the politeness limiter
 * and connection cache shared through Redis). Each entry is optional so that tests and the
 * CLI wire only what they need; a check uses in-process defaults for what is missing. Filled
 * the same way as CheckData: `interface CheckServices { smtp?: SmtpSharing }` in smtp/check.ts.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled by declaration merging
export interface CheckServices {}

export interface CheckContext {
  domain: NormalizedDomain;
  config: Config;
  options: CheckOptions;
  dns: DnsClient;
  /** Fires at the report deadline or when the caller cancels. */
  signal: AbortSignal;
  now: () => Date;
  /**
   * Data returned by a check this one depends on or uses (undefined when it failed, was
   * disabled or produced none). In `gather`, only the checks of `dependsOn` have finished:
   * asking there for a check of `uses` throws.
   */
  upstream: <K extends CheckName>(check: K) => CheckData[K] | undefined;
  /** Reports progress within this check; `fraction` is 0–1 of this check's work. */
  progress: (message: string, fraction?: number, position?: { index: number; total: number }) => void;
  services: CheckServices;
}

export interface CheckResult<D = unknown> {
  findings: Finding[];
  data?: D;
}

/** Documentation of one finding ID: what it means and which statuses it can have. */
export interface FindingSpec {
  id: string;
  title: string;
  statuses: readonly Status[];
  /** What the finding checks, for the check-ID table. */
  meaning: string;
}

/**
 * What the pipeline knows of a check before its code is loaded: enough to schedule it, weigh
 * its progress and decide whether it runs. src/checks/descriptors.ts declares one for every
 * registered check, in report order; the check's own module adds the rest
 * (CheckImplementation) with `defineCheck`.
 */
export interface CheckDescriptor {
  /** Stable check name, e.g. "mx"; also the key of its data in the report. */
  name: string;
  title: string;
  /** Checks whose data this one needs; it starts after they finish and is skipped if one failed. */
  dependsOn?: readonly CheckName[];
  /**
   * Checks whose data this one uses when available: it starts after they finish, but still
   * runs when one failed or is disabled (then `upstream(name)` is undefined and the check
   * reports what it could not compare).
   */
  uses?: readonly CheckName[];
  /** Relative weight of this check in progress percentages. @defaultValue 1 */
  weight?: number;
  /** Whether to run for these options (e.g. SMTP off with --no-smtp). @defaultValue always */
  enabled?: (options: CheckOptions, config: Config) => boolean;
}

/** What a check's module implements: its findings, its data and how it runs. */
export interface CheckImplementation<D = unknown, G = unknown> {
  /** Every finding ID this check can emit. */
  findings: readonly FindingSpec[];
  /** Schema of `data`, for the published report JSON Schema. */
  dataSchema?: z.ZodType<D>;
  /**
   * The I/O that needs only `dependsOn`: it starts as soon as those checks finish, while the
   * checks of `uses` are still running (e.g. the TLSA lookups start when the MX addresses are
   * known, not when the SMTP probe has ended). What it returns is handed to `run`, which
   * starts when `uses` have finished too and joins their data to evaluate. Without it, `run`
   * does everything once all upstream checks have finished.
   */
  gather?: (ctx: CheckContext) => Promise<G>;
  run(ctx: CheckContext, gathered: G): Promise<CheckResult<D>>;
}

/** A check, whole: what the pipeline schedules it by, and what it does. */
export interface Check<D = unknown, G = unknown> extends CheckDescriptor, CheckImplementation<D, G> {}

/**
 * A check whose code loads on first use: the registry's entries (src/checks/registry.ts). The
 * pipeline schedules it by its descriptor and loads its module only when it runs, one check
 * at a time (src/checks/run.ts).
 */
export interface LazyCheck extends CheckDescriptor {
  load(): Promise<Check>;
}
