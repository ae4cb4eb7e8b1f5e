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
 * Services with I/O beyond DNS that checks use. Each is optional so that tests and the CLI
 * can wire only what they need; a check whose service is missing reports "error".
 * Later issues add their services here (the SMTP prober, the HTTPS fetcher, the
 * connection cache shared through Redis…).
 */
export interface CheckServices {
  [name: string]: unknown;
}

export interface CheckContext {
  domain: NormalizedDomain;
  config: Config;
  options: CheckOptions;
  dns: DnsClient;
  /** Fires at the report deadline or when the caller cancels. */
  signal: AbortSignal;
  now: () => Date;
  /** Data returned by a check this one depends on (undefined when it produced none). */
  upstream: <T = unknown>(check: string) => T | undefined;
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

export interface Check<D = unknown> {
  /** Stable check name, e.g. "mx"; also the key of its data in the report. */
  name: string;
  title: string;
  /** Checks whose data this one needs; it starts after they finish and is skipped if one failed. */
  dependsOn?: readonly string[];
  /**
   * Checks whose data this one uses when available: it starts after they finish, but still
   * runs when one failed or is disabled (then `upstream(name)` is undefined and the check
   * reports what it could not compare).
   */
  uses?: readonly string[];
  /** Every finding ID this check can emit. */
  findings: readonly FindingSpec[];
  /** Schema of `data`, for the published report JSON Schema. */
  dataSchema?: z.ZodType<D>;
  /** Relative weight of this check in progress percentages. @defaultValue 1 */
  weight?: number;
  /** Whether to run for these options (e.g. SMTP off with --no-smtp). @defaultValue always */
  enabled?: (options: CheckOptions, config: Config) => boolean;
  run(ctx: CheckContext): Promise<CheckResult<D>>;
}
