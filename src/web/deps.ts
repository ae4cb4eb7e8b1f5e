import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Config } from '../config/index.js';
import type { Check } from '../checks/types.js';
import type { BounceQueue } from '../queue/jobs/bounce.js';
import type { CheckQueue } from '../queue/jobs/check.js';
import type { RedisHealth } from '../store/redis.js';
import type { ReportStore } from '../store/reports.js';
import type { Metrics } from '../metrics/metrics.js';
import type { ProgressHub } from './progress-hub.js';
import type { MonitorManager } from '../queue/monitor-manager.js';
import type { BatchQueue } from '../queue/jobs/batch.js';
import type { VerifyQueue } from '../queue/jobs/verify.js';
import type { InboundTests } from '../queue/jobs/inbound.js';

/** Everything the web app needs, passed in (createApp never opens connections itself). */
export interface AppDeps {
  config: Config;
  log: Logger;
  /** The checks the workers run: their finding explanations and the report schema. */
  checks: readonly Check[];
  queue: CheckQueue;
  store: ReportStore;
  /** A fail-fast command connection (rate limits, the CSRF secret, readiness). */
  redis: Redis;
  health: RedisHealth;
  events: ProgressHub;
  metrics: Metrics;
  /** True once shutdown began: /readyz answers 503 so load balancers move on. */
  draining: () => boolean;
  /** Present when this process also runs a worker (for /readyz). */
  workerRunning?: () => boolean;
  /** Bounce diagnosis (src/web/bounces/api.ts, bounce-pages.ts); its routes are off without it. */
  bounces?: { queue: BounceQueue; events?: ProgressHub };
  /** Monitoring (pages and API under /monitors); absent in tests that do not need it. */
  monitors?: MonitorManager;
  /** Batches of domain checks (API and pages under /batches); off without it. */
  batches?: BatchQueue;
  /** Address verification (API under /api/v1/verifications); off without it. */
  verifications?: VerifyQueue;
  /** The inbound test (API under /api/v1/inbound-tests, pages under /inbound); off without it. */
  inbound?: { tests: InboundTests; events?: ProgressHub };
}
