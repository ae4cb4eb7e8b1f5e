/**
 * Entry point of a standalone worker process: `node dist/workers/worker.js` (what
 * `mxdoctor worker` and `npm run worker` also start). It runs the BullMQ workers of every
 * queue — checks, greylisting re-probes, monitor runs, alert deliveries, bounce diagnoses —
 * against the Redis in REDIS_URL, and stops gracefully on SIGTERM/SIGINT.
 *
 * Nothing under src/ imports this folder: the workers themselves are built in src/queue/
 * and wired into a process by src/server/start.ts.
 */
import { loadConfig } from '../src/config/index.js';
import { tuneHeapForChecks } from '../src/server/heap.js';
import { startService } from '../src/server/start.js';

const service = await startService({ mode: 'worker', config: loadConfig(), handleSignals: true });
tuneHeapForChecks(service.log);
await service.stopped;
