import type { Config } from '../config/index.js';
import type { NormalizedDomain } from '../input/domain.js';
import { describeError } from '../net/errors.js';
import type { CheckOptions, Report } from '../report/model.js';
import { MemoryAddressLimiter, MemoryConnectionCache } from '../smtp/memory.js';
import { runCheck } from './run.js';
import type { RunDeps } from './run.js';
import type { CheckServices } from './types.js';

/**
 * Many domain checks in one run: at most `concurrency` at a time, every one with the same
 * SMTP services, so that the MX hosts many domains share are probed once within the
 * connection cache's freshness and the per-address politeness limits hold across the whole
 * run. Results are handed over as each check finishes (the caller orders them if it wants).
 * Only the caller's own signal stops the run; one check's trouble never stops the others.
 */

export interface BulkItem {
  /** Position in the input (0-based), for ordering the output. */
  index: number;
  domain: NormalizedDomain;
}

export type BulkOutcome = { ok: true; report: Report } | { ok: false; error: string };

export interface BulkDeps {
  config: Config;
  concurrency: number;
  /** Shared SMTP services; bulkServices(config) when absent. */
  services?: CheckServices;
  signal?: AbortSignal;
  /** Extra run options (tests inject checks and a clock). */
  run?: Pick<RunDeps, 'checks' | 'now'>;
  onStart?: (item: BulkItem) => void;
  onResult: (item: BulkItem, outcome: BulkOutcome) => void | Promise<void>;
}

/** The in-process SMTP services of one bulk run (the CLI's; the service passes Redis-backed ones). */
export interface BulkServices extends CheckServices {
  connectionCache: MemoryConnectionCache;
  addressLimiter: MemoryAddressLimiter;
}

export function bulkServices(config: Config): BulkServices {
  return {
    connectionCache: new MemoryConnectionCache({ maxTtlMs: config.smtp.cacheTtlMs }),
    addressLimiter: new MemoryAddressLimiter({
      maxConcurrent: config.smtp.perAddressConcurrency,
      rate: config.politeness.ratePerAddress,
    }),
  };
}

export async function runBulk(
  items: readonly BulkItem[],
  options: CheckOptions,
  deps: BulkDeps,
): Promise<void> {
  const services = deps.services ?? bulkServices(deps.config);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      if (deps.signal?.aborted) return;
      const item = items[next++]!;
      deps.onStart?.(item);
      let outcome: BulkOutcome;
      try {
        const report = await runCheck(item.domain, options, {
          config: deps.config,
          services,
          ...(deps.signal ? { signal: deps.signal } : {}),
          ...(deps.run ?? {}),
        });
        outcome = { ok: true, report };
      } catch (err) {
        if (deps.signal?.aborted) return;
        outcome = { ok: false, error: describeError(err) };
      }
      await deps.onResult(item, outcome);
    }
  };
  const workers = Math.max(1, Math.min(deps.concurrency, items.length));
  await Promise.all(Array.from({ length: workers }, worker));
}
