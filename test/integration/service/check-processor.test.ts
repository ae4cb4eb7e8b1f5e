import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Redis } from 'ioredis';
import { pino } from 'pino';
import { defineFindings } from '../../../src/checks/findings.js';
import type { Check } from '../../../src/checks/types.js';
import { loadConfig } from '../../../src/config/index.js';
import { normalizeDomain } from '../../../src/input/domain.js';
import { Dedupe } from '../../../src/queue/jobs/check.js';
import type { CheckJob, CheckJobData } from '../../../src/queue/jobs/check.js';
import { newJobId } from '../../../src/queue/names.js';
import { isFirstRun, processCheck } from '../../../src/queue/processors/check.js';
import type { CheckProcessorDeps } from '../../../src/queue/processors/check.js';
import { ReportStore } from '../../../src/store/reports.js';
import type { ReportMeta } from '../../../src/store/reports.js';
import { cleanPrefix, connectTestRedis, testPrefix } from '../../support/redis.js';

/**
 * The `check` processor looks for a report stored by an earlier run of its job (a re-run after
 * a stall, a retry) before it checks, and skips that look-up, a Redis round trip in every
 * check, when BullMQ's counts on the job say it is the first run.
 */
const T = defineFindings('test', {
  'test.ok': { title: 'Test', statuses: ['pass'], meaning: 'test' },
});

/** A report store that counts its look-ups of report summaries. */
class CountingStore extends ReportStore {
  metaReads = 0;
  override async getMeta(id: string): Promise<ReportMeta | undefined> {
    this.metaReads++;
    return super.getMeta(id);
  }
}

type RunCounts = Pick<CheckJob, 'attemptsMade' | 'stalledCounter' | 'attemptsStarted'>;
const FIRST_RUN: RunCounts = { attemptsMade: 0, stalledCounter: 0, attemptsStarted: 1 };

describe('check processor: a report stored by an earlier run of the job', () => {
  const prefix = testPrefix('proc');
  let redis: Redis;
  let store: CountingStore;
  let deps: CheckProcessorDeps;
  let runs = 0;
  const counted: Check = {
    name: 'counted',
    title: 'Counted',
    findings: T.specs,
    async run() {
      runs++;
      return { findings: [T.make('test.ok', 'pass', { summary: 'ok' })] };
    },
  };

  before(() => {
    redis = connectTestRedis();
    store = new CountingStore(redis, { prefix, retentionMs: 60 * 60_000, domainHistory: 10 });
    deps = {
      // No check here asks DNS; a resolver on loopback all the same.
      config: loadConfig({ MXDOCTOR_RESOLVERS: '127.0.0.1:9' }),
      checks: [counted],
      services: {},
      store,
      dedupe: new Dedupe(redis, { prefix, windowMs: 60_000, deadlineMs: 60_000 }),
      log: pino({ level: 'silent' }),
    };
  });
  after(async () => {
    redis.disconnect();
    await cleanPrefix(prefix);
  });

  /** A job as a worker gets it from BullMQ: its id, data, run counts, and where progress goes. */
  function job(id: string, counts: RunCounts): { job: CheckJob; progress: unknown[] } {
    const d = normalizeDomain('processor.example.com');
    if (!d.ok) throw new Error(d.error);
    const data: CheckJobData = {
      domain: { ...d.domain },
      options: { verify: [], dkimSelectors: [], smtp: false, greylistRetryMs: 0 },
      identity: `identity-${id}`,
      submittedAt: new Date().toISOString(),
      via: 'api',
    };
    const progress: unknown[] = [];
    const fake = {
      id,
      data,
      ...counts,
      updateProgress: async (p: unknown) => {
        progress.push(p);
      },
    };
    return { job: fake as unknown as CheckJob, progress };
  }

  const run = (j: CheckJob) => processCheck(j, 'token', new AbortController().signal, deps);

  it('checks and stores on the first run without looking for an earlier report', async () => {
    const reads = store.metaReads;
    const before = runs;
    const { job: first, progress } = job(newJobId(), FIRST_RUN);
    const result = await run(first);
    assert.equal(result.stored, true);
    assert.equal(runs, before + 1);
    assert.equal(store.metaReads, reads, 'no look-up');
    assert.ok(await store.has(result.reportId));
    // A check this fast publishes its final progress only.
    assert.equal(progress.length, 1);
  });

  const earlierRuns: [string, RunCounts][] = [
    ['after a stall (its worker died)', { attemptsMade: 0, stalledCounter: 1, attemptsStarted: 2 }],
    ['on a retry after a failed attempt', { attemptsMade: 1, stalledCounter: 0, attemptsStarted: 2 }],
    ['after a hand-back at shutdown', { attemptsMade: 0, stalledCounter: 0, attemptsStarted: 2 }],
  ];
  for (const [when, counts] of earlierRuns) {
    it(`finds the report an earlier run stored ${when}, and does not check again`, async () => {
      const id = newJobId();
      const stored = await run(job(id, FIRST_RUN).job);
      const reads = store.metaReads;
      const before = runs;
      const again = await run(job(id, counts).job);
      assert.deepEqual(again, { ...stored, stored: false });
      assert.equal(runs, before, 'not checked again');
      assert.equal(store.metaReads, reads + 1, 'looked up once');
    });

    it(`checks ${when} when the earlier run stored nothing`, async () => {
      const before = runs;
      const result = await run(job(newJobId(), counts).job);
      assert.equal(result.stored, true);
      assert.equal(runs, before + 1);
    });
  }

  it('takes a job as a first run only when every count says so', () => {
    assert.equal(isFirstRun(FIRST_RUN), true);
    // A job before its move to active (or one built in a test) has started no attempt yet.
    assert.equal(isFirstRun({ ...FIRST_RUN, attemptsStarted: 0 }), true);
    for (const [, counts] of earlierRuns) assert.equal(isFirstRun(counts), false);
    // Without the counts (another BullMQ, a job built by hand): look.
    assert.equal(isFirstRun({} as RunCounts), false);
    assert.equal(isFirstRun({ attemptsMade: 0 } as RunCounts), false);
  });
});
