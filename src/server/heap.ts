import { setFlagsFromString } from 'node:v8';
import type { Logger } from 'pino';
import { nodeOptions } from '../config/environment.js';

/**
 * V8's heap settings for a process that runs checks (`mxdoctor worker`, `mxdoctor serve`).
 *
 * A worker holds hundreds of checks at once when MX hosts are slow (issue 14 P4: 500 checks
 * against tarpits in at most 150 MB). V8's defaults size the heap for throughput, not for a
 * process that mostly waits: on a 64-bit machine each of the two semi-spaces of the young
 * generation grows to 16 MiB, and after each full collection the old generation's limit may
 * grow by up to 100 %. Measured with `npm run bench tarpit` (one worker, 500 tarpit checks):
 * peak RSS 180 MiB with the defaults, 170 with the smaller young generation alone, 162 with
 * the slower growth alone, 140 with both; the cost is about a tenth more CPU per check
 * (`npm run bench service`), as short-lived garbage is collected more often.
 *
 * The young generation's size is fixed when V8 starts, so it is a flag of the `node` command:
 * the `start` and `worker` scripts of package.json and the compose file's worker pass it, and
 * a worker started without it says so in its log. The growth factor is read at each
 * collection, so it is set here at run time.
 */
export const CHECK_PROCESS_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=4'];

const OLD_GENERATION_GROWTH = '--heap-growing-percent=20';

/** Applies the run-time settings and logs when the start-up ones are missing. */
export function tuneHeapForChecks(log: Logger): void {
  setFlagsFromString(OLD_GENERATION_GROWTH);
  const given = [...process.execArgv, ...nodeOptions()];
  const missing = CHECK_PROCESS_NODE_FLAGS.filter((flag) => !given.includes(flag));
  if (missing.length > 0)
    log.info(
      { missing },
      `node started without ${missing.join(' ')}: checks run, but with V8's larger default young generation a worker holding many slow checks uses more memory (npm run worker passes it; or set NODE_OPTIONS)`,
    );
}
