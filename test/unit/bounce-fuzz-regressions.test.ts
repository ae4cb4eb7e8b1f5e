import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { diagnoseBounce } from '../../src/bounce/index.js';
import { ROOT } from '../support/cli.js';

/**
 * Regressions found by fuzzing the bounce parser (test/fuzz/bounce.ts, issue 13 §8): each
 * input is the fuzzer's counterexample, shrunk.
 */
describe('bounce parser: regressions from fuzzing', () => {
  it('diagnoses a bounce whose recipient is a folded header of 80 KB (the address pattern built from it was too large: SyntaxError)', async () => {
    const exim = readFileSync(
      join(ROOT, 'test/fixtures/bounces/real-mta/exim-4.96-two-recipients-unknown-and-full.eml'),
      'latin1',
    );
    const input = `Final-Recipient: ${'x\r\n '.repeat(20_000)}\r\n${exim.replace(/\r?\n/g, '\r\n')}`;
    const d = await diagnoseBounce(Buffer.from(input, 'latin1'));
    assert.ok(d.bounces.length >= 1);
    for (const b of d.bounces) assert.ok(b.diagnostic === undefined || b.diagnostic.length <= 1200);
  });
});
