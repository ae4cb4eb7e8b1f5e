import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BounceInputError, diagnoseBounce } from '../../src/bounce/index.js';
import { BounceParsePool } from '../../src/bounce/parse-pool.js';
import { ROOT } from '../support/cli.js';

/**
 * The worker-thread pool that parses bounces for the service: the same diagnosis as in this
 * thread, unusable input still a BounceInputError, a message over its time budget reported as
 * too complex (its thread replaced), cancellation, and — the point of it — this thread's event
 * loop keeps turning while a thread parses.
 */
const FIXTURE = readFileSync(
  join(ROOT, 'test', 'fixtures', 'bounces', 'microsoft365-banned-sending-ip-5.7.606.eml'),
);

/** A large report: 20,000 recipient lines (1.7 MB), several hundred ms of parsing. */
function largeReport(): Buffer {
  const lines = Array.from(
    { length: 20_000 },
    (_, i) => `<user${i}@example.net>: host mx.example.net[192.0.2.1] said: 550 5.1.1 User unknown`,
  );
  return Buffer.from(
    `From: MAILER-DAEMON@mx.example.org\nTo: sender@example.com\nSubject: Undelivered Mail Returned to Sender\n\n${lines.join('\n')}\n`,
  );
}

describe('bounce parse pool', () => {
  const pool = new BounceParsePool({ size: 2 });
  after(() => pool.close());

  it('diagnoses in a thread exactly as in this one', async () => {
    assert.deepEqual(await pool.parse(FIXTURE), await diagnoseBounce(FIXTURE));
  });

  it('reports unusable input as a BounceInputError', async () => {
    await assert.rejects(
      pool.parse('Hello, this is an ordinary note.\nSee you tomorrow.'),
      (err: unknown) => {
        assert.ok(err instanceof BounceInputError);
        assert.equal(err.code, 'not_a_bounce');
        return true;
      },
    );
  });

  it('keeps this event loop turning while a thread parses a large report', async () => {
    const input = largeReport();
    let longest = 0;
    let last = performance.now();
    const ticker = setInterval(() => {
      const now = performance.now();
      longest = Math.max(longest, now - last);
      last = now;
    }, 5);
    const t0 = performance.now();
    const d = await pool.parse(input);
    const parseMs = performance.now() - t0;
    clearInterval(ticker);
    assert.equal(d.bounces.length, 500);
    // The parse takes far longer than the longest pause of the timer (in this thread it would be one pause).
    assert.ok(
      longest < Math.max(150, parseMs / 3),
      `event loop paused ${Math.round(longest)} ms during a ${Math.round(parseMs)} ms parse`,
    );
  });

  it('stops a message over its time budget, reports it as too complex and replaces the thread', async () => {
    const tight = new BounceParsePool({ size: 1, budgetMs: 20 });
    try {
      await assert.rejects(tight.parse(largeReport()), (err: unknown) => {
        assert.ok(err instanceof BounceInputError);
        assert.equal(err.code, 'too_complex');
        assert.match(err.message, /took longer than 20 ms/);
        return true;
      });
      // A new thread takes the next message, with its own budget.
      await assert.rejects(tight.parse(largeReport()), /took longer/);
    } finally {
      await tight.close();
    }
  });

  it('cancels a queued or running parse when its signal aborts', async () => {
    const one = new BounceParsePool({ size: 1 });
    try {
      const running = new AbortController();
      const queued = new AbortController();
      const first = one.parse(largeReport(), running.signal);
      const second = one.parse(FIXTURE, queued.signal);
      queued.abort(new Error('queued one cancelled'));
      running.abort(new Error('running one cancelled'));
      await assert.rejects(first, /running one cancelled/);
      await assert.rejects(second, /queued one cancelled/);
      // The pool goes on with a fresh thread.
      assert.equal((await one.parse(FIXTURE)).kind, (await diagnoseBounce(FIXTURE)).kind);
    } finally {
      await one.close();
    }
  });
});
