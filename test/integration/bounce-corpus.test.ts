import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../support/cli.js';
import {
  CORPUS_DIR,
  confusionText,
  corpusAvailable,
  percent,
  scoreCorpus,
  scoreGrouped,
  summaryText,
} from '../support/bounce-corpus.js';

/**
 * The parser and classifier over the shared corpus of real bounces (see its README): accuracy
 * of reason (a record is right when it matches `reason` or any `reasonAlso`), status (where
 * the expectation is not a guess), hard/soft, the number of records per message, and
 * not-bounces yielding nothing. Fails when any drops below the ratchet in
 * test/fixtures/bounces/accuracy.json, printing the per-reason confusion.
 */
const RATCHET = JSON.parse(
  readFileSync(join(ROOT, 'test', 'fixtures', 'bounces', 'accuracy.json'), 'utf8'),
) as Record<'reason' | 'status' | 'hard' | 'recordCount' | 'notBounces', number> & {
  grouped: Record<'reason' | 'status' | 'hard', number>;
};
type Plain = Exclude<keyof typeof RATCHET, 'grouped'>;

describe('bounce corpus accuracy', () => {
  const available = corpusAvailable();
  it(
    'stays at or above the ratchet',
    { skip: available ? false : `the shared corpus is not at ${CORPUS_DIR}; skipping the accuracy ratchet` },
    async () => {
      const score = await scoreCorpus();
      const got = {
        reason: percent(score.reason),
        status: percent(score.status),
        hard: percent(score.hard),
        recordCount: percent(score.count),
        notBounces: percent(score.notBounces),
      };
      const errors = score.mismatches.filter((m) => m.field === 'error');
      const below = (['reason', 'status', 'hard', 'recordCount', 'notBounces'] as Plain[]).filter(
        (k) => typeof RATCHET[k] === 'number' && got[k] < RATCHET[k],
      );
      const report = [
        summaryText(score),
        'Per-reason confusion (expected → got):',
        confusionText(score),
        ...score.mismatches
          .filter((m) => m.field !== 'hard')
          .map(
            (m) =>
              `  ${m.field} ${m.file}#${m.record}: expected ${m.expected}, got ${m.got}${m.diagnostic ? ` — ${m.diagnostic}` : ''}`,
          ),
      ].join('\n');
      assert.deepEqual(errors, [], `the parser threw on corpus files:\n${report}`);
      assert.deepEqual(
        below.map((k) => `${k}: ${got[k]}% < ${RATCHET[k]}%`),
        [],
        `accuracy dropped below the ratchet:\n${report}`,
      );
    },
  );

  it(
    'holds on producers it was not written for: the leave-one-group-out score stays at or above its ratchet',
    {
      skip: available ? false : `the shared corpus is not at ${CORPUS_DIR}; skipping the grouped evaluation`,
    },
    async () => {
      const { grouped, groups } = await scoreGrouped();
      const got = {
        reason: percent(grouped.reason),
        status: percent(grouped.status),
        hard: percent(grouped.hard),
      };
      // The evaluation must really have switched rules off, or it measures nothing new.
      assert.ok(
        groups.some((g) => g.rulesOff.length > 0),
        'no phrase rule fires on one producer group only: the grouped evaluation switched nothing off',
      );
      const below = (['reason', 'status', 'hard'] as const).filter((k) => got[k] < RATCHET.grouped[k]);
      assert.deepEqual(
        below.map((k) => `${k}: ${got[k]}% < ${RATCHET.grouped[k]}%`),
        [],
        `grouped accuracy dropped below the ratchet (run npm run eval:bounces -- -v):\n${summaryText(grouped)}\n${confusionText(grouped)}`,
      );
    },
  );
});
