import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Job } from 'bullmq';
import { pino } from 'pino';
import type { ProgressUpdate } from '../../src/checks/types.js';
import { sleep } from '../../src/net/deadline.js';
import { progressSender } from '../../src/queue/processors/shared.js';

/**
 * Each progress update a worker publishes is a Redis round trip and an event for every web
 * process: at most one per interval, counted from the start of the job, and the final state
 * when the job ends.
 */
describe('progress of a running job, as published to BullMQ', () => {
  const log = pino({ level: 'silent' });
  const update = (percent: number): ProgressUpdate => ({ step: 'mx', message: `at ${percent} %`, percent });

  /** A job that records what is published, and when (ms from its creation). */
  function recordingJob() {
    const t0 = performance.now();
    const published: { atMs: number; percent: number }[] = [];
    const job = {
      updateProgress: async (u: ProgressUpdate) => {
        published.push({ atMs: performance.now() - t0, percent: u.percent });
      },
    } as unknown as Job;
    return { job, published };
  }

  it('publishes only the final state of a job that ends within the first interval', async () => {
    const { job, published } = recordingJob();
    const sender = progressSender(job, log, 200);
    sender.push(update(10));
    sender.push(update(40));
    await sleep(50);
    assert.equal(published.length, 0, 'nothing is published as the job starts');
    sender.push(update(90));
    await sender.done();
    assert.deepEqual(
      published.map((p) => p.percent),
      [90],
    );
  });

  it('publishes the latest update at most once per interval from the start, then the final state', async () => {
    const { job, published } = recordingJob();
    const intervalMs = 100;
    const sender = progressSender(job, log, intervalMs);
    sender.push(update(10));
    await sleep(150);
    sender.push(update(20));
    sender.push(update(30));
    await sleep(150);
    sender.push(update(40));
    await sender.done();
    assert.deepEqual(
      published.map((p) => p.percent),
      [10, 30, 40],
    );
    // Timers may fire a millisecond early; never a whole interval.
    const slackMs = 3;
    assert.ok(
      published[0]!.atMs >= intervalMs - slackMs,
      `the first one interval in (${published[0]!.atMs})`,
    );
    assert.ok(
      published[1]!.atMs - published[0]!.atMs >= intervalMs - slackMs,
      `the next one an interval later (${published.map((p) => Math.round(p.atMs)).join(', ')})`,
    );
  });

  it('publishes nothing for a job that reported no progress', async () => {
    const { job, published } = recordingJob();
    await progressSender(job, log, 200).done();
    assert.deepEqual(published, []);
  });
});
